import {
  base64ToBytes,
  bytesToBase64,
  decodeStorageFrame,
  encodeStorageFrame,
  type StorageFrame,
  StorageFrameKind,
} from '@roomkit/protocol';
import * as Y from 'yjs';
import type { Room, RoomServer } from '../src/index.js';
import { connect, nodesOf, type Received, type TestClient } from './helpers.js';

export type Encoding = 'binary' | 'base64';

interface Pending {
  resolve: (message: Received) => void;
  reject: (error: Error) => void;
}

/**
 * A test client holding a Yjs document synced with a room over a real socket, in either
 * encoding. Local edits are sent as updates with a numeric ref; `settled()` waits until the
 * server acknowledged (durably) every one of them. Remote updates are applied as they arrive.
 */
export class DocClient {
  readonly doc = new Y.Doc();
  /** Frames and messages with storage content, as received (for asserting what was sent). */
  readonly updates: Array<{ update: Uint8Array; clock: number; from?: string }> = [];
  readonly errors: Received[] = [];
  private nextRef = 1;
  private readonly pending = new Map<number, Pending>();
  private synced: Promise<void> | null = null;
  /** Set false to stop sending local edits (to simulate offline edits). */
  online = true;

  constructor(
    readonly client: TestClient,
    readonly room: string,
    readonly encoding: Encoding = 'binary',
  ) {
    client.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.onFrame(data);
      else this.onText(JSON.parse(data.toString()) as Received);
    });
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === this || !this.online) return;
      void this.push(update).catch(() => {});
    });
  }

  /** Connects to `/rooms/{room}` and syncs. */
  static async open(
    server: RoomServer,
    room: string,
    userId = `u${Math.random().toString(36).slice(2, 8)}`,
    encoding: Encoding = 'binary',
  ): Promise<DocClient> {
    const client = await connect(server, `/rooms/${room}`, `userId=${userId}`);
    const docClient = new DocClient(client, room, encoding);
    await docClient.sync();
    return docClient;
  }

  /** Sends the state vector; resolves when the server's answer was applied (and answered). */
  sync(): Promise<void> {
    const stateVector = Y.encodeStateVector(this.doc);
    if (this.encoding === 'base64') {
      this.synced = this.request({
        type: 'storage:init',
        room: this.room,
        stateVector: bytesToBase64(stateVector),
      }).then((reply) => {
        if (reply.type !== 'storage:init')
          throw new Error(`sync refused: ${JSON.stringify(reply)}`);
        Y.applyUpdate(this.doc, base64ToBytes(reply.update as string)!, this);
        const missing = Y.encodeStateAsUpdate(
          this.doc,
          base64ToBytes(reply.stateVector as string)!,
        );
        if (missing.length > 2) return this.push(missing).then(() => undefined);
        return undefined;
      });
    } else {
      this.synced = new Promise<void>((resolve, reject) => {
        this.syncDone = { resolve: () => resolve(), reject };
      });
      this.sendFrame({
        kind: StorageFrameKind.SyncStep1,
        room: this.room,
        tag: 0,
        payload: stateVector,
      });
    }
    return this.synced;
  }

  private syncDone: Pending | null = null;

  /** Sends an update; resolves with the server's ack (or rejects with its error). */
  push(update: Uint8Array): Promise<Received> {
    if (this.encoding === 'base64') {
      return this.request({ type: 'storage:ops', room: this.room, update: bytesToBase64(update) });
    }
    const ref = this.nextRef++;
    const answer = this.await(ref);
    this.sendFrame({ kind: StorageFrameKind.Update, room: this.room, tag: ref, payload: update });
    return answer;
  }

  /** Sends a raw binary frame as is. */
  sendRaw(data: Uint8Array): void {
    this.client.ws.send(data, { binary: true });
  }

  /** Resolves once every request sent so far was answered (acknowledged or refused). */
  async settled(): Promise<void> {
    while (this.outstanding.size > 0) await Promise.allSettled([...this.outstanding]);
  }

  private readonly outstanding = new Set<Promise<Received>>();

  text(name = 'text'): string {
    return this.doc.getText(name).toString();
  }

  request(message: Record<string, unknown>): Promise<Received> {
    const ref = this.nextRef++;
    const answer = this.await(ref);
    this.client.send({ ...message, ref });
    return answer;
  }

  private await(ref: number): Promise<Received> {
    const answer = new Promise<Received>((resolve, reject) => {
      this.pending.set(ref, { resolve, reject });
    });
    this.outstanding.add(answer);
    const forget = () => this.outstanding.delete(answer);
    answer.then(forget, forget);
    return answer;
  }

  private sendFrame(frame: StorageFrame): void {
    this.client.ws.send(encodeStorageFrame(frame), { binary: true });
  }

  private onText(message: Received): void {
    if (message.type === 'storage:ops' && message.room === this.room) {
      const update = base64ToBytes(message.update as string)!;
      this.updates.push({ update, clock: message.clock as number, from: message.from as string });
      Y.applyUpdate(this.doc, update, this);
      return;
    }
    if (message.type === 'error') this.errors.push(message);
    if (typeof message.ref !== 'number') return;
    const waiter = this.pending.get(message.ref);
    if (!waiter) return;
    this.pending.delete(message.ref);
    if (message.type === 'error')
      waiter.reject(Object.assign(new Error(String(message.message)), { reply: message }));
    else waiter.resolve(message);
  }

  private onFrame(data: Buffer): void {
    const decoded = decodeStorageFrame(new Uint8Array(data));
    if (!decoded.ok) throw new Error(`bad frame from server: ${decoded.message}`);
    const { frame } = decoded;
    if (frame.room !== this.room) return;
    if (frame.kind === StorageFrameKind.SyncStep2) {
      Y.applyUpdate(this.doc, frame.payload, this);
    } else if (frame.kind === StorageFrameKind.SyncStep1) {
      const missing = Y.encodeStateAsUpdate(this.doc, frame.payload);
      const done = this.syncDone;
      this.syncDone = null;
      const finish = missing.length > 2 ? this.push(missing) : Promise.resolve();
      finish.then(
        () => done?.resolve({ type: 'synced' }),
        (error: Error) => done?.reject(error),
      );
    } else {
      this.updates.push({ update: frame.payload, clock: frame.tag });
      Y.applyUpdate(this.doc, frame.payload, this);
    }
  }
}

