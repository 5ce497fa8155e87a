export { reconnectDelay } from './backoff.js';
export type {
  BroadcastChannel,
  BroadcastMessage,
  BroadcastOptions,
} from './features/broadcast-channel.js';
export type { Cursors, CursorsOptions } from './features/cursors.js';
export type { MembershipOptions, RoomMembership } from './features/membership.js';
export type { Presence, PresenceOptions } from './features/presence.js';
export type { SharedState, SharedStateOptions } from './features/shared-state.js';
export type { Storage } from './features/storage.js';
export {
  useBroadcast,
  useCursors,
  usePresence,
  useRoom,
  useSharedState,
  useStorage,
} from './hooks.js';
export {
  Live,
  type LiveActions,
  type LiveClient,
  type LiveComponentClass,
  type LiveEntry,
  type LiveHandle,
  type LiveHandleBase,
  type LiveOptions,
  type LiveStateOf,
  live,
  liveComponentName,
  WebSocketClient,
  withLiveActions,
} from './live.js';
export type { WebSocketConstructor, WebSocketLike } from './platform.js';
export { type JoinSettings, RoomClient, type RoomInfo } from './room-client.js';
export {
  batch,
  effect,
  memo,
  type ReadonlySignal,
  signal,
  type WritableSignal,
} from './signals.js';
export {
  type ConnectionStatus,
  type CursorPosition,
  type CursorState,
  type PresenceState,
  type RealtimeMessage,
  type Room,
  type RoomConfig,
  RoomkitError,
  type Session,
  type User,
} from './types.js';
export type {
  CloseInfo,
  MessageHandler,
  Reply,
  RetryInfo,
  WebSocketClientOptions,
} from './websocket-client.js';
