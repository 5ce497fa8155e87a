import { type ReadonlySignal, signal } from './signals.js';
import type { User } from './types.js';
import type { WebSocketClient } from './websocket-client.js';

/**
 * This client's own presence in one room: the user fields it declares and its presence data,
 * sent as `presence:update` metadata `{user, data}` while the room is joined, at most once per
 * interval (the last change always goes out). Every (re)join carries it (`room:join`'s
 * `presence`, protocol 2), or sends it once joined (an older server, or a change meanwhile).
 */
export class MyPresence {
  readonly data: ReadonlySignal<Record<string, unknown>>;
  private readonly dataSignal = signal<Record<string, unknown>>({});
  private declaredUser: Record<string, unknown> | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastSent = 0;
  private intervalMs = 0;
  /** The join in flight carried this presence, and it has not changed since. */
  private carried = false;

  constructor(
    private readonly client: WebSocketClient,
    private readonly roomId: string,
    private readonly isJoined: () => boolean,
  ) {
    this.data = this.dataSignal;
  }

  set(data: Record<string, unknown>, intervalMs: number): void {
    this.dataSignal.set(data);
    this.intervalMs = intervalMs;
    this.schedule();
  }

  declareUser(user: Partial<User>): void {
    const { id: _id, ...declared } = user;
    this.declaredUser = { ...this.declaredUser, ...declared };
    this.schedule();
  }

  /**
   * A join is going out: what it carries of this presence when `carry` (a protocol 2 server takes
   * it with the join), remembered so that the join's success does not send it again.
   */
  forJoin(carry: boolean): { metadata: Record<string, unknown> } | undefined {
    const metadata = carry ? this.metadata() : undefined;
    this.carried = !!metadata;
    return metadata && { metadata };
  }

  /** The room was (re)joined: sends this presence unless the join carried it as it is now. */
  joined(): void {
    if (this.carried) return;
    this.lastSent = 0;
    this.send();
  }

  left(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    this.carried = false;
    if (!this.isJoined() || this.timer !== undefined) return;
    const wait = this.lastSent + this.intervalMs - Date.now();
    if (wait <= 0) {
      this.send();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.send();
    }, wait);
  }

  /** What `presence:update` sends as metadata: nothing while no data or user was given. */
  private metadata(): Record<string, unknown> | undefined {
    const data = this.dataSignal.peek();
    if (this.declaredUser === null && Object.keys(data).length === 0) return undefined;
    const metadata: Record<string, unknown> = { data };
    if (this.declaredUser) metadata.user = this.declaredUser;
    return metadata;
  }

  private send(): void {
    const metadata = this.isJoined() && this.metadata();
    if (!metadata) return;
    this.lastSent = Date.now();
    void this.client
      .request({ type: 'presence:update', room: this.roomId, metadata })
      .then((reply) => {
        if (!reply.ok && reply.error.code !== 'disconnected') this.client.reportError(reply.error);
      });
  }
}
