/**
 * Hook-style functions (`usePresence`, `useCursors`, `useRoom`, `useBroadcast`,
 * `useSharedState`) taking one options object each (`client`, `room`, and the feature's options).
 * Each returns the signal object of the matching `client.room(id)` feature; call `dispose()` when
 * done with it.
 */
import type { BroadcastChannel } from './features/broadcast-channel.js';
import type { Cursors, CursorsOptions } from './features/cursors.js';
import type { MembershipOptions, RoomMembership } from './features/membership.js';
import type { Presence, PresenceOptions } from './features/presence.js';
import type { SharedState, SharedStateOptions } from './features/shared-state.js';
import type { Storage } from './features/storage.js';
import type { WebSocketClient } from './websocket-client.js';

interface InRoom {
  client: WebSocketClient;
  room: string;
}

export function usePresence<T extends object = Record<string, unknown>>(
  options: InRoom & PresenceOptions<T>,
): Presence<T> {
  const { client, room, ...rest } = options;
  return client.room(room).presence<T>(rest);
}

export function useCursors(options: InRoom & CursorsOptions): Cursors {
  const { client, room, ...rest } = options;
  return client.room(room).cursors(rest);
}

export function useRoom(
  options: { client: WebSocketClient; roomId: string } & MembershipOptions,
): RoomMembership {
  const { client, roomId, ...rest } = options;
  return client.room(roomId).membership(rest);
}

export function useBroadcast<T extends object = Record<string, unknown>>(
  options: InRoom & { channel: string; historyLimit?: number },
): BroadcastChannel<T> {
  const { client, room, channel, ...rest } = options;
  return client.room(room).channel<T>(channel, rest);
}

export function useSharedState<T extends object>(
  options: InRoom & SharedStateOptions<T>,
): SharedState<T> {
  const { client, room, ...rest } = options;
  return client.room(room).sharedState<T>(rest);
}

/** The room's Yjs document (Roomkit's CRDT storage). */
export function useStorage(options: InRoom): Storage {
  return options.client.room(options.room).storage();
}
