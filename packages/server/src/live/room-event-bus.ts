import type { Bus, LiveEventBusMessage } from '../bus/bus.js';
import { liveTopic } from '../bus/messages.js';
import type { MaybePromise } from '../bus/room-directory.js';
import { catchAll } from '../hooks.js';
import type { Logger } from '../observability/logger.js';

/** The event-bus namespace of live rooms (`roomEvents.on('room', roomId, ...)`). */
export const LIVE_ROOM_EVENTS = 'room';

/** Deliveries nested deeper than this (handlers emitting from handlers) are dropped and logged. */
const MAX_DELIVERY_DEPTH = 64;

export type RoomEventHandler<T = unknown> = (data: T) => void | Promise<void>;

export interface RoomEventBusStats {
  /** Handlers registered. */
  subscriptions: number;
  /** Distinct subscriber ids with at least one handler. */
  subscribers: number;
  /** Distinct (type, roomId) pairs with at least one handler. */
  rooms: number;
  /** Distinct (type, roomId, event) triples with at least one handler. */
  events: number;
}

interface Subscription {
  readonly type: string;
  readonly roomId: string;
  readonly event: string;
  readonly subscriberId: string;
  readonly handler: RoomEventHandler;
  active: boolean;
}

type EventMap = Map<string, Set<Subscription>>;

/** The map's value for `key`, inserted with `make()` if missing. */
function entry<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

function checkName(what: string, name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`RoomEventBus.${what}: ${name} must be a non-empty string`);
  }
}

/**
 * Server-side pub/sub of room events: `on(type, roomId, event, subscriberId, handler)` and
 * `emit(...)`. Emits travel on the server's Bus (kind `live-event`), so with a cluster bus they
 * reach the handlers on every node; the data is JSON-encoded once by the emitter. Handlers are
 * indexed by room and event, and by subscriber, so `unsubscribeAll` costs that subscriber's
 * handlers only. A throwing handler is logged and the others still run.
 */
export class RoomEventBus {
  /** type → roomId → event → handlers. Empty levels are removed. */
  private readonly byRoom = new Map<string, Map<string, EventMap>>();
  private readonly bySubscriber = new Map<string, Set<Subscription>>();
  private subscriptions = 0;
  private depth = 0;

  constructor(
    private readonly bus: Bus,
    private readonly logger: Logger,
  ) {}

  /** Runs `handler` for `event` in the room (not for emits that exclude `subscriberId`). */
  on<T = unknown>(
    type: string,
    roomId: string,
    event: string,
    subscriberId: string,
    handler: RoomEventHandler<T>,
  ): () => void {
    checkName('on', 'type', type);
    checkName('on', 'roomId', roomId);
    checkName('on', 'event', event);
    checkName('on', 'subscriberId', subscriberId);
    if (typeof handler !== 'function')
      throw new TypeError('RoomEventBus.on: handler must be a function');
    const sub: Subscription = {
      type,
      roomId,
      event,
      subscriberId,
      handler: handler as RoomEventHandler,
      active: true,
    };
    const rooms = entry(this.byRoom, type, () => new Map<string, EventMap>());
    const events = entry(rooms, roomId, (): EventMap => {
      // This node hears other nodes' events of a live room while it has handlers for it.
      this.subscription(this.bus.subscribe(liveTopic(type, roomId)));
      return new Map();
    });
    entry(events, event, () => new Set<Subscription>()).add(sub);
    entry(this.bySubscriber, subscriberId, () => new Set<Subscription>()).add(sub);
    this.subscriptions++;
    return () => this.remove(sub);
  }

  /**
   * Publishes `event` with `data` (JSON-serializable; `undefined` becomes `null`) to the room's
   * handlers, except `excludeId`'s. Returns how many handlers on this node it is delivered to.
   * Throws a `TypeError` if `data` cannot be JSON-encoded.
   */
  emit(type: string, roomId: string, event: string, data: unknown, excludeId?: string): number {
    checkName('emit', 'type', type);
    checkName('emit', 'roomId', roomId);
    checkName('emit', 'event', event);
    const encoded = JSON.stringify(data === undefined ? null : data) as string | undefined;
    if (encoded === undefined) throw new TypeError('RoomEventBus.emit: data is not JSON');
    let count = 0;
    for (const sub of this.byRoom.get(type)?.get(roomId)?.get(event) ?? []) {
      if (sub.subscriberId !== excludeId) count++;
    }
    const message: LiveEventBusMessage = {
      kind: 'live-event',
      type,
      room: roomId,
      event,
      data: encoded,
    };
    if (excludeId !== undefined) message.exclude = excludeId;
    this.deliver(message);
    this.bus.publish(message).catch((error: unknown) => {
      this.logger.error({ err: error, room: roomId, event }, 'room event not sent to other nodes');
    });
    return count;
  }

