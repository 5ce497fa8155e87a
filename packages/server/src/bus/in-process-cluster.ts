import { randomUUID } from 'node:crypto';
import { Bus } from './bus.js';
import { type BusMessage, type BusQueries, type BusQueryKind, topicOf } from './messages.js';
import { MemoryRoomDirectory } from './room-directory.js';

export interface InProcessClusterOptions {
  /** How often each node shows it is alive. Default 1,000 ms. */
  heartbeatMs?: number;
  /**
   * A node silent this long is declared dead and its members leave every room on every other
   * node. Default 5,000 ms: a crashed node's members are gone within 5-6 s.
   */
  nodeTimeoutMs?: number;
}

const RESOLVED = Promise.resolve();
/** Messages of bytes for members (immutable once published), shared rather than copied. */
const DELIVERY_KINDS: ReadonlySet<BusMessage['kind']> = new Set([
  'broadcast',
  'batch',
  'storage',
  'awareness',
  'live-event',
]);

/**
 * N room servers in one process that behave as one room system: `new RoomServer({ bus:
 * cluster.bus() })` per node. Messages between nodes are delivered in publish order, each on a
 * later microtask (never inside the publisher's call), and only to nodes subscribed to their
 * topic; admission goes through one shared directory. The test harness for everything that must
 * hold across nodes, and the reference for networked buses.
 */
export class InProcessCluster {
  readonly directory = new MemoryRoomDirectory();
  private readonly nodes = new Map<string, InProcessBus>();
  private readonly queue: Array<{ from: InProcessBus; message: BusMessage }> = [];
  private draining = false;
  private readonly heartbeatMs: number;
  private readonly nodeTimeoutMs: number;
  private livenessTimer: NodeJS.Timeout | null = null;

  constructor(options: InProcessClusterOptions = {}) {
    this.heartbeatMs = options.heartbeatMs ?? 1_000;
    this.nodeTimeoutMs = options.nodeTimeoutMs ?? 5_000;
  }

  /** A new node's bus (one per `RoomServer`). */
  bus(nodeId: string = randomUUID()): Bus {
    if (this.nodes.has(nodeId)) throw new Error(`InProcessCluster: node "${nodeId}" exists`);
    const bus = new InProcessBus(this, nodeId);
    this.nodes.set(nodeId, bus);
    this.startLiveness();
    return bus;
  }

  /** Node ids currently in the cluster (crashed ones until they are declared dead). */
  get nodeIds(): string[] {
    return [...this.nodes.keys()];
  }

  /**
   * Simulates a crash: the node stops sending, receiving and beating, without a word to the
   * others, who declare it dead after `nodeTimeoutMs`.
   */
  crash(nodeId: string): void {
    const bus = this.nodes.get(nodeId);
    if (bus) bus.crashed = true;
  }

  /** @internal */
  enqueue(from: InProcessBus, message: BusMessage): void {
    // A cluster of one (a single server) has no one to tell.
    if (this.nodes.size < 2) return;
    this.queue.push({ from, message });
    if (!this.draining) {
      this.draining = true;
      queueMicrotask(() => this.drain());
    }
  }

  private drain(): void {
    // Messages published while draining join the end of the queue: publish order holds.
    for (let i = 0; i < this.queue.length; i++) {
      const { from, message } = this.queue[i]!;
      if (from.crashed) continue;
      const topic = topicOf(message);
      // Room events are copied per node, as a network would: no node shares another's objects.
      const isEvent = !DELIVERY_KINDS.has(message.kind);
      for (const node of this.nodes.values()) {
        if (node === from || node.crashed || !node.topics.has(topic)) continue;
        try {
          node.deliver(isEvent ? structuredClone(message) : message);
        } catch (error) {
          // A receiver guards its own handlers; this keeps one failure from starving the rest.
          process.emitWarning(`InProcessCluster: delivery failed: ${String(error)}`);
        }
      }
    }
    this.queue.length = 0;
    this.draining = false;
  }

  /** @internal Every other live node's answer (copied, as a network would). */
  answersFor<K extends BusQueryKind>(
    asking: InProcessBus,
    kind: K,
    roomId: string,
  ): BusQueries[K][] {
    const answers: BusQueries[K][] = [];
    for (const node of this.nodes.values()) {
      if (node === asking || node.crashed) continue;
      const answer = node.answer(kind, roomId);
      if (answer !== null) answers.push(structuredClone(answer));
    }
    return answers;
  }

  /** @internal A node left (its bus closed) or was declared dead. */
  remove(bus: InProcessBus): void {
    if (this.nodes.get(bus.nodeId) !== bus) return;
    this.nodes.delete(bus.nodeId);
    this.directory.releaseNode(bus.nodeId);
    for (const node of this.nodes.values()) if (!node.crashed) node.nodeDown(bus.nodeId);
    if (this.nodes.size === 0 && this.livenessTimer) {
      clearInterval(this.livenessTimer);
      this.livenessTimer = null;
    }
  }

  private startLiveness(): void {
    if (this.livenessTimer) return;
    this.livenessTimer = setInterval(() => this.checkLiveness(), this.heartbeatMs);
    this.livenessTimer.unref();
  }

  /** Live nodes beat; a crashed one stops, and is removed once silent past the timeout. */
  private checkLiveness(now = Date.now()): void {
    for (const node of [...this.nodes.values()]) {
      if (!node.crashed) node.lastBeat = now;
      else if (now - node.lastBeat > this.nodeTimeoutMs) this.remove(node);
    }
  }
}

/** One node's end of an `InProcessCluster`. */
class InProcessBus extends Bus {
  readonly directory: MemoryRoomDirectory;
  readonly topics = new Set<string>();
  crashed = false;
  lastBeat = Date.now();

  constructor(
    private readonly cluster: InProcessCluster,
    readonly nodeId: string,
  ) {
    super();
    this.directory = cluster.directory;
  }

  subscribe(topic: string): void {
    this.topics.add(topic);
  }

  unsubscribe(topic: string): void {
    this.topics.delete(topic);
  }

  publish(message: BusMessage): Promise<void> {
    if (this.crashed) return Promise.reject(new Error('bus: this node is cut off'));
    this.cluster.enqueue(this, message);
    return RESOLVED;
  }

  query<K extends BusQueryKind>(kind: K, roomId: string): BusQueries[K][] {
    return this.crashed ? [] : this.cluster.answersFor(this, kind, roomId);
  }

  async close(): Promise<void> {
    this.topics.clear();
    this.cluster.remove(this);
  }

  deliver(message: BusMessage): void {
    this.receiver?.receive(message);
  }

  answer<K extends BusQueryKind>(kind: K, roomId: string): BusQueries[K] | null {
    return this.receiver?.answer(kind, roomId) ?? null;
  }

  nodeDown(nodeId: string): void {
    this.receiver?.nodeDown(nodeId);
  }
}

/**
 * A single server's bus: a cluster of one. Nothing leaves the process, and the server still goes
 * through the same seams (directory, room events) as a node of a cluster does.
 */
export class LocalBus extends InProcessBus {
  constructor(nodeId: string = randomUUID()) {
    super(new InProcessCluster(), nodeId);
  }
}
