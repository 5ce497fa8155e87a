import type { JoinSettings, RoomClient, User, WebSocketClient } from '@roomkit/client';
import { createContext, type ReactElement, type ReactNode, useContext, useMemo } from 'react';
import { useCommitEffect, useRoomSettings } from './use-feature.js';

/** What a `RoomProvider` gives the hooks below it. */
export interface RoomContextValue {
  client: WebSocketClient;
  /** The provider's room on `client` (`client.room(roomId)`). */
  room: RoomClient;
}

const RoomContext = createContext<RoomContextValue | null>(null);
RoomContext.displayName = 'RoomkitRoom';

interface RoomProviderCommon extends JoinSettings {
  /** The connection (call `client.connect()` yourself; the provider never connects or disconnects it). */
  client: WebSocketClient;
  /** How this user appears to the others in the room (`id` is always the server's `userId`). */
  user?: Partial<User>;
  children?: ReactNode;
}

/**
 * Props of `RoomProvider`: the client, the room id (as `roomId`, like `useRoom`'s option, or as
 * `room`, like the other hooks), and the settings the room is joined with.
 */
export type RoomProviderProps = RoomProviderCommon &
  ({ roomId: string; room?: undefined } | { room: string; roomId?: undefined });

/**
 * Keeps `client` in a room while mounted and gives the client and room to the hooks below, so
 * `usePresence()`, `useCursors()`, ... need no options. The room is joined on mount (rejoined by
 * the client after every reconnect) and left on unmount, unless something else on the same client
 * still holds it. A remount in the same tick (React StrictMode) never reaches the server.
 * `password`, `maxUsers` and `metadata` are sent with the join; `maxUsers` and `metadata` count
 * only when the join creates the room.
 */
export function RoomProvider(props: RoomProviderProps): ReactElement {
  const { client, children, user, password, maxUsers, metadata } = props;
  const roomId = props.roomId ?? props.room;
  if (typeof roomId !== 'string')
    throw new TypeError('RoomProvider: `roomId` (or `room`) is required');
  // `client.room(id)` returns the one RoomClient per id and only registers it: safe in render, and
  // an invalid id throws here, where an error boundary can show it.
  const room = client.room(roomId);
  // Declared before the hold below: effects run in order, so the settings are in place before the
  // join (sent on the next microtask after the first hold) goes out.
  useRoomSettings(room, { password, maxUsers, metadata }, user);
  useCommitEffect(() => room.hold(), [room]);
  const value = useMemo(() => ({ client, room }), [client, room]);
  return <RoomContext.Provider value={value}>{children}</RoomContext.Provider>;
}

/** The nearest `RoomProvider`'s client and room, or null outside one. */
export function useRoomContext(): RoomContextValue | null {
  return useContext(RoomContext);
}

/**
 * `client` if given, else the nearest `RoomProvider`'s client, for `client.on(...)`,
 * `client.send(...)` and the like. Throws if there is neither.
 */
export function useClient(client?: WebSocketClient): WebSocketClient {
  return useResolvedClient(client, 'useClient');
}

/** `useClient` for the hooks here: the error names `hook`. */
export function useResolvedClient(
  client: WebSocketClient | undefined,
  hook: string,
): WebSocketClient {
  const context = useContext(RoomContext);
  const resolved = client ?? context?.client;
  if (!resolved) {
    throw new Error(`${hook}: no client; pass { client } or render inside <RoomProvider>`);
  }
  return resolved;
}

/**
 * The room a hook works on: `client.room(room)` when a room id is given, else the nearest
 * `RoomProvider`'s room (which must be on the same client).
 */
export function useTargetRoom(
  options: { client?: WebSocketClient | undefined; room?: string | undefined },
  hook: string,
): RoomClient {
  const context = useContext(RoomContext);
  const client = options.client ?? context?.client;
  if (!client) {
    throw new Error(`${hook}: no client; pass { client, room } or render inside <RoomProvider>`);
  }
  if (options.room !== undefined) return client.room(options.room);
  if (!context || context.client !== client) {
    throw new Error(`${hook}: no room; pass { room } or render inside <RoomProvider>`);
  }
  return context.room;
}
