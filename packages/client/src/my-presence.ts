import { type ReadonlySignal, signal } from './signals.js';
import type { User } from './types.js';
import type { WebSocketClient } from './websocket-client.js';

/**
 * This client's own presence in one room: the user fields it declares and its presence data,
 * sent as `presence:update` metadata `{user, data}` while the room is joined, at most once per
 * interval (the last change always goes out), and again after every (re)join.
 */
export class MyPresence {
  readonly data: ReadonlySignal<Record<string, unknown>>;
  private readonly dataSignal = signal<Record<string, unknown>>({});
  private declaredUser: Record<string, unknown> | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastSent = 0;
  private intervalMs = 0;

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

  /** The room was (re)joined: the server has no presence of this client there yet. */
  joined(): void {
    this.lastSent = 0;
    this.send();
  }

  left(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
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

  private send(): void {
    if (!this.isJoined()) return;
    const data = this.dataSignal.peek();
    if (this.declaredUser === null && Object.keys(data).length === 0) return;
    this.lastSent = Date.now();
    const metadata: Record<string, unknown> = { data };
    if (this.declaredUser) metadata.user = this.declaredUser;
    void this.client
      .request({ type: 'presence:update', room: this.roomId, metadata })
      .then((reply) => {
        if (!reply.ok && reply.error.code !== 'disconnected') this.client.reportError(reply.error);
      });
  }
}
