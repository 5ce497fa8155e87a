import WebSocket from 'ws';
import * as Y from 'yjs';
import { YJS_ADAPTERS, type YjsAdapter, type YjsSystemName } from './yjs-protocols.js';

const REMOTE = 'remote';

/**
 * A full Yjs client over one WebSocket (the `ws` package): it syncs, applies everything it
 * receives into its Y.Doc and sends its own changes as updates. Used where the client must really
 * hold the document: seeding, the observer that confirms the server has every edit, and the
 * measured initial syncs and reconnects. Its Y.Doc outlives the socket, so it can reconnect with
 * what it had.
 */
export class YjsSession {
  readonly doc: Y.Doc;
  private socket: WebSocket | null = null;
  private readonly adapter: YjsAdapter;
  private ref = 0;
  private waiters: Array<() => void> = [];
  /** `performance.now()` right after the last remote change was applied, and when it arrived. */
  lastAppliedAt = 0;
  lastArrivedAt = 0;

  constructor(
    private readonly options: {
      system: YjsSystemName;
      port: number;
      docName: string;
      member: number;
      doc?: Y.Doc;
    },
  ) {
    this.adapter = YJS_ADAPTERS[options.system];
    this.doc = options.doc ?? new Y.Doc();
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== REMOTE) this.send('update', update, ++this.ref);
    });
  }

  /** Opens the socket and sends SyncStep1 with what the doc already has; resolves on open. */
  connect(timeoutMs = 15_000): Promise<void> {
    const { port, docName, member } = this.options;
    const socket = new WebSocket(`ws://127.0.0.1:${port}${this.adapter.path(docName, member)}`, {
      perMessageDeflate: false,
      maxPayload: 256 * 1024 * 1024,
    });
    socket.binaryType = 'nodebuffer';
    this.socket = socket;
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.receive(data);
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('connect timed out')), timeoutMs);
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.once('open', () => {
        clearTimeout(timer);
        for (const frame of this.adapter.hello(docName)) socket.send(frame);
        this.send('step1', Y.encodeStateVector(this.doc));
        resolve();
      });
    });
  }

  private send(kind: 'step1' | 'step2' | 'update', payload: Uint8Array, ref = 0): void {
    const socket = this.socket;
    if (socket?.readyState !== WebSocket.OPEN) return;
    socket.send(this.adapter.encode(this.options.docName, kind, payload, ref));
  }

  /** Sends an update as it is, without applying it here (a seeding client relaying edits). */
  push(update: Uint8Array): void {
    this.send('update', update, ++this.ref);
  }

  /** Applies an update locally without sending it (state this client already had). */
  load(update: Uint8Array): void {
    Y.applyUpdate(this.doc, update, REMOTE);
  }

  private receive(data: Buffer): void {
    const arrivedAt = performance.now();
    const message = this.adapter.decode(data);
    if (message.kind === 'other') return;
    if (message.kind === 'step1') {
      this.send('step2', Y.encodeStateAsUpdate(this.doc, message.payload));
      return;
    }
    Y.applyUpdate(this.doc, message.payload, REMOTE);
    this.lastAppliedAt = performance.now();
    this.lastArrivedAt = arrivedAt;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  /**
   * Resolves once `done()` holds (checked now and after every remote change) with the times
   * (`performance.now()`) at which the message that completed it arrived and had been applied;
   * the check itself is not part of either.
   */
  until(
    done: () => boolean,
    timeoutMs = 30_000,
  ): Promise<{ convergedAt: number; arrivedAt: number }> {
    const now = performance.now();
    if (done()) return Promise.resolve({ convergedAt: now, arrivedAt: now });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('document did not converge')), timeoutMs);
      const check = () => {
        const at = { convergedAt: this.lastAppliedAt, arrivedAt: this.lastArrivedAt };
        if (done()) {
          clearTimeout(timer);
          resolve(at);
        } else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  /** Closes the socket and waits until it is closed; the doc stays. */
  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = null;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.close();
      setTimeout(() => {
        socket.terminate();
        resolve();
      }, 2000);
    });
  }
}

/** True when `doc` holds exactly `expected`: same state vector, same text. */
export function holds(doc: Y.Doc, text: string, stateVector: Uint8Array, name: string): boolean {
  return (
    Buffer.from(Y.encodeStateVector(doc)).equals(stateVector) &&
    doc.getText(name).toString() === text
  );
}
