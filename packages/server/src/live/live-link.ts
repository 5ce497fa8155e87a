import { encodeServerMessage } from '@roomkit/protocol';
import { guarded } from '../observability/guard.js';
import type { Logger } from '../observability/logger.js';
import type { ClientSession } from '../rooms/connection.js';
import type { ComponentCore, LiveConnection } from './live-component.js';

/**
 * One mounted component's `LiveConnection`: frames for its client. Until the client has the
 * component's `live:mounted`, frames wait here (a room's state only in its latest version); after
 * unmount they are dropped.
 */
export class LiveLink implements LiveConnection {
  readonly id: string;
  readonly userId: string;
  /** The component constructed on this link (set by its constructor). */
  core: ComponentCore | null = null;
  /** Frames waiting for `live:mounted`, keyed so a room's state is held once; null once open. */
  private held: Map<string, object> | null = new Map();
  private heldCount = 0;
  private closed = false;

  constructor(
    private readonly session: ClientSession,
    private readonly logger: Logger,
  ) {
    this.id = session.id;
    this.userId = session.identity.userId;
  }

  send(message: object): void {
    if (this.closed) return;
    if (this.held !== null) {
      const { type, room } = message as { type?: unknown; room?: unknown };
      const key =
        type === 'live:room-state' ? `room-state:${String(room)}` : `#${this.heldCount++}`;
      this.held.delete(key);
      this.held.set(key, message);
      return;
    }
    let encoded: string;
    try {
      encoded = encodeServerMessage(message);
    } catch (error) {
      this.logger.error({ err: error, connectionId: this.id }, 'live frame is not JSON; dropped');
      return;
    }
    this.session.send(encoded);
  }

  /** The client knows the component now: send what waited, then send as it comes. */
  open(): void {
    const held = this.held;
    this.held = null;
    for (const message of held?.values() ?? []) this.send(message);
  }

  close(): void {
    this.closed = true;
    this.held = null;
  }
}

/** Components with changes to send, flushed together at the end of the event-loop turn. */
export class FlushQueue {
  private readonly queued = new Set<ComponentCore>();
  private scheduled = false;

  constructor(private readonly logger: Logger) {}

  get size(): number {
    return this.queued.size;
  }

  add(core: ComponentCore): void {
    this.queued.add(core);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }

  delete(core: ComponentCore): void {
    this.queued.delete(core);
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const cores = [...this.queued];
    this.queued.clear();
    for (const core of cores) guarded(this.logger, 'live state flush', () => core.flush());
  };
}
