import { Document, IncomingMessage, MessageReceiver } from '@hocuspocus/server';
import { decodeStorageFrame, StorageFrameKind } from '@roomkit/protocol';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { buildDocument, editorLines, firstStructId, prng, TEXT, typeInto } from '../src/yjs-doc.js';
import { YJS_ADAPTERS } from '../src/yjs-protocols.js';

// The Yjs scenarios' pure helpers: the documents every system gets, the struct-id read the
// latency sampling relies on, and each system's envelope checked against that system's own code.

function keystroke(clientID: number, count: number): Uint8Array[] {
  const doc = new Y.Doc();
  doc.clientID = clientID;
  const updates: Uint8Array[] = [];
  doc.on('update', (update: Uint8Array) => updates.push(update));
  for (let i = 0; i < count; i++) doc.getText(TEXT).insert(i, 'x');
  return updates;
}

describe('firstStructId', () => {
  it("reads each keystroke's client and clock", () => {
    const updates = keystroke(12_345, 3);
    expect(updates.map(firstStructId)).toEqual([
      { client: 12_345, clock: 0 },
      { client: 12_345, clock: 1 },
      { client: 12_345, clock: 2 },
    ]);
  });

  it('returns null for a delete-only update and for garbage', () => {
    const doc = new Y.Doc();
    doc.getText(TEXT).insert(0, 'abc');
    let deletion: Uint8Array | null = null;
    doc.on('update', (update: Uint8Array) => {
      deletion = update;
    });
    doc.getText(TEXT).delete(0, 1);
    expect(deletion).not.toBeNull();
    expect(firstStructId(deletion!)).toBeNull();
    expect(firstStructId(new Uint8Array([0xff]))).toBeNull();
  });
});

describe('documents', () => {
  it('buildDocument is deterministic and its edits rebuild it', () => {
    const a = buildDocument(50_000, 3);
    const b = buildDocument(50_000, 3);
    expect(a.text).toBe(b.text);
    expect(a.updates.length).toBe(b.updates.length);
    expect(a.text.length).toBeGreaterThanOrEqual(50_000);
    const doc = new Y.Doc();
    for (const update of a.updates) Y.applyUpdate(doc, update);
    expect(doc.getText(TEXT).toString()).toBe(a.text);
    expect(Y.encodeStateVector(doc)).toEqual(a.stateVector);
    expect(Y.encodeStateAsUpdate(doc).length).toBe(a.stateBytes);
  });

  it('typeInto sends one update per keystroke, and they converge elsewhere', () => {
    const base = buildDocument(5_000, 1);
    const author = new Y.Doc();
    const reader = new Y.Doc();
    for (const update of base.updates) {
      Y.applyUpdate(author, update);
      Y.applyUpdate(reader, update);
    }
    const updates = typeInto(author, 200, prng(9));
    expect(updates).toHaveLength(200);
    for (const update of updates) Y.applyUpdate(reader, update);
    expect(reader.getText(TEXT).toString()).toBe(author.getText(TEXT).toString());
    expect(author.getText(TEXT).length).toBe(base.text.length + 200 - 2 * 25);
  });

  it('editorLines gives each editor a line and where it ends', () => {
    const { update, lineEnds } = editorLines(3);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, update);
    const text = doc.getText(TEXT).toString();
    expect(lineEnds.map((at) => text[at])).toEqual(['\n', '\n', '\n']);
    expect(text.slice(0, lineEnds[0])).toBe('editor 0: ');
  });
});

describe('envelopes', () => {
  const [update] = keystroke(77, 1) as [Uint8Array];

  it('roomkit: storage frames as @roomkit/protocol reads them', () => {
    const parsed = decodeStorageFrame(YJS_ADAPTERS.roomkit.encode('doc', 'update', update, 5));
    expect(parsed).toEqual({
      ok: true,
      frame: { kind: StorageFrameKind.Update, room: '', tag: 5, payload: update },
    });
    expect(YJS_ADAPTERS.roomkit.updateMarker('doc')[0]).toBe(StorageFrameKind.Update);
  });

  it('hocuspocus: its MessageReceiver applies our update and answers our SyncStep1', () => {
    const adapter = YJS_ADAPTERS.hocuspocus;
    const document = new Document('doc');
    const receive = (data: Uint8Array, reply?: (message: Uint8Array) => void) => {
      const message = new IncomingMessage(data);
      message.writeVarString(message.readVarString());
      new MessageReceiver(message).apply(document, undefined, reply);
    };
    receive(adapter.encode('doc', 'update', update));
    expect(document.getText(TEXT).toString()).toBe('x');
    const replies: Uint8Array[] = [];
    receive(adapter.encode('doc', 'step1', Y.encodeStateVector(new Y.Doc())), (m) =>
      replies.push(m),
    );
    const step2 = replies.map((m) => adapter.decode(m)).find((m) => m.kind === 'step2');
    expect(step2).toBeDefined();
    const client = new Y.Doc();
    if (step2?.kind === 'step2') Y.applyUpdate(client, step2.payload);
    expect(client.getText(TEXT).toString()).toBe('x');
  });

  it("y-websocket: y-protocols reads our messages, we read the server's", () => {
    const adapter = YJS_ADAPTERS['y-websocket'];
    const doc = new Y.Doc();
    const decoder = decoding.createDecoder(adapter.encode('doc', 'update', update));
    expect(decoding.readVarUint(decoder)).toBe(0);
    syncProtocol.readSyncMessage(decoder, encoding.createEncoder(), doc, null);
    expect(doc.getText(TEXT).toString()).toBe('x');
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, 0);
    syncProtocol.writeUpdate(encoder, update);
    const sent = encoding.toUint8Array(encoder);
    expect(adapter.decode(sent)).toEqual({ kind: 'update', payload: update });
    expect(Buffer.from(sent).subarray(0, 2)).toEqual(adapter.updateMarker('doc'));
  });
});
