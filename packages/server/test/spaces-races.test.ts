import { expect, it } from 'vitest';
import { connect } from './helpers.js';
import {
  aliceAndBob,
  enter,
  JWT_SECRET,
  joinSpace,
  onBothDatabases,
  signedIn,
  startSpaces,
  tokenFor,
} from './spaces-ws-helpers.js';
import { DocClient } from './storage-helpers.js';

/**
 * Spaces where timing and identity meet: a ban landing while its target is joining, a deleted
 * room's document, a signed-in identity that a token must not replace, and an application that
 * removes a Spaces room's live room.
 */

const alice = { id: 'alice', displayName: 'Alice' };

onBothDatabases('Spaces races and identities', (open) => {
  it('a ban that lands while its target is joining keeps the target out of the live room', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let waiting: () => void = () => {};
    const reached = new Promise<void>((resolve) => {
      waiting = resolve;
    });
    const { server, hub } = await startSpaces(open, {
      auth: {
        authenticate: (req) => {
          const user = new URL(req.url ?? '', 'http://x').searchParams.get('as') ?? 'anon';
          return { userId: user, displayName: user };
        },
        authorizeRoom: async (_room, user) => {
          if (user.userId === 'mallory') {
            waiting();
            await gate;
          }
          return true;
        },
      },
    });
    const room = await hub.createRoom(alice, { name: 'R' });
    const a = await connect(server, '/rooms', 'as=alice');
    await enter(a, room.id);
    const m = await connect(server, '/rooms', 'as=mallory');
    const answer = joinSpace(m, room.id);
    await reached; // mallory holds a seat and waits in authorizeRoom
    await hub.kick(alice, room.id, 'mallory', true);
    release();
    expect(await answer).toMatchObject({ type: 'room:error', code: 'banned' });
    expect(server.getRoomManager().getUsers(room.id)).toEqual(['alice']);
    a.send({
      type: 'room:message',
      room: room.id,
      messageType: 'user_text',
      content: 'secret plan',
    });
    await a.next((msg) => msg.type === 'room:message-received');
    expect(m.all('room:message-received')).toEqual([]);
  });

  it('deleting a room deletes its document: its id does not give the contents to anyone', async () => {
    const { server, hub } = await startSpaces(open);
    const room = await hub.createRoom(alice, { name: 'R' });
    const a = await signedIn(server, 'alice');
    await enter(a, room.id);
    const writer = new DocClient(a, room.id, 'base64');
    await writer.sync();
    writer.doc.getText('notes').insert(0, 'members-only notes');
    await writer.settled();
    await hub.deleteRoom(alice, room.id);
    await a.next('room:left');
    const anon = await connect(server, '/rooms', 'userId=anon');
    expect((await anon.request({ type: 'room:join', room: room.id })).type).toBe('ack');
    const reader = new DocClient(anon, room.id, 'base64');
    await reader.sync();
    expect(reader.doc.getText('notes').toString()).toBe('');
  });

  it("room:authenticate never replaces a signed-in identity (the auth handler's read-only stays)", async () => {
    const { server } = await startSpaces(open, {
      jwt: { secret: JWT_SECRET },
      auth: {
        authenticate: () => ({
          userId: 'alice',
          displayName: 'Alice (viewer)',
          readOnly: true,
          metadata: { role: 'viewer' },
        }),
      },
    });
    const a = await connect(server, '/rooms');
    const same = await a.request({ type: 'room:authenticate', token: await tokenFor('alice') });
    expect(same).toMatchObject({
      type: 'room:authenticated',
      user: { id: 'alice', displayName: 'Alice (viewer)' },
    });
    await a.request({ type: 'room:join', room: 'docs' });
    const writer = new DocClient(a, 'docs', 'base64');
    await writer.sync();
    writer.doc.getText('t').insert(0, 'x');
    await expect.poll(() => a.all('error').map((e) => e.code)).toContain('read_only');
    expect(server.getRoomManager().get('docs')?.getUsers()[0]).toMatchObject({
      metadata: { role: 'viewer' },
    });
  });

  it('an application removing a Spaces live room keeps the seats (offline), unlike a leave', async () => {
    const { server, hub, room, a } = await aliceAndBob(open);
    server.getRoomManager().remove(room.id);
    await a.next('room:left');
    await expect
      .poll(async () =>
        (await hub.participants(alice, room.id)).map((p) => [p.userId, p.isOnline]).sort(),
      )
      .toEqual([
        ['alice', false],
        ['bob', false],
      ]);
  });
});
