import fc from 'fast-check';
import { expect, it } from 'vitest';
import { API_KEY, describeBackends, startSpaces, userToken } from './spaces-rest-helpers.js';

/**
 * Random methods, paths (mostly the real routes, with good and bad parameters), bodies and
 * headers under /api against a server with Spaces, a room, a seat and a message: never a 500,
 * always the JSON error shape.
 */

describeBackends('Spaces REST under random requests', (open) => {
  it('random methods, paths, bodies and headers under /api never get a 500', async () => {
    const spaces = await startSpaces(open, {
      spaces: { rateLimit: false },
      api: { keys: [API_KEY], rateLimit: false },
    });
    const created = await spaces.as('alice', 'POST', '/api/rooms/create', { body: { name: 'R' } });
    const room = created.body.room as { id: string; roomCode: string };
    await spaces.service.joinRoom('bob', room.id, 'Bob');
    await spaces.service.insertMessage('bob', room.id, 'user_text', 'hello');
    const alice = await spaces.token('alice');
    const bob = await spaces.token('bob');
    const expired = await userToken('carol', 'Carol', { expiresAt: 1 });

    const visible = fc.string({
      unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
      maxLength: 60,
    });
    const junk = fc.string({ maxLength: 40 }).map(encodeURIComponent);
    const roomId = fc.oneof(fc.constant(room.id), fc.constant(room.id), fc.uuid(), junk);
    // Mostly the real routes with good and bad parameters; sometimes any path under /api/rooms.
    /** A path with the method it is for (`*`: any of them). */
    const at = (method: string, path: fc.Arbitrary<string>) =>
      path.map((p) => [method, p] as const);
    const route = fc.oneof(
      at('GET', fc.constantFrom('/api/rooms', '/api/rooms/stats')),
      at('POST', fc.constantFrom('/api/rooms/create', '/api/auth/guest')),
      at(
        'GET',
        fc
          .oneof(fc.constant(room.roomCode), fc.constant(room.roomCode.toLowerCase()), junk)
          .map((code) => `/api/rooms/code/${code}`),
      ),
      ...(
        [
          ['GET', ''],
          ['POST', '/join'],
          ['DELETE', '/leave'],
          ['GET', '/participants'],
          ['GET', '/messages'],
          ['POST', '/messages'],
          ['PATCH', '/state'],
          ['POST', '/kick'],
          ['POST', '/emit'],
        ] as const
      ).map(([method, tail]) =>
        at(
          method,
          roomId.map((id) => `/api/rooms/${id}${tail}`),
        ),
      ),
      at(
        'DELETE',
        fc
          .tuple(roomId, fc.oneof(fc.constantFrom('bob', 'carol'), junk))
          .map(([id, user]) => `/api/rooms/${id}/bans/${user}`),
      ),
      at(
        'GET',
        fc
          .tuple(
            roomId,
            fc.oneof(fc.nat(120).map(String), junk),
            fc.oneof(fc.nat().map(String), junk),
          )
          .map(
            ([id, limit, before]) => `/api/rooms/${id}/messages?limit=${limit}&before=${before}`,
          ),
      ),
      at(
        '*',
        fc
          .array(fc.oneof(fc.constantFrom(room.id, 'code', 'bans', 'state', ''), junk), {
            maxLength: 4,
          })
          .map((parts) => `/api/rooms/${parts.join('/')}`),
      ),
    );
    const methods = ['GET', 'POST', 'PATCH', 'DELETE', 'PUT'] as const;
    const request = fc
      .tuple(route, fc.constantFrom(...methods), fc.boolean())
      .map(
        ([[method, path], other, keep]) =>
          [method === '*' || !keep ? other : method, path] as const,
      );
    const body = fc.oneof(
      fc.constant(undefined),
      fc.json({ maxDepth: 40 }),
      fc
        .record(
          {
            name: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 2 })),
            maxParticipants: fc.oneof(fc.integer({ min: -1, max: 60 }), fc.double(), fc.string()),
            displayName: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 2 })),
            currentMode: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 2 })),
            state: fc.oneof(
              fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 40 })),
              fc.jsonValue(),
            ),
            userId: fc.oneof(fc.constantFrom('bob', 'alice', 'server', ''), fc.string()),
            ban: fc.oneof(fc.boolean(), fc.jsonValue({ maxDepth: 1 })),
            text: fc.string(),
            event: fc.string(),
          },
          { requiredKeys: [] },
        )
        .map((value) => JSON.stringify(value)),
      fc.string({ maxLength: 200 }),
    );
    const json = fc.constantFrom('application/json', 'application/json; charset=utf-8');
    const token = fc.constantFrom(alice, bob).map((t) => `Bearer ${t}`);
    const headers = fc.record(
      {
        'content-type': fc.oneof(json, json, json, fc.constantFrom('text/plain', ''), visible),
        // Mostly a good user's token, so that most requests reach the handlers.
        authorization: fc.oneof(
          token,
          token,
          token,
          fc.constantFrom(`Bearer ${expired}`, `Bearer ${API_KEY}`),
          visible.map((v) => `Bearer ${v}`),
          visible,
        ),
        'x-api-key': fc.oneof(fc.constant(API_KEY), visible),
      },
      { requiredKeys: ['content-type', 'authorization'] },
    );
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, body, headers, async ([method, url], payload, extra) => {
        const response = await fetch(`http://127.0.0.1:${spaces.server.port}${url}`, {
          method,
          headers: extra,
          ...(method === 'GET' || payload === undefined ? {} : { body: payload }),
        });
        const text = await response.text();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        expect(response.status, `${method} ${url} ${String(payload)}`).toBeLessThan(500);
        const parsed = JSON.parse(text) as Record<string, unknown>;
        if (response.status >= 400) {
          expect(parsed).toEqual({
            success: false,
            error: { code: expect.any(String), message: expect.any(String) },
          });
        } else {
          expect(parsed.success ?? true).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
    // The requests reached the handlers too, not only the checks in front of them.
    expect(statuses.get(200), JSON.stringify([...statuses])).toBeGreaterThan(5);
    expect(statuses.get(400), JSON.stringify([...statuses])).toBeGreaterThan(20);
  }, 90_000);
});
