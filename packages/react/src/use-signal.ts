import type { ConnectionStatus, ReadonlySignal, WebSocketClient } from '@roomkit/client';
import { useMemo, useSyncExternalStore } from 'react';
import { useResolvedClient } from './context.js';

/** Decides whether two values of a signal are the same for rendering purposes. */
export type Equality<T> = (previous: T, next: T) => boolean;

interface Store<T> {
  subscribe(onChange: () => void): () => void;
  getSnapshot(): T;
}

const noSubscription = () => () => {};

function storeFor<T>(
  signal: ReadonlySignal<T> | null,
  fallback: T,
  isEqual: Equality<T> | undefined,
): Store<T> {
  if (signal === null) return { subscribe: noSubscription, getSnapshot: () => fallback };
  // The last raw value and what was returned for it: `getSnapshot` is called on every render and
  // must return the same reference while nothing changed; with `isEqual`, a new but equal value
  // keeps the previous reference, so React bails out of the re-render.
  let source: { raw: T; value: T } | null = null;
  return {
    subscribe: (onChange) => signal.subscribe(onChange),
    getSnapshot: () => {
      const raw = signal.peek();
      if (source !== null) {
        if (Object.is(source.raw, raw)) return source.value;
        if (isEqual?.(source.value, raw)) {
          source = { raw, value: source.value };
          return source.value;
        }
      }
      source = { raw, value: raw };
      return raw;
    },
  };
}

/**
 * The value of `signal`, or `fallback` while `signal` is null (a feature not created yet). The
 * `fallback` and `isEqual` of the render that first saw this signal are kept.
 */
export function useSignalOr<T>(
  signal: ReadonlySignal<T> | null,
  fallback: T,
  isEqual?: Equality<T>,
  server?: { value: T },
): T {
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new store only for a new signal; fallback and isEqual are fixed per signal
  const store = useMemo(() => storeFor(signal, fallback, isEqual), [signal]);
  // Hydration renders with the server snapshot: it must be what server rendering showed, not the
  // client's live value (a client connected before hydration would otherwise mismatch).
  // biome-ignore lint/correctness/useExhaustiveDependencies: the server value is fixed per store
  const serverSnapshot = useMemo(() => (server ? () => server.value : store.getSnapshot), [store]);
  return useSyncExternalStore(store.subscribe, store.getSnapshot, serverSnapshot);
}

/**
 * The current value of a Roomkit signal (`client.status`, `room.members`, a feature's signal...),
 * read through `useSyncExternalStore`: the component re-renders when the signal changes and never
 * renders a torn value. Pass `isEqual` to skip re-renders for new values equal to the last one.
 *
 * @example const joined = useSignal(client.room('lobby').isJoined);
 */
export function useSignal<T>(signal: ReadonlySignal<T>, isEqual?: Equality<T>): T {
  return useSignalOr(signal, signal.peek(), isEqual);
}

/**
 * The connection status of `client` (default: the nearest `RoomProvider`'s client):
 * `'connecting' | 'connected' | 'disconnected' | 'reconnecting'`.
 */
export function useClientStatus(client?: WebSocketClient): ConnectionStatus {
  const resolved = useResolvedClient(client, 'useClientStatus');
  return useSignalOr(resolved.status, resolved.status.peek(), undefined, SERVER_STATUS);
}

/** What server rendering shows for a connection: none is open there. */
const SERVER_STATUS = { value: 'disconnected' as ConnectionStatus };
