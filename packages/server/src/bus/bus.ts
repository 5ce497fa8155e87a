/**
 * The scale-out seam. Every room-scoped delivery is published here and comes back through the
 * handler, on this node and (with a cluster bus) on every other node, so a single-node server
 * exercises the same path as a cluster.
 */

/** Messages between nodes: a discriminated union, so a new kind is a compile error until handled. */
export type BusMessage =
  | {
      kind: 'broadcast';
      room: string;
      /** The encoded message: encoded once by the publisher, the same bytes to every recipient. */
      data: string;
      /** Connection ids that must not receive it (usually the sender). */
      exclude?: readonly string[];
      /** Lossy traffic (cursors, presence) is skipped for connections whose send buffer is full. */
      lossy: boolean;
    }
  | {
      /** Several lossy messages (a cursor flush), each for everyone but its own sender. */
      kind: 'batch';
      room: string;
      items: readonly { data: string; exclude: string }[];
    }
  | {
      /** A change to the room's document, for every member subscribed to it (never dropped). */
      kind: 'storage';
      room: string;
      /** The Yjs update (what changed). */
      update: Uint8Array;
      /** The server's hybrid logical clock when it was applied. */
      clock: number;
      /** The sender's user id. */
      from: string;
      /** The sender's connection id: it has the change already. */
      exclude?: string;
    }
  | {
      /** A y-websocket awareness update, for the room's y-websocket connections. */
      kind: 'awareness';
      room: string;
      /** The complete y-websocket message (awareness type byte included). */
      message: Uint8Array;
    }
  | LiveEventBusMessage;

/**
 * A live-component room event (`RoomEventBus.emit`), for the handlers subscribed to it on every
 * node. Live rooms are their own namespace: `room` is a live room, not a socket room.
 */
export interface LiveEventBusMessage {
  kind: 'live-event';
  /** The event bus namespace (`'room'` for live rooms). */
  type: string;
  room: string;
  event: string;
  /** The event's data, JSON-encoded once by the publisher (`null` for none). */
  data: string;
  /** The subscriber (the sending component's id) whose handlers must not run. */
  exclude?: string;
}

export type BusHandler = (message: BusMessage) => void;

export abstract class Bus {
  private handler: BusHandler | null = null;

  /** Called once by the server with the function that delivers a message to local members. */
  attach(handler: BusHandler): void {
    this.handler = handler;
  }

  /** Implementations call this for every message, local or remote, that this node must deliver. */
  protected deliver(message: BusMessage): void {
    this.handler?.(message);
  }

  abstract publish(message: BusMessage): void;
  abstract close(): Promise<void>;
}
