import {
  Live,
  type LiveActions,
  type LiveComponentClass,
  type LiveHandle,
  type LiveOptions,
  type LiveStateOf,
  live,
  liveComponentName,
  RoomkitError,
  type WebSocketClient,
  withLiveActions,
} from '@roomkit/client';
import { useCallback, useMemo, useState } from 'react';
import { useRoomContext } from './context.js';
import { useFeature } from './use-feature.js';
import { useSignalOr } from './use-signal.js';

/** Options of `useLive`: those of `client.live.use`, and the client. */
export interface UseLiveOptions<S = Record<string, unknown>> extends LiveOptions<S> {
  /** Default: the nearest `RoomProvider`'s client, else `Live.client` (`Live.connect(client)`). */
  client?: WebSocketClient;
}

/** What `useLive` returns: the component's values as of this render, and stable actions. */
export interface UseLiveValues<S> {
  /** The component's state, as the server last sent it (before the mount: defaultState + initialState). */
  $state: S;
  /** The live rooms the component is in. */
  $rooms: readonly string[];
  /** A live room's shared state, once the component is in that room. */
  $roomState<R = Record<string, unknown>>(roomId: string): R | undefined;
  mounted: boolean;
  /** Why the mount failed, or why the server unmounted the component; null once mounted. */
  error: RoomkitError | null;
  componentId: string | null;
  /** Calls an action by name (stable). */
  call<R = unknown>(action: string, payload?: unknown): Promise<R>;
  /** The client's handle, from the first commit until unmount (null before). */
  handle: LiveHandle<unknown> | null;
}

/** `UseLiveValues` and each action of `C` as a stable async method. */
export type UseLiveResult<C = unknown> = UseLiveValues<LiveStateOf<C>> &
  Omit<LiveActions<C>, keyof UseLiveValues<unknown>>;

const NO_ROOMS: readonly string[] = Object.freeze([]);
const NO_ROOM_STATES: Readonly<Record<string, Record<string, unknown>>> = Object.freeze({});

/**
 * Mounts a live component on the server while the calling component is mounted (the React form
 * of `Live.use(LiveRoomChat, { initialState })`): `$state` and `$rooms` re-render it when the server
 * changes them, and each action (`chat.joinRoom(payload)`) is a stable async method. Actions
 * called before the first commit wait for it. The server component is unmounted on unmount, and
 * re-mounted (new ones for a new `client`, `room` or component name). A StrictMode double mount
 * never reaches the server. `initialState` is read when the component is mounted.
 */
export function useLive<C extends LiveComponentClass>(
  component: C,
  options?: UseLiveOptions<LiveStateOf<C>>,
): UseLiveResult<C>;
export function useLive<C = unknown>(
  component: string,
  options?: UseLiveOptions<LiveStateOf<C>>,
): UseLiveResult<C>;
export function useLive(
  component: LiveComponentClass | string,
  options: UseLiveOptions = {},
): UseLiveResult {
  const context = useRoomContext();
  const client = options.client ?? context?.client ?? Live.client;
  if (!client) {
    throw new Error(
      'useLive: no client; pass { client }, render inside <RoomProvider>, or call Live.connect(client)',
    );
  }
  const name = liveComponentName(component);
  const { room, mountTimeout } = options;
  const { feature: handle, run } = useFeature(
    () => live(client).use(component as string, options) as LiveHandle<unknown>,
    [client, name, room, mountTimeout],
  );
  // What shows until the server's state arrives: what the client would send, over the defaults.
  const [initial] = useState(() => ({
    ...(component as LiveComponentClass).defaultState,
    ...options.initialState,
  }));
  const $state = useSignalOr<Record<string, unknown>>(handle?.state ?? null, initial);
  const $rooms = useSignalOr(handle?.rooms ?? null, NO_ROOMS);
  const roomStates = useSignalOr(handle?.roomStates ?? null, NO_ROOM_STATES);
  const componentId = useSignalOr(handle?.componentId ?? null, null);
  const error = useSignalOr(handle?.error ?? null, null);

  const call = useCallback(
    (action: string, payload?: unknown) =>
      new Promise((resolve, reject) => {
        const queued = run((mounted) => {
          mounted.call(action, payload).then(resolve, reject);
        });
        if (!queued) reject(new RoomkitError('disposed', 'the live component was disposed'));
      }),
    [run],
  );
  // One function per action name for the hook's lifetime.
  const actions = useMemo(() => withLiveActions({}, call) as Record<string, unknown>, [call]);

  return useMemo(() => {
    const values = {
      $state,
      $rooms,
      $roomState: (roomId: string) => ($rooms.includes(roomId) ? roomStates[roomId] : undefined),
      mounted: componentId !== null,
      error,
      componentId,
      call,
      handle,
    } as UseLiveValues<Record<string, unknown>>;
    return new Proxy(values, {
      get: (target, key) => (key in target ? Reflect.get(target, key) : Reflect.get(actions, key)),
    }) as UseLiveResult;
  }, [$state, $rooms, roomStates, componentId, error, call, handle, actions]);
}
