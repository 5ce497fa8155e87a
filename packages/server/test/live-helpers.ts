import { expect } from 'vitest';
import type { RoomServer } from '../src/index.js';
import type { LiveFeature } from '../src/live/live-feature.js';
import { connect, nodesOf, type Received, type TestClient } from './helpers.js';

/** Connects on the bare path (no socket room) as `userId`. */
export function connectAs(server: RoomServer, userId: string): Promise<TestClient> {
  return connect(server, '/rooms', `userId=${userId}`);
}

/** Sends `live:mount` and returns the reply (`live:mounted` or `error`). */
export function mountRaw(
  client: TestClient,
  component: string,
  extra: Record<string, unknown> = {},
): Promise<Received> {
  return client.request({ type: 'live:mount', component, ...extra });
}

/** Mounts and returns the component id (fails the test on an error). */
export async function mount(
  client: TestClient,
  component: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const reply = await mountRaw(client, component, extra);
  expect(reply, JSON.stringify(reply)).toMatchObject({ type: 'live:mounted', component });
  return reply.componentId as string;
}

/** Sends `live:call` and returns the reply (`live:result` or `error`). */
export function call(
  client: TestClient,
  componentId: string,
  action: string,
  payload?: unknown,
): Promise<Received> {
  const message: Record<string, unknown> = { type: 'live:call', componentId, action };
  if (payload !== undefined) message.payload = payload;
  return client.request(message);
}

/** Calls and returns the action's result (fails the test on an error). */
export async function result(
  client: TestClient,
  componentId: string,
  action: string,
  payload?: unknown,
): Promise<unknown> {
  const reply = await call(client, componentId, action, payload);
  expect(reply, JSON.stringify(reply)).toMatchObject({ type: 'live:result', componentId, action });
  return reply.result;
}

/** Sends `live:unmount` and returns the reply (`ack` or `error`). */
export function unmount(client: TestClient, componentId: string): Promise<Received> {
  return client.request({ type: 'live:unmount', componentId });
}

/** The next `live:state` (etc.) frame of one component. */
export function nextOf(client: TestClient, type: string, componentId: string): Promise<Received> {
  return client.next((m) => m.type === type && m.componentId === componentId);
}

/** Every frame of a type for one component received so far. */
export function allOf(client: TestClient, type: string, componentId: string): Received[] {
  return client.all(type).filter((m) => m.componentId === componentId);
}

/** The server's live-component feature, for counting what it holds. */
export function liveFeature(server: RoomServer): LiveFeature {
  return (server as unknown as { live: LiveFeature }).live;
}

/**
 * Everything the live side holds, on every node of the server's cluster added up: components,
 * subscriptions, rooms (the live room stats are the cluster's already). All zero when idle.
 */
export function liveHoldings(server: RoomServer) {
  const rooms = server.liveRooms.getStats();
  const holdings = { ...EMPTY_HOLDINGS, liveRooms: rooms.rooms, roomMembers: rooms.components };
  for (const node of nodesOf(server)) {
    const feature = liveFeature(node);
    const events = node.roomEvents.getStats();
    holdings.components += feature.componentCount;
    holdings.connections += feature.connectionCount;
    holdings.pendingFlushes += (
      feature as unknown as { flushQueue: { size: number } }
    ).flushQueue.size;
    holdings.subscriptions += events.subscriptions;
    holdings.subscribers += events.subscribers;
    holdings.eventRooms += events.rooms;
  }
  return holdings;
}

export const EMPTY_HOLDINGS = {
  components: 0,
  connections: 0,
  pendingFlushes: 0,
  liveRooms: 0,
  roomMembers: 0,
  subscriptions: 0,
  subscribers: 0,
  eventRooms: 0,
};

/** Waits a couple of event-loop turns (end-of-turn flushes, closes). */
export function turns(n = 2): Promise<void> {
  let chain = Promise.resolve();
  for (let i = 0; i < n; i++) chain = chain.then(() => new Promise((r) => setImmediate(r)));
  return chain;
}
