import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { CliError, parseCli } from '../src/cli-options.js';
import { buildCompiled, repoRoot, type Served, serveCli } from './cli-process.js';
import { openUrl, waitUntil } from './helpers.js';

/** The sign-in and Spaces options of `roomkit serve`, parsed and in a served process. */

const bin = fileURLToPath(new URL('../bin/roomkit.js', import.meta.url));

beforeAll(async () => {
  await buildCompiled();
}, 120_000);

function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  return serveCli(['--db', ':memory:', ...args], {
    script: bin,
    cwd: repoRoot,
    env,
    timeoutMs: 5000,
  });
}

describe('parseCli: sign-in and Spaces', () => {
  it('has Spaces on with a store, JWT off, no guest sign-in, by default', () => {
    const { config } = parseCli([], {});
    expect(config.jwt).toBeUndefined();
    expect(config.spaces).toMatchObject({ cleanup: {} });
    expect(parseCli(['--db', 'none'], {}).config.spaces).toBeUndefined();
    expect(parseCli(['--spaces', 'off'], {}).config.spaces).toBeUndefined();
  });

  it('reads every option from its flag or its environment variable', () => {
    const fromFlags = parseCli(
      [
        '--jwt-secret',
        's'.repeat(32),
        '--jwt-issuer',
        'https://id.example',
        '--jwt-audience',
        'rk',
        '--guest-auth',
        '--spaces-responder',
        'example',
        '--spaces-join-link',
        'https://app.example/spaces',
        '--spaces-max-rooms',
        '3',
        '--spaces-inactive-after',
        '60000',
        '--spaces-cleanup-interval',
        '1000',
      ],
      {},
    ).config;
    expect(fromFlags.jwt).toEqual({
      guest: true,
      secret: 's'.repeat(32),
      issuer: 'https://id.example',
      audience: 'rk',
    });
    expect(fromFlags.spaces).toMatchObject({
      maxActiveRoomsPerUser: 3,
      joinLinkBase: 'https://app.example/spaces',
      cleanup: { intervalMs: 1000, inactiveAfterMs: 60000 },
    });
    expect(typeof (fromFlags.spaces as { responder?: unknown }).responder).toBe('function');
    const fromEnv = parseCli([], {
      ROOMKIT_JWKS_URL: 'https://id.example/jwks.json',
      ROOMKIT_GUEST_AUTH: 'off',
      ROOMKIT_SPACES_MAX_ROOMS: '2',
    }).config;
    expect(fromEnv.jwt).toEqual({ guest: false, jwksUrl: 'https://id.example/jwks.json' });
    expect(fromEnv.spaces).toMatchObject({ maxActiveRoomsPerUser: 2 });
  });

  it.each([
    [['--spaces', 'maybe'], '--spaces'],
    [['--spaces', 'on', '--db', 'none'], '--spaces on needs a store'],
    [['--spaces-responder', 'gpt'], '--spaces-responder'],
    [['--spaces-max-rooms', '0'], '--spaces-max-rooms'],
    [['--spaces-inactive-after', '1.5'], '--spaces-inactive-after'],
  ])('%j is refused naming %s', (argv, mentions) => {
    expect(() => parseCli(argv, {})).toThrow(CliError);
    expect(() => parseCli(argv, {})).toThrow(mentions);
  });
});

describe('roomkit serve with --guest-auth (as npm start runs it)', () => {
  it('says so in its log, issues guest tokens, and a guest can create and join a Spaces room', async () => {
    const server = await serve(['--guest-auth', '--spaces-responder', 'example']);
    await waitUntil(
      () => server.logs.some((l) => l.guestAuth === true),
      3000,
      'the guest log line',
    );
    expect(String(server.logs.find((l) => l.guestAuth === true)?.msg)).toContain('/api/auth/guest');
    const api = `http://127.0.0.1:${server.port}/api`;
    const signIn = await fetch(`${api}/auth/guest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ displayName: 'Guest Ann' }),
    });
    expect(signIn.status).toBe(200);
    const { token, user } = (await signIn.json()) as { token: string; user: { id: string } };
    expect(user.id).toMatch(/^guest-/);
    const created = await fetch(`${api}/rooms/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ name: 'Demo' }),
    });
    expect(created.status).toBe(201);
    const { room } = (await created.json()) as { room: { id: string } };
    const client = await openUrl(`ws://127.0.0.1:${server.port}/rooms?token=${token}`);
    client.send({ type: 'room:join', room: room.id, ref: 1 });
    expect(await client.next('room:joined')).toMatchObject({ room: room.id });
    client.send({
      type: 'room:message',
      room: room.id,
      messageType: 'user_text',
      content: '@bot mode',
    });
    const reply = await client.next(
      (m) =>
        m.type === 'room:message-received' &&
        (m.message as { messageType: string }).messageType === 'ai_response',
    );
    expect((reply.message as { content: string }).content).toContain('mode');
  });

  it('without --guest-auth there is no guest endpoint', async () => {
    const server = await serve([]);
    const response = await fetch(`http://127.0.0.1:${server.port}/api/auth/guest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ displayName: 'x' }),
    });
    expect(response.status).toBe(404);
  });
});
