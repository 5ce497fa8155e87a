import type { BusMessage, BusQueries, BusQueryKind } from './messages.js';
import type { MaybePromise, RoomDirectory } from './room-directory.js';

export type {
  BusMessage,
  BusQueries,
  BusQueryKind,
  Delivery,
  LiveEventBusMessage,
  MemberRecord,
  PresenceChanges,
  RoomDescription,
  RoomEvent,
  RoomSnapshot,
} from './messages.js';

/** What a node gives its bus: where messages from other nodes go, and what it answers them. */
export interface BusReceiver {
  /** A message another node published on a topic this node subscribes to. */
  receive(message: BusMessage): void;
  /** This node's answer to another node's query about a room; null if it holds nothing of it. */
  answer<K extends BusQueryKind>(kind: K, roomId: string): BusQueries[K] | null;
  /**
   * Another node left or stopped answering: its members are gone. Called once the directory has
   * given the node's seats back, so a receiver asking the directory who is left sees them gone.
   */
  nodeDown(nodeId: string): void;
}

/**
 * The scale-out seam between nodes, in the shape of a pub/sub engine:
 * - every node has an id; a node never receives its own messages back (it applied them already);
 * - a node subscribes per topic (a room, a live-component room) and receives only those;
 * - `publish` is asynchronous and rejects when the message could not be sent;
 * - a node asks the nodes that hold a room for their part of it (`query`): its members and state
 *   when it opens the room, its document when it loads it;
 * - nodes watch each other's liveness: a node that stops answering is reported to every other
 *   node (`BusReceiver.nodeDown`) within a bound the implementation documents;
 * - the `directory` is the cluster's authoritative record of rooms and seats (admission).
 * `InProcessCluster` implements it for N servers in one process; a single server uses a cluster
 * of one (`LocalBus`).
 */
export abstract class Bus {
  protected receiver: BusReceiver | null = null;

  /** This node's id, unique in the cluster. */
  abstract readonly nodeId: string;
  abstract readonly directory: RoomDirectory;

  /** Called once by the server with where messages from other nodes go. */
  attach(receiver: BusReceiver): void {
    this.receiver = receiver;
  }

  abstract subscribe(topic: string): MaybePromise<void>;
  abstract unsubscribe(topic: string): MaybePromise<void>;
  /** Sends the message to the other nodes subscribed to its topic. */
  abstract publish(message: BusMessage): Promise<void>;
  /** The other nodes' answers about a room (see `BusQueries`), one per node that holds it. */
  abstract query<K extends BusQueryKind>(kind: K, roomId: string): MaybePromise<BusQueries[K][]>;
  /** Leaves the cluster: the others drop this node's members at once. */
  abstract close(): Promise<void>;
}
