import { describe, expect, it } from 'vitest';
import { join, startServer } from './helpers.js';

describe('smoke', () => {
  it('relays an application message between two members', async () => {
    const server = await startServer();
    const alice = await join(server, 'smoke', 'alice');
    const bob = await join(server, 'smoke', 'bob');
    alice.send({ type: 'chat', text: 'hi' });
    const got = await bob.next('chat');
    expect(got).toMatchObject({ type: 'chat', text: 'hi', from: 'alice', room: 'smoke' });
  });
});