  /** Runs this node's handlers for an event (this node's, or one the bus delivered). Internal. */
  deliver(message: LiveEventBusMessage): number {
    const handlers = this.byRoom.get(message.type)?.get(message.room)?.get(message.event);
    if (!handlers || handlers.size === 0) return 0;
    if (this.depth >= MAX_DELIVERY_DEPTH) {
      this.logger.error(
        { type: message.type, room: message.room, event: message.event },
        'room event dropped: handlers emitting from handlers nest too deep',
      );
      return 0;
    }
    let data: unknown;
    try {
      data = JSON.parse(message.data);
    } catch (error) {
      this.logger.error({ err: error, event: message.event }, 'room event data is not JSON');
      return 0;
    }
    let ran = 0;
    this.depth++;
    try {
      // A snapshot: handlers may subscribe or unsubscribe while it runs.
      for (const sub of [...handlers]) {
        if (!sub.active || sub.subscriberId === message.exclude) continue;
        ran++;
        this.run(sub, data);
      }
    } finally {
      this.depth--;
    }
    return ran;
  }

  /** Drops every handler of `subscriberId`. Returns how many. */
  unsubscribeAll(subscriberId: string): number {
    const mine = this.bySubscriber.get(subscriberId);
    if (!mine) return 0;
    const count = mine.size;
    for (const sub of [...mine]) this.remove(sub);
    return count;
  }

  /** Drops `subscriberId`'s handlers for one room (a component leaving it). Returns how many. */
  unsubscribeRoom(subscriberId: string, type: string, roomId: string): number {
    const mine = this.bySubscriber.get(subscriberId);
    if (!mine) return 0;
    let count = 0;
    for (const sub of [...mine]) {
      if (sub.type === type && sub.roomId === roomId) {
        this.remove(sub);
        count++;
      }
    }
    return count;
  }

  /** Drops every handler of the room. Returns how many. */
  clearRoom(type: string, roomId: string): number {
    const events = this.byRoom.get(type)?.get(roomId);
    if (!events) return 0;
    let count = 0;
    for (const handlers of [...events.values()]) {
      for (const sub of [...handlers]) {
        this.remove(sub);
        count++;
      }
    }
    return count;
  }

  /** Handlers registered on the room (any event). */
  handlerCount(type: string, roomId: string): number {
    let count = 0;
    for (const handlers of this.byRoom.get(type)?.get(roomId)?.values() ?? []) {
      count += handlers.size;
    }
    return count;
  }

  /** The rooms of a type with at least one handler. */
  roomsWithHandlers(type: string): string[] {
    return [...(this.byRoom.get(type)?.keys() ?? [])];
  }

  getStats(): RoomEventBusStats {
    let rooms = 0;
    let events = 0;
    for (const byId of this.byRoom.values()) {
      rooms += byId.size;
      for (const byEvent of byId.values()) events += byEvent.size;
    }
    return {
      subscriptions: this.subscriptions,
      subscribers: this.bySubscriber.size,
      rooms,
      events,
    };
  }

  private subscription(result: MaybePromise<void>): void {
    if (result instanceof Promise) {
      result.catch((error: unknown) =>
        this.logger.error({ err: error }, 'bus subscription failed'),
      );
    }
  }

  private run(sub: Subscription, data: unknown): void {
    const fail = (error: unknown) =>
      this.logger.warn(
        { err: error, room: sub.roomId, event: sub.event, subscriberId: sub.subscriberId },
        'room event handler failed',
      );
    catchAll(() => sub.handler(data), fail);
  }

  private remove(sub: Subscription): void {
    if (!sub.active) return;
    sub.active = false;
    this.subscriptions--;
    const rooms = this.byRoom.get(sub.type);
    const events = rooms?.get(sub.roomId);
    const handlers = events?.get(sub.event);
    if (handlers) {
      handlers.delete(sub);
      if (handlers.size === 0) events!.delete(sub.event);
      if (events!.size === 0) {
        rooms!.delete(sub.roomId);
        this.subscription(this.bus.unsubscribe(liveTopic(sub.type, sub.roomId)));
      }
      if (rooms!.size === 0) this.byRoom.delete(sub.type);
    }
    const mine = this.bySubscriber.get(sub.subscriberId);
    if (mine) {
      mine.delete(sub);
      if (mine.size === 0) this.bySubscriber.delete(sub.subscriberId);
    }
  }
}
