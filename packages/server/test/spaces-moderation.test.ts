import fc from 'fast-check';
import { expect, it } from 'vitest';
import { createExampleResponder, MAX_RESPONDER_RUNS, type SpacesResponder } from '../src/index.js';
import {
  aliceAndBob,
  enter,
  joinSpace,
  nextMessage,
  onBothDatabases,
  signedIn,
  startSpaces,
} from './spaces-ws-helpers.js';

/**
 * Spaces beyond the happy path: seats racing for capacity over real sockets, the host's kicks and
 * bans, cleanup of inactive rooms under live members, the responder hook, and hostile frames.
 */

const alice = { id: 'alice', displayName: 'Alice' };

onBothDatabases('Spaces moderation and limits', (open) => {
  it('racing joins for the last seat: exactly one gets it, the rest get room_full', async () => {
    const { server, hub } = await startSpaces(open);
    const room = await hub.createRoom(alice, { name: 'R', maxParticipants: 2 });
    const host = await signedIn(server, 'alice');
    await enter(host, room.id);
    const racers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => signedIn(server, `racer${i}`)),
    );
    const answers = await Promise.all(racers.map((c) => joinSpace(c, room.id)));
    const types = answers.map((a) => (a.type === 'room:error' ? a.code : a.type)).sort();
    expect(types).toEqual(['room:joined', ...Array(5).fill('room_full')].sort());
    expect(await hub.participants(alice, room.id)).toHaveLength(2);
    // The losers were not left in the core room either.
    expect(server.getRoomManager().getUsers(room.id)).toHaveLength(2);
  });

  it('room:kick: the host removes (and bans) a participant; others cannot', async () => {
    const { server, hub } = await startSpaces(open);
    const room = await hub.createRoom(alice, { name: 'R' });
    const a = await signedIn(server, 'alice', 'Alice');
    const b = await signedIn(server, 'bob', 'Bob');
    const c = await signedIn(server, 'carol', 'Carol');
    await enter(a, room.id);
    await enter(b, room.id);
    await enter(c, room.id);
    const refused = await b.request({ type: 'room:kick', room: room.id, userId: 'carol' });
    expect(refused).toMatchObject({ type: 'room:error', code: 'forbidden' });

    expect((await a.request({ type: 'room:kick', room: room.id, userId: 'carol' })).type).toBe(
      'ack',
    );
    expect(await c.next('room:left')).toMatchObject({ room: room.id, reason: 'kicked' });
    expect(await b.next('room:participant-left')).toMatchObject({
      userId: 'carol',
      reason: 'kicked',
    });
    // Kicked, not banned: carol may come back.
    expect((await joinSpace(c, room.id)).type).toBe('room:joined');

    await a.request({ type: 'room:kick', room: room.id, userId: 'carol', ban: true });
    expect(await c.next('room:left')).toMatchObject({ reason: 'banned' });
    expect(await joinSpace(c, room.id)).toMatchObject({ type: 'room:error', code: 'banned' });
    expect((await hub.participants(alice, room.id)).map((p) => p.userId).sort()).toEqual([
      'alice',
      'bob',
    ]);
    // The banned user's messages and reads are refused too (no seat).
    await expect(
      hub.messages({ id: 'carol', displayName: 'C' }, room.id, {}),
    ).rejects.toMatchObject({ code: 'forbidden' });
    await hub.unban(alice, room.id, 'carol');
    expect((await joinSpace(c, room.id)).type).toBe('room:joined');
  });

  it('cleanup deletes inactive rooms and takes their live members out', async () => {
    const { server, hub, store } = await startSpaces(open);
    const idle = await hub.createRoom(alice, { name: 'idle' });
    const busy = await hub.createRoom(alice, { name: 'busy' });
    const a = await signedIn(server, 'alice');
    await enter(a, idle.id);
    await a.close();
    await store.db
      .updateTable('room_participants')
      .set({ is_online: 0, last_seen: 0 })
      .where('room_id', '=', idle.id)
      .execute();
    await store.db.updateTable('rooms').set({ last_activity: 0 }).execute();
    // busy has an online participant whose heartbeat is recent: not inactive.
    const b = await signedIn(server, 'bob');
    await enter(b, busy.id);
    await store.db
      .updateTable('rooms')
      .set({ last_activity: 0 })
      .where('id', '=', busy.id)
      .execute();
    expect(await hub.cleanupNow()).toEqual([idle.id]);
    await expect(hub.getRoom(alice, idle.id)).rejects.toMatchObject({ code: 'not_found' });
    // A room whose members went silent too is deleted under them: they are told.
    await store.db.updateTable('room_participants').set({ last_seen: 0 }).execute();
    expect(await hub.cleanupNow()).toEqual([busy.id]);
    expect(await b.next('room:left')).toMatchObject({ room: busy.id, reason: 'room removed' });
  });

  it('runs the cleanup on its timer when the server starts', async () => {
    const { hub, store } = await startSpaces(open, {
      spaces: { cleanup: { intervalMs: 20, inactiveAfterMs: 1000 } },
    });
    const room = await hub.createRoom(alice, { name: 'old' });
    await store.db.updateTable('rooms').set({ last_activity: 0 }).execute();
    await expect.poll(() => hub.listRooms(alice), { timeout: 3000 }).toEqual([]);
    await expect(hub.getRoom(alice, room.id)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('the example responder answers with ai_response messages after the user message', async () => {
    const { server, hub } = await startSpaces(open, {
      spaces: { cleanup: false, responder: createExampleResponder() },
    });
    const room = await hub.createRoom(alice, { name: 'Bot room' });
    const a = await signedIn(server, 'alice', 'Alice');
    await enter(a, room.id);
    a.send({
      type: 'room:message',
      room: room.id,
      messageType: 'user_text',
      content: '@bot reverse abc',
    });
    const user = await nextMessage(a, (m) => m.messageType === 'user_text');
    const reply = await nextMessage(a, (m) => m.messageType === 'ai_response');
    expect(reply).toMatchObject({
      content: 'cba',
      userId: null,
      metadata: { responder: 'example', inReplyTo: user.id },
    });
    a.send({ type: 'room:message', room: room.id, messageType: 'user_text', content: '@bot' });
    expect((await nextMessage(a, (m) => m.messageType === 'ai_response')).content).toContain(
      'Hi Alice!',
    );
    // Not addressed to the bot: no answer (the next ai_response is for the later "@bot mode").
    a.send({ type: 'room:message', room: room.id, messageType: 'user_text', content: 'hello' });
    a.send({ type: 'room:message', room: room.id, messageType: 'user_text', content: '@bot mode' });
    expect((await nextMessage(a, (m) => m.messageType === 'ai_response')).content).toBe(
      'This room is in "default" mode.',
    );
  });

  it('a failing, looping or slow responder changes nothing for the room', async () => {
    const calls: string[] = [];
    const responder: SpacesResponder = async ({ message, reply }) => {
      calls.push(message.content);
      if (message.content === 'throw') throw new Error('boom');
      if (message.content === 'flood') for (let i = 0; i < 10; i++) await reply(`r${i}`);
      if (message.content === 'slow') await new Promise(() => {});
    };
    const { server, hub } = await startSpaces(open, {
      spaces: { cleanup: false, responder, responderTimeoutMs: 200 },
    });
    const room = await hub.createRoom(alice, { name: 'R' });
    const a = await signedIn(server, 'alice');
    await enter(a, room.id);
    for (const content of ['throw', 'slow', 'flood', 'after']) {
      const answer = await a.request({
        type: 'room:message',
        room: room.id,
        messageType: 'user_text',
        content,
      });
      expect(answer.type).toBe('ack');
    }
    // Polls with room for a loaded machine (the default is 1 s).
    await expect.poll(() => calls, { timeout: 5000 }).toEqual(['throw', 'slow', 'flood', 'after']);
    const page = await hub.messages(alice, room.id, { limit: 100 });
    // At most 5 replies per message; the responder never answers its own or system messages.
    await expect
      .poll(
        async () =>
          (await hub.messages(alice, room.id, { limit: 100 })).messages.filter(
            (m) => m.messageType === 'ai_response',
          ).length,
        { timeout: 5000 },
      )
      .toBe(5);
    expect(page.messages.filter((m) => m.messageType === 'user_text')).toHaveLength(4);
  });

  it('at most MAX_RESPONDER_RUNS responder runs at once; later messages go unanswered', async () => {
    let calls = 0;
    const responder: SpacesResponder = () => {
      calls++;
      return new Promise(() => {}); // a service that never answers
    };
    const { server, hub } = await startSpaces(open, {
      spaces: { cleanup: false, responder, writeRate: { perSecond: 1000, burst: 1000 } },
    });
    const room = await hub.createRoom(alice, { name: 'R' });
    const a = await signedIn(server, 'alice');
    await enter(a, room.id);
    for (let i = 0; i < MAX_RESPONDER_RUNS + 8; i++) {
      a.send({
        type: 'room:message',
        room: room.id,
        messageType: 'user_text',
        content: `m${i}`,
        ref: i,
      });
    }
    await expect
      .poll(() => a.received.filter((m) => m.type === 'ack').length)
      .toBe(MAX_RESPONDER_RUNS + 8);
    expect(calls).toBe(MAX_RESPONDER_RUNS);
  });

  it('a connection over its Spaces operation budget gets room:error rate_limited; others are unaffected', async () => {
    const { server, hub } = await startSpaces(open, {
      spaces: { cleanup: false, writeRate: { perSecond: 1, burst: 3 } },
    });
    const room = await hub.createRoom(alice, { name: 'R' });
    const a = await signedIn(server, 'alice');
    const b = await signedIn(server, 'bob');
    await enter(a, room.id); // 1 of 3
    await enter(b, room.id);
    // Sent back to back: the budget (3, refilled at 1/s) cannot cover 12 however slow the machine.
    for (let i = 0; i < 12; i++) {
      a.send({
        type: 'room:message',
        room: room.id,
        messageType: 'user_text',
        content: `m${i}`,
        ref: i,
      });
    }
    const answered = () =>
      a.received.filter(
        (m) => typeof m.ref === 'number' && (m.type === 'ack' || m.type === 'room:error'),
      );
    await expect.poll(() => answered().length).toBe(12);
    const refused = answered().filter((m) => m.type === 'room:error' && m.code === 'rate_limited');
    expect(refused.length).toBeGreaterThan(0);
    const fromBob = await b.request({
      type: 'room:message',
      room: room.id,
      messageType: 'user_text',
      content: 'b',
    });
    expect(fromBob.type).toBe('ack');
    const stored = await hub.messages(alice, room.id, {});
    const kept = stored.messages.filter(
      (m) => m.userId === 'alice' && m.messageType === 'user_text',
    );
    expect(kept.length).toBe(12 - refused.length);
  });

  it('hostile Spaces frames never crash the server or disturb another member', async () => {
    const { server, room, a, b } = await aliceAndBob(open);
    const types = [
      'room:authenticate',
      'room:join',
      'room:leave',
      'room:message',
      'room:state-update',
      'room:presence-update',
      'room:voice-start',
      'room:voice-stop',
      'room:history',
      'room:kick',
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...types),
        fc.dictionary(
          fc.constantFrom(
            'room',
            'token',
            'messageType',
            'content',
            'metadata',
            'state',
            'currentMode',
            'userId',
            'ban',
            'before',
            'limit',
            'displayName',
            '__proto__',
          ),
          fc.oneof(
            fc.string(),
            fc.integer(),
            fc.boolean(),
            fc.constant(null),
            fc.constant(room.id),
            fc.jsonValue(),
          ),
        ),
        async (type, fields) => {
          if (type === 'room:leave' || (type === 'room:kick' && fields.userId === 'alice')) return;
          const answer = await b.request({ ...fields, type });
          expect([
            'room:error',
            'error',
            'ack',
            'room:joined',
            'room:left',
            'room:messages-history',
            'room:authenticated',
          ]).toContain(answer.type);
        },
      ),
      { numRuns: 150 },
    );
    // Alice is unaffected: still in the room, and hears a fresh message from bob's other tab.
    const b2 = await signedIn(server, 'bob');
    expect((await joinSpace(b2, room.id)).type).toBe('room:joined');
    b2.send({
      type: 'room:message',
      room: room.id,
      messageType: 'user_text',
      content: 'still here',
    });
    expect((await nextMessage(a, (m) => m.content === 'still here')).userId).toBe('bob');
  });
});
