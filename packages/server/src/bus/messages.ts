import type { PresenceUser, StateEntry } from '@roomkit/protocol';

/**
 * What travels between nodes. Two families share the union:
 * - room events change a room's replicated state (members, presence, settings, live state); every
 *   node that holds the room applies them the same way, whichever node produced them;
 * - deliveries carry bytes for the members a node has locally (relays, cursors, documents).
 * Live-component rooms, a namespace of their own, have both kinds (`LiveBusMessage`) on their own
 * topics; Spaces' orders to take members out (`SpacesBusMessage`) travel on the socket room's topic.
 * A discriminated union, so a new kind is a compile error until every node handles it.
 */
export type BusMessage = RoomEvent | Delivery | LiveBusMessage | SpacesBusMessage;

/** One connection's membership in a room, as every node knows it. */
export interface MemberRecord {
  /** The connection (session) id: unique across the cluster. */
  connectionId: string;
  /** The node whose socket it is. */
  nodeId: string;
  /** The connection's own presence record (`connections` is always 1). */
  user: PresenceUser;
}

/** The presence fields a member may change after joining. */
export type PresenceChanges = Partial<
  Pick<
    PresenceUser,
    'onlineStatus' | 'isIdle' | 'location' | 'metadata' | 'avatarUrl' | 'lastActiveAt'
  >
>;

/** A room's settings as members see them in `room:info` (never the password itself). */
export interface RoomDescription {
  /** Changes each time a room of this id is created anew: a stale copy is told apart. */
  incarnation: string;
  createdAt: number;
  maxUsers: number | null;
  hasPassword: boolean;
  metadata: Record<string, unknown>;
  pinned: boolean;
}

export type RoomEvent =
  | { kind: 'member-joined'; room: string; member: MemberRecord }
  | { kind: 'member-left'; room: string; connectionId: string }
  | { kind: 'member-updated'; room: string; connectionId: string; changes: PresenceChanges }
  | { kind: 'room-described'; room: string; description: RoomDescription }
  | { kind: 'state-set'; room: string; key: string; entry: StateEntry; size: number }
  | { kind: 'room-removed'; room: string; reason: string };

export type Delivery =
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
    };

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

/**
 * A live-component room's state entry: last writer wins per key, by `timestamp` (the writing
 * node's hybrid logical clock), then by `nodeId` on a tie, so every node picks the same winner.
 */
export interface LiveStateEntry {
  value: unknown;
  timestamp: number;
  nodeId: string;
}

/**
 * A change to a live-component room that every node holding the room (having member components
 * there) applies: its membership across the cluster and its shared state. Applying is idempotent,
 * so a node that took another's part by query and then hears older events converges.
 */
export type LiveRoomEvent =
  | { kind: 'live-member-joined'; room: string; componentId: string; nodeId: string }
  | { kind: 'live-member-left'; room: string; componentId: string }
  | {
      kind: 'live-state-set';
      room: string;
      changes: Record<string, LiveStateEntry>;
      /** A member component that must not be sent the new state. */
      exclude?: string;
    };

/** What travels in the live-component namespace: events for handlers and room changes. */
export type LiveBusMessage = LiveEventBusMessage | LiveRoomEvent;

const LIVE_KINDS: ReadonlySet<BusMessage['kind']> = new Set<LiveBusMessage['kind']>([
  'live-event',
  'live-member-joined',
  'live-member-left',
  'live-state-set',
]);

export function isLiveMessage(message: BusMessage): message is LiveBusMessage {
  return LIVE_KINDS.has(message.kind);
}

/**
 * What a Spaces operation on one node asks of every node holding the Spaces room's socket room:
 * the seat (or the room) is already gone from the store, so each node takes its own sockets out.
 * The node that ran the operation tells the room once; these orders are silent.
 */
export type SpacesBusMessage =
  | {
      /** Take the user's connections out of the room, each told `room:left` with `reason`. */
      kind: 'spaces-user-removed';
      room: string;
      userId: string;
      reason: 'left' | 'kicked' | 'banned';
    }
  | {
      /** The Spaces room was deleted: its socket room goes (`room:left`, `room removed`). */
      kind: 'spaces-room-deleted';
      room: string;
    };

const SPACES_KINDS: ReadonlySet<BusMessage['kind']> = new Set<SpacesBusMessage['kind']>([
  'spaces-user-removed',
  'spaces-room-deleted',
]);

export function isSpacesMessage(message: BusMessage): message is SpacesBusMessage {
  return SPACES_KINDS.has(message.kind);
}

/** A node's part of a live-component room: its own member components and the room's state. */
export interface LiveRoomPart {
  nodeId: string;
  members: string[];
  state: Record<string, LiveStateEntry>;
}

/** One live room as one node counts it. */
export interface LiveRoomCount {
  /** Member components on the node. */
  components: number;
  /** Event handlers on the node for the room (`roomEvents`, type `'room'`). */
  events: number;
  /** Top-level keys of the room's state (0 on a node without members there). */
  stateKeys: number;
}

/** A node's live rooms, counted: the rooms it has members or handlers in. */
export interface LiveRoomCounts {
  /** The node's components in at least one live room. */
  components: number;
  rooms: Record<string, LiveRoomCount>;
}

/** What a node holds of a room, for a node that opens it: its own members and the room's state. */
export interface RoomSnapshot {
  description: RoomDescription;
  /** The answering node's own members (each node answers for its sockets). */
  members: MemberRecord[];
  state: Record<string, StateEntry>;
}

/**
 * What a node can ask the other nodes about a room, and what each of them answers for itself
 * (a node that holds nothing of the room does not answer). Answers are plain data: a networked
 * bus serializes them.
 */
export interface BusQueries {
  /** The node's part of a socket room (its own members) and the room's settings and state. */
  'room-snapshot': RoomSnapshot;
  /** The node's copy of the room's Yjs document, as one update (only if it has it loaded). */
  document: Uint8Array;
  /** The y-websocket awareness states of the node's own connections, as one awareness update. */
  awareness: Uint8Array;
  /** The node's part of a live-component room (only if it has member components there). */
  'live-room': LiveRoomPart;
  /**
   * Every live-component room the node has members or handlers in, counted. Not about one room:
   * the id asked with is ignored (`LIVE_STATS_KEY`).
   */
  'live-stats': LiveRoomCounts;
}

/** The id a `live-stats` query is asked with: it concerns the node, not a room. */
export const LIVE_STATS_KEY = '*';

export type BusQueryKind = keyof BusQueries;

/**
 * The subscription a message belongs to: socket rooms and live-component rooms are separate
 * namespaces, so the same id in both never mixes.
 */
export function topicOf(message: BusMessage): string {
  if (message.kind === 'live-event') return liveTopic(message.type, message.room);
  if (isLiveMessage(message)) return liveRoomTopic(message.room);
  return roomTopic(message.room);
}

export function roomTopic(roomId: string): string {
  return `room:${roomId}`;
}

export function liveTopic(type: string, roomId: string): string {
  return `live:${type}:${roomId}`;
}

/**
 * The membership and state of a live-component room. Apart from its events' topic (`liveTopic`):
 * a node hears a room's events while it has handlers there, and its changes while it has members.
 */
export function liveRoomTopic(roomId: string): string {
  return `live-room:${roomId}`;
}
