import { describe, expect, it } from 'vitest';
import { JwtAuth, openStore } from '../src/index.js';
import { connect, startServer, upgradeStatus, wsUrl } from './helpers.js';
import { enter, JWT_SECRET, signedIn, startSpaces, tokenFor } from './spaces-ws-helpers.js';
import { afterThisTest, sqliteFile } from './test-databases.js';

/** How a WebSocket connection is signed in for Spaces, and what happens when Spaces is off. */

async function sqlite() {
  const store = await openStore(sqliteFile('roomkit-spaces-signin-'));
  afterThisTest(() => store.close());
  return store;
}

describe('signing in for Spaces', () => {
  it('jwt.requireOnUpgrade refuses upgrades without a token (401)', async () => {
    const { server } = await startSpaces(sqlite, {
      jwt: { secret: JWT_SECRET, requireOnUpgrade: true },
    });
    expect((await upgradeStatus(wsUrl(server, '/rooms', 'userId=alice'))).status).toBe(401);
    const token = await tokenFor('alice');
    expect((await upgradeStatus(wsUrl(server, '/rooms', `token=${token}`))).status).toBe(101);
  });

  it('an identity from the auth handler is signed in (the handler verified it)', async () => {
    const { server, hub } = await startSpaces(sqlite, {
      auth: { authenticate: () => ({ userId: 'erin', displayName: 'Erin' }) },
    });
    const room = await hub.createRoom({ id: 'alice', displayName: 'A' }, { name: 'R' });
    const erin = await connect(server, '/rooms');
    const joined = await enter(erin, room.id);
    expect(joined.participants).toEqual([expect.objectContaining({ userId: 'erin' })]);
  });

  it('a guest token (issueGuest) signs a connection in as a guest', async () => {
    const { server } = await startSpaces(sqlite, { jwt: { secret: JWT_SECRET, guest: true } });
    const issuer = new JwtAuth({ secret: JWT_SECRET, guest: true });
    const { token, user } = await issuer.issueGuest('Gus');
    const client = await connect(server, '/rooms', 'userId=somebody');
    const answer = await client.request({ type: 'room:authenticate', token });
    expect(answer).toMatchObject({
      type: 'room:authenticated',
      user: { id: user.id, guest: true },
    });
    // The welcome of a token-carrying upgrade names the signed-in user.
    const direct = await signedIn(server, 'alice', 'Alice');
    expect(direct.all('welcome')[0]).toMatchObject({ userId: 'alice', displayName: 'Alice' });
  });

  it('without jwt, room:authenticate is unsupported; with Spaces off, Spaces events are too', async () => {
    const server = await startServer();
    const client = await connect(server, '/rooms', 'userId=alice');
    const authenticate = await client.request({ type: 'room:authenticate', token: 'x' });
    expect(authenticate).toMatchObject({ type: 'room:error', code: 'unsupported' });
    expect(String(authenticate.message)).toContain('no JWT auth');
    await client.request({ type: 'room:join', room: 'plain' });
    const message = await client.request({
      type: 'room:message',
      room: 'plain',
      messageType: 'user_text',
      content: 'hi',
    });
    expect(message).toMatchObject({ type: 'room:error', code: 'unsupported' });
    expect(String(message.message)).toContain('Spaces is off');
  });

  it('room:authenticate works with jwt alone (Spaces off)', async () => {
    const server = await startServer({ jwt: { secret: JWT_SECRET } });
    const client = await connect(server, '/rooms', 'userId=somebody');
    const answer = await client.request({
      type: 'room:authenticate',
      token: await tokenFor('ann'),
    });
    expect(answer).toMatchObject({ type: 'room:authenticated', user: { id: 'ann' } });
    // The connection is now ann's: a plain room lists ann.
    await client.request({ type: 'room:join', room: 'plain' });
    expect(server.getRoomManager().getUsers('plain')).toEqual(['ann']);
  });

  it('spaces without a store is a configuration error', async () => {
    await expect(startServer({ spaces: {} })).rejects.toThrow('spaces needs a store');
    await expect(
      startServer({ store: await sqlite(), spaces: { historyLimit: 0 } }),
    ).rejects.toThrow('spaces.historyLimit');
    // Node turns a longer timer into 1 ms: a cleanup every millisecond.
    await expect(
      startServer({ store: await sqlite(), spaces: { cleanup: { intervalMs: 3_000_000_000 } } }),
    ).rejects.toThrow('spaces.cleanup.intervalMs');
  });
});