/** Builds an update by editing a scratch copy of `base` (not applied anywhere). */
export function updateFrom(base: Y.Doc, edit: (doc: Y.Doc) => void): Uint8Array {
  const scratch = new Y.Doc();
  Y.applyUpdate(scratch, Y.encodeStateAsUpdate(base));
  const before = Y.encodeStateVector(scratch);
  edit(scratch);
  return Y.encodeStateAsUpdate(scratch, before);
}

/** The document content of every shared type, as JSON, for comparing replicas. */
export function contentOf(doc: Y.Doc): unknown {
  return {
    text: doc.getText('text').toString(),
    map: doc.getMap('map').toJSON(),
    array: doc.getArray('array').toJSON(),
  };
}

/** The room as each node of the server's cluster holds it (a node without it is left out). */
export function roomsOf(server: RoomServer, id: string): Room[] {
  return nodesOf(server).flatMap((node) => node.getRoomManager().get(id) ?? []);
}

/**
 * The room's document on each node that has it loaded (one on a single server, every node a
 * member used storage on in a cluster); throws if no node has it.
 */
export function serverDocs(server: RoomServer, id: string): Y.Doc[] {
  const docs = roomsOf(server, id).flatMap((room) => room.getStorageDocument()?.doc ?? []);
  if (docs.length === 0) throw new Error(`room "${id}" has no loaded document`);
  return docs;
}

/** The room's connections on every node. */
export function connectionsOf(server: RoomServer, id: string) {
  return roomsOf(server, id).flatMap((room) => [...room.connections.values()]);
}
