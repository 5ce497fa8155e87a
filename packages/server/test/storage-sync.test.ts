import { ErrorCode, encodeStorageFrame, StorageFrameKind } from '@roomkit/protocol';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { join, startServer, waitUntil } from './helpers.js';
import { connectionsOf, DocClient, roomsOf, serverDocs } from './storage-helpers.js';

describe('storage sync', () => {
  it.each(['binary', 'base64'] as const)(
    '%s: an edit reaches the other member, stamped, not echoed',
    async (encoding) => {
      const server = await startServer();
      const alice = await DocClient.open(server, 'doc', 'alice', encoding);
      const bob = await DocClient.open(server, 'doc', 'bob', encoding);
      alice.doc.getText('text').insert(0, 'hello');
      await alice.settled();
      await waitUntil(() => bob.text() === 'hello', 3000, 'bob sees the edit');
      expect(bob.updates).toHaveLength(1);
      expect(bob.updates[0]!.clock).toBeGreaterThan(0);
      if (encoding === 'base64') expect(bob.updates[0]!.from).toBe('alice');
      expect(alice.updates).toHaveLength(0);
      // Every node the two members are on has the document, with the edit.
      for (const room of roomsOf(server, 'doc')) expect(room.storageInitialized).toBe(true);
      for (const doc of serverDocs(server, 'doc'))
        expect(doc.getText('text').toString()).toBe('hello');
    },
  );

  it('a late joiner gets the whole document; binary and base64 clients share it', async () => {
    const server = await startServer();
    const writer = await DocClient.open(server, 'mixed', 'w', 'binary');
    writer.doc.getMap('map').set('a', 1);
    writer.doc.getArray('array').push(['x']);
    await writer.settled();
    const reader = await DocClient.open(server, 'mixed', 'r', 'base64');
    expect(reader.doc.getMap('map').get('a')).toBe(1);
    expect(reader.doc.getArray('array').toJSON()).toEqual(['x']);
    reader.doc.getText('text').insert(0, 'from base64');
    await reader.settled();
    await waitUntil(() => writer.text() === 'from base64', 3000, 'writer sees the base64 edit');
  });

  it('a reconnecting client sends its state vector and gets only what it lacks, and gives back what the server lacks', async () => {
    const server = await startServer();
    const alice = await DocClient.open(server, 'rc', 'alice');
    alice.doc.getText('text').insert(0, 'x'.repeat(5000));
    await alice.settled();
    const bob = await DocClient.open(server, 'rc', 'bob');
    expect(bob.text()).toHaveLength(5000);
    // Bob goes away; he edits offline while alice keeps typing.
    bob.online = false;
    bob.client.terminate();
    bob.doc.getText('text').insert(0, 'offline ');
    alice.doc.getText('text').insert(5000, '!');
    await alice.settled();
    const again = await join(server, 'rc', 'bob');
    const back = new DocClient(again, 'rc');
    Y.applyUpdate(back.doc, Y.encodeStateAsUpdate(bob.doc));
    const mark = again.mark();
    await back.sync();
    // What came down was the one missing character, not the 5000-character document.
    const frames = again.received.slice(mark).filter((m) => m.type === '<binary>');
    const bytes = frames.reduce((sum, m) => sum + (m.data as Buffer).length, 0);
    expect(bytes).toBeLessThan(200);
    expect(back.text()).toBe(`offline ${'x'.repeat(5000)}!`);
    await waitUntil(() => alice.text() === back.text(), 3000, 'alice gets the offline edit');
  });

  it('two clients typing into the same Y.Text at once: both edits survive on both sides', async () => {
    const server = await startServer();
    const alice = await DocClient.open(server, 'same', 'alice');
    const bob = await DocClient.open(server, 'same', 'bob');
    alice.doc.getText('text').insert(0, 'base');
    await alice.settled();
    await waitUntil(() => bob.text() === 'base');
    alice.doc.getText('text').insert(4, ' alice');
    bob.doc.getText('text').insert(0, 'bob ');
    await Promise.all([alice.settled(), bob.settled()]);
    await waitUntil(
      () => alice.text() === bob.text() && alice.text().length === 14,
      3000,
      'convergence',
    );
    expect(alice.text()).toContain('alice');
    expect(alice.text()).toContain('bob');
    for (const doc of serverDocs(server, 'same')) {
      expect(doc.getText('text').toString()).toBe(alice.text());
    }
  });

  it("Yjs's own formatting cleanup on the server reaches everyone, with the sender's change", async () => {
    const server = await startServer();
    const alice = await DocClient.open(server, 'format', 'alice');
    const bob = await DocClient.open(server, 'format', 'bob');
    const carol = await DocClient.open(server, 'format', 'carol', 'base64');
    alice.doc.getText('text').insert(0, 'hello world');
    await alice.settled();
    await waitUntil(() => bob.text() === 'hello world' && carol.text() === 'hello world');
    // The same range made bold twice at once: applying the second one, the server's Yjs removes
    // the now redundant formatting markers in a transaction of its own.
    bob.online = false;
    alice.doc.getText('text').format(0, 5, { bold: true });
    await alice.settled();
    const offline = Y.encodeStateVector(bob.doc);
    bob.doc.getText('text').format(0, 5, { bold: true });
    await bob.push(Y.encodeStateAsUpdate(bob.doc, offline));
    const [server_, ...otherNodes] = serverDocs(server, 'format');
    const vector = (doc: Y.Doc) => Buffer.from(Y.encodeStateVector(doc)).toString('hex');
    const deltas = (doc: Y.Doc) => JSON.stringify(doc.getText('text').toDelta());
    await waitUntil(
      () =>
        [...[alice, bob, carol].map((c) => c.doc), ...otherNodes].every(
          (doc) => vector(doc) === vector(server_!) && deltas(doc) === deltas(server_!),
        ),
      3000,
      'every member (and node) has exactly the server document',
    );
  });

  it("a member's own formatting cleanup (on applying the others' edits) reaches every member and node", async () => {
    const server = await startServer();
    const alice = await DocClient.open(server, 'member-cleanup', 'alice');
    const bob = await DocClient.open(server, 'member-cleanup', 'bob', 'base64');
    alice.doc.getText('text').insert(0, 'hello world');
    await alice.settled();
    await waitUntil(() => bob.text() === 'hello world');
    // Both make the same range bold while neither has the other's change. Applying the other's,
    // each member's Yjs deletes the now redundant marker in a local transaction: a change of the
    // member's that the room has only once it is sent (a deletion: the state vector misses it).
    alice.online = false;
    bob.online = false;
    const before = Y.encodeStateVector(alice.doc);
    alice.doc.getText('text').format(0, 5, { bold: true });
    bob.doc.getText('text').format(0, 5, { bold: true });
    const cleanups: Uint8Array[] = [];
    for (const member of [alice, bob]) {
      member.doc.on('update', (update: Uint8Array, origin: unknown) => {
        if (origin !== member) cleanups.push(update);
      });
      member.online = true;
    }
    await alice.push(Y.encodeStateAsUpdate(alice.doc, before));
    await bob.push(Y.encodeStateAsUpdate(bob.doc, before));
    const deleted = (doc: Y.Doc) =>
      JSON.stringify([...Y.decodeUpdate(Y.encodeStateAsUpdate(doc)).ds.clients].sort());
    const docs = () => [alice.doc, bob.doc, ...serverDocs(server, 'member-cleanup')];
    await waitUntil(
      () => cleanups.length > 0 && docs().every((doc) => deleted(doc) === deleted(alice.doc)),
      3000,
      'every member and node has the members’ cleanups',
    );
    await Promise.all([alice.settled(), bob.settled()]);
    for (const update of cleanups) expect(Y.decodeUpdate(update).structs).toEqual([]);
    const delta = JSON.stringify(alice.doc.getText('text').toDelta());
    for (const doc of docs()) {
      expect(deleted(doc)).toBe(deleted(alice.doc));
      expect(JSON.stringify(doc.getText('text').toDelta())).toBe(delta);
    }
  });

  it('an update that changes nothing is acknowledged and not broadcast', async () => {
    const server = await startServer();
    const alice = await DocClient.open(server, 'dup', 'alice');
    const bob = await DocClient.open(server, 'dup', 'bob');
    alice.doc.getText('text').insert(0, 'once');
    await alice.settled();
    await waitUntil(() => bob.text() === 'once');
    const ack = await alice.push(Y.encodeStateAsUpdate(alice.doc));
    expect(ack.type).toBe('ack');
    alice.doc.getText('text').insert(0, '!');
    await alice.settled();
    await waitUntil(() => bob.text() === '!once');
    expect(bob.updates).toHaveLength(2);
  });

  it('onStorageChange fires after each applied change; serialize() feeds initialStorage on a new server', async () => {
    const changes: Array<{ roomId: string; bytes: number }> = [];
    const first = await startServer({
      onStorageChange: (roomId, ops) => {
        changes.push({ roomId, bytes: ops.reduce((n, op) => n + op.length, 0) });
      },
    });
    const alice = await DocClient.open(first, 'persist', 'alice');
    alice.doc.getText('text').insert(0, 'kept');
    alice.doc.getMap('map').set('k', 'v');
    await alice.settled();
    await waitUntil(() => changes.length === 2, 3000, 'two onStorageChange calls');
    expect(changes.every((c) => c.roomId === 'persist' && c.bytes > 0)).toBe(true);
    const snapshot = roomsOf(first, 'persist')[0]!.getStorageDocument()!.serialize();

    const second = await startServer({
      initialStorage: async (roomId) => (roomId === 'persist' ? snapshot : null),
    });
    const reader = await DocClient.open(second, 'persist', 'r');
    expect(reader.text()).toBe('kept');
    expect(reader.doc.getMap('map').get('k')).toBe('v');
    const other = await DocClient.open(second, 'elsewhere', 'r2');
    expect(other.text()).toBe('');
  });

  it('a document larger than the send-buffer limit syncs to a reader that is slow to read it', async () => {
    const server = await startServer({
      limits: { lossyBufferedBytes: 16 * 1024, maxBufferedBytes: 32 * 1024 },
    });
    const writer = await DocClient.open(server, 'big', 'w');
    const chunk = 'y'.repeat(500_000);
    for (let i = 0; i < 24; i++) writer.doc.getText('text').insert(0, chunk);
    await writer.settled();
    const client = await join(server, 'big', 'r');
    const reader = new DocClient(client, 'big');
    // The reader stops reading, so the 12 MB snapshot piles up in the server's send buffer.
    const socket = (client.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const synced = reader.sync();
    await waitUntil(
      () =>
        connectionsOf(server, 'big').some((c) => c.user.userId === 'r' && c.storage === 'binary'),
      5000,
      'the server answered the sync',
    );
    socket.resume();
    await synced;
    expect(reader.text()).toHaveLength(12_000_000);
    writer.doc.getText('text').insert(0, 'after');
    await writer.settled();
    await waitUntil(() => reader.text().startsWith('after'), 5000, 'the next update');
    expect(client.closeCode).toBeNull();
  });

  it('a reader that asks for the document again and again without reading is closed as slow (4009)', async () => {
    const server = await startServer({
      limits: { lossyBufferedBytes: 16 * 1024, maxBufferedBytes: 32 * 1024 },
    });
    const writer = await DocClient.open(server, 'hoard', 'w');
    for (let i = 0; i < 24; i++) writer.doc.getText('text').insert(0, 'q'.repeat(500_000));
    await writer.settled();
    const client = await join(server, 'hoard', 'h');
    const socket = (client.ws as unknown as { _socket: { pause(): void } })._socket;
    socket.pause();
    // Each request would queue another 12 MB snapshot: the allowance covers one, not their sum.
    const request = encodeStorageFrame({
      kind: StorageFrameKind.SyncStep1,
      room: 'hoard',
      tag: 0,
      payload: new Uint8Array(0),
    });
    for (let i = 0; i < 6; i++) client.ws.send(request);
    await waitUntil(
      () =>
        !connectionsOf(server, 'hoard').some((c) => c.user.userId === 'h') &&
        roomsOf(server, 'hoard').every((room) => room.size === 1),
      5000,
      'the hoarder is closed, and gone from the room on every node',
    );
  });

  it('a room without storage use has no document loaded', async () => {
    const server = await startServer();
    await join(server, 'plain', 'p');
    const [room] = roomsOf(server, 'plain');
    expect(room!.storageInitialized).toBe(false);
    expect(room!.getStorageDocument()).toBeNull();
  });
});

describe('read-only connections', () => {
  it('AuthResult.readOnly: gets the document and updates, its own updates are refused', async () => {
    const server = await startServer({
      auth: {
        authenticate: (req) => {
          const user = new URL(req.url ?? '/', 'http://x').searchParams.get('userId') ?? 'anon';
          return { userId: user, displayName: user, readOnly: user.startsWith('viewer') };
        },
      },
    });
    const editor = await DocClient.open(server, 'ro', 'editor');
    editor.doc.getText('text').insert(0, 'visible');
    await editor.settled();
    for (const encoding of ['binary', 'base64'] as const) {
      const viewer = await DocClient.open(server, 'ro', `viewer-${encoding}`, encoding);
      expect(viewer.text()).toBe(editor.text());
      const refused = viewer.push(
        (() => {
          const scratch = new Y.Doc();
          scratch.getText('text').insert(0, 'nope');
          return Y.encodeStateAsUpdate(scratch);
        })(),
      );
      await expect(refused).rejects.toMatchObject({ reply: { code: ErrorCode.ReadOnly } });
      editor.doc.getText('text').insert(7, '+');
      await editor.settled();
      await waitUntil(() => viewer.text() === editor.text(), 3000, 'viewer gets updates');
    }
    for (const doc of serverDocs(server, 'ro')) {
      expect(doc.getText('text').toString()).not.toContain('nope');
    }
  });

  it("authorizeRoom 'read-only' limits that room only", async () => {
    const server = await startServer({
      auth: {
        authenticate: () => ({ userId: 'u', displayName: 'u' }),
        authorizeRoom: (roomId) => (roomId === 'gallery' ? 'read-only' : true),
      },
    });
    const gallery = await DocClient.open(server, 'gallery', 'u');
    gallery.doc.getText('text').insert(0, 'x');
    await gallery.settled();
    expect(gallery.errors.map((e) => e.code)).toContain(ErrorCode.ReadOnly);
    const studio = await DocClient.open(server, 'studio', 'u');
    studio.doc.getText('text').insert(0, 'x');
    await studio.settled();
    expect(studio.errors).toHaveLength(0);
  });
});

describe('refusals change nothing', () => {
  it('storage:init with a good update but a malformed state vector applies nothing', async () => {
    const server = await startServer();
    const alice = await DocClient.open(server, 'sv', 'alice', 'base64');
    const bob = await DocClient.open(server, 'sv', 'bob', 'base64');
    const scratch = new Y.Doc();
    scratch.getText('text').insert(0, 'should not land');
    const refused = alice.request({
      type: 'storage:init',
      room: 'sv',
      stateVector: 'AP8=',
      update: Buffer.from(Y.encodeStateAsUpdate(scratch)).toString('base64'),
    });
    await expect(refused).rejects.toMatchObject({ reply: { code: ErrorCode.InvalidUpdate } });
    for (const doc of serverDocs(server, 'sv')) expect(doc.getText('text').toString()).toBe('');
    alice.doc.getText('text').insert(0, 'next');
    await alice.settled();
    await waitUntil(() => bob.text() === 'next', 3000, 'the next edit only');
  });

  it('without a store, the size limit counts the real document, not every update ever sent', async () => {
    const server = await startServer({
      storage: { maxUpdateBytes: 12_000, maxDocumentBytes: 20_000 },
    });
    const alice = await DocClient.open(server, 'churn', 'alice');
    const text = alice.doc.getText('text');
    // 40 rounds of writing and deleting 2 kB: 80 kB sent in all, a tiny document in the end.
    for (let i = 0; i < 40; i++) {
      text.insert(0, 'z'.repeat(2000));
      text.delete(0, 2000);
    }
    await alice.settled();
    expect(alice.errors).toEqual([]);
    const chunk = (): Uint8Array => {
      const other = new Y.Doc();
      other.getText('other').insert(0, 'w'.repeat(9_000));
      return Y.encodeStateAsUpdate(other);
    };
    expect((await alice.push(chunk())).type).toBe('ack');
    expect((await alice.push(chunk())).type).toBe('ack');
    const big = alice.push(chunk());
    await expect(big).rejects.toMatchObject({ reply: { code: ErrorCode.DocumentTooLarge } });
  });
});
