import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../server/src/index.js';
import { type RealtimeMessage, useRoom } from '../src/index.js';
import { connectClient, startServer } from './helpers.js';

/**
 * The client SDK in a Spaces room: joining with the same `room:join` (the server answers
 * `room:joined`), Spaces events through `client.on`, and refusals (`room:error`) as join errors.
 */

const SECRET = 'client-spaces-secret-0123456789abcdef';

function token(userId: string): Promise<string> {
  return new SignJWT({ name: userId })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(SECRET));
}

async function spacesServer() {
  const store = await openStore(':memory:');
  await store.migrate();
  const server = await startServer({ store, jwt: { secret: SECRET }, spaces: { cleanup: false } });
  return { server, hub: server.spacesHub!, store };
}

describe('a Spaces room through the client SDK', () => {
  it('joins, hears Spaces events, and reports a refused join with its code', async () => {
    const { server, hub, store } = await spacesServer();
    try {
      const room = await hub.createRoom(
        { id: 'alice', displayName: 'Alice' },
        { name: 'R', maxParticipants: 1 },
      );
      const alice = connectClient(server, 'alice', { params: { token: await token('alice') } });
      const received: RealtimeMessage[] = [];
      alice.on('room:message-received', (_payload, message) => received.push(message));
      const joined = useRoom({ client: alice, roomId: room.id });
      expect(await joined.join()).toBe(true);
      // Spaces events carry their fields flat: `request` sends a message as it is.
      const sent = await alice.request({
        type: 'room:message',
        room: room.id,
        messageType: 'user_text',
        content: 'hi',
      });
      expect(sent.ok).toBe(true);
      const refused = await alice.request({ type: 'room:state-update', room: room.id });
      expect(refused).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
      await expect
        .poll(() => received.map((m) => (m.message as { content: string }).content))
        .toContain('hi');

      const bob = connectClient(server, 'bob', { params: { token: await token('bob') } });
      const full = useRoom({ client: bob, roomId: room.id });
      expect(await full.join()).toBe(false);
      expect(full.error()).toMatchObject({ code: 'room_full' });
    } finally {
      await server.stop();
      await store.close();
    }
  });
});
