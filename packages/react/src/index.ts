/**
 * React bindings for Roomkit: a `RoomProvider` and hooks with the client's names and options
 * (`usePresence`, `useCursors`, `useRoom`, `useBroadcast`, `useSharedState`, plus `useStorage`
 * and `useLive` for live components), each returning plain values and stable actions, read
 * through `useSyncExternalStore`.
 */
export {
  type RoomContextValue,
  RoomProvider,
  type RoomProviderProps,
  useClient,
  useRoomContext,
} from './context.js';
export {
  type UseBroadcastOptions,
  type UseBroadcastResult,
  type UseSharedStateOptions,
  type UseSharedStateResult,
  type UseStorageResult,
  useBroadcast,
  useSharedState,
  useStorage,
} from './data-hooks.js';
export { sameData } from './equal.js';
export {
  type RoomTarget,
  type UseCursorsOptions,
  type UseCursorsResult,
  type UsePresenceOptions,
  type UsePresenceResult,
  type UseRoomOptions,
  type UseRoomResult,
  useCursors,
  usePresence,
  useRoom,
} from './hooks.js';
export {
  type UseLiveOptions,
  type UseLiveResult,
  type UseLiveValues,
  useLive,
} from './use-live.js';
export { type Equality, useClientStatus, useSignal } from './use-signal.js';
