import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LiveStateStore } from '../src/features/live-state-store.js';
import { HybridLogicalClock } from '../src/hlc.js';
import type { PresenceUser } from '../src/index.js';
import { aggregatePresence, colorForUser, USER_COLORS } from '../src/rooms/presence-user.js';
import { TokenBucket } from '../src/rooms/token-bucket.js';

describe('HybridLogicalClock', () => {
  it('issues strictly increasing timestamps even when the wall clock stalls or goes back', () => {
    const walls = [100, 100, 100, 90, 95, 200, 150];
    let i = 0;
    const clock = new HybridLogicalClock(() => walls[i++]!);
    const stamps = walls.map(() => clock.now());
    for (let k = 1; k < stamps.length; k++) expect(stamps[k]!).toBeGreaterThan(stamps[k - 1]!);
    expect(stamps[5]).toBe(200);
  });

  it('orders local events after an observed remote timestamp', () => {
    const clock = new HybridLogicalClock(() => 1000);
    clock.observe(5000);
    const after = clock.now();
    expect(after).toBeGreaterThan(5000);
    clock.observe(Number.NaN);
    expect(clock.now()).toBeGreaterThan(after);
  });

  it('stays within a millisecond of the wall clock under a burst of writes', () => {
    const clock = new HybridLogicalClock(() => 1000);
    const stamps = Array.from({ length: 1000 }, () => clock.now());
    for (let k = 1; k < stamps.length; k++) expect(stamps[k]!).toBeGreaterThan(stamps[k - 1]!);
    expect(stamps.at(-1)!).toBeLessThan(1001);
    expect(Math.floor(stamps.at(-1)!)).toBe(1000);
  });
});

describe('LiveStateStore', () => {
  it('keeps the write with the larger timestamp, then the larger userId on a tie, in any arrival order', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            timestamp: fc.integer({ min: 0, max: 20 }),
            userId: fc.constantFrom('a', 'b', 'c'),
            value: fc.integer(),
          }),
          { minLength: 1, maxLength: 20 },
        ),
        (writes) => {
          const forward = new LiveStateStore({ maxKeys: 10, maxBytes: 1e6 });
          const backward = new LiveStateStore({ maxKeys: 10, maxBytes: 1e6 });
          for (const w of writes) forward.set('k', w);
          for (const w of [...writes].reverse()) backward.set('k', w);
          const f = forward.get('k')!;
          const b = backward.get('k')!;
          expect([f.timestamp, f.userId]).toEqual([b.timestamp, b.userId]);
        },
      ),
    );
  });

  it('keeps a byte budget across replaced keys', () => {
    const store = new LiveStateStore({ maxKeys: 10, maxBytes: 100 });
    store.set('a', { value: 1, timestamp: 1, userId: 'u' }, 60);
    expect(store.wouldExceedBytes('b', 50)).toBe(true);
    expect(store.wouldExceedBytes('a', 90)).toBe(false);
    store.set('a', { value: 2, timestamp: 2, userId: 'u' }, 10);
    expect(store.byteSize).toBe(10);
    expect(store.wouldExceedBytes('b', 90)).toBe(false);
  });

  it('reports when a new key would exceed maxKeys', () => {
    const store = new LiveStateStore({ maxKeys: 1, maxBytes: 1e6 });
    store.set('a', { value: 1, timestamp: 1, userId: 'u' });
    expect(store.isFull('a')).toBe(false);
    expect(store.isFull('b')).toBe(true);
  });
});

describe('presence helpers', () => {
  it('assigns a palette color that depends only on the userId', () => {
    expect(USER_COLORS).toHaveLength(8);
    for (const id of ['alice', 'bob', '', 'ü-user', 'x'.repeat(128)]) {
      expect(USER_COLORS).toContain(colorForUser(id));
      expect(colorForUser(id)).toBe(colorForUser(`${id}`));
    }
    const used = new Set(Array.from({ length: 200 }, (_, n) => colorForUser(`user-${n}`)));
    expect(used.size).toBe(8);
  });

  it('folds several connections of one user into one entry', () => {
    const base: PresenceUser = {
      userId: 'u',
      displayName: 'U',
      color: '#fff',
      connectedAt: 10,
      onlineStatus: 'offline',
      lastActiveAt: 10,
      isIdle: true,
      connections: 1,
    };
    const users = aggregatePresence([
      base,
      {
        ...base,
        connectedAt: 5,
        onlineStatus: 'away',
        lastActiveAt: 50,
        isIdle: false,
        location: 'p2',
      },
      { ...base, userId: 'v' },
    ]);
    expect(users).toHaveLength(2);
    const merged = aggregatePresence([
      { ...base, metadata: { tool: 'pen' }, lastActiveAt: 1 },
      { ...base, lastActiveAt: 2, location: 'here' },
    ]);
    expect(merged[0]).toMatchObject({
      metadata: { tool: 'pen' },
      location: 'here',
      connections: 2,
    });
    expect(users[0]).toMatchObject({
      userId: 'u',
      connections: 2,
      connectedAt: 5,
      onlineStatus: 'away',
      isIdle: false,
      location: 'p2',
      lastActiveAt: 50,
    });
  });
});

describe('TokenBucket', () => {
  it('allows a burst, then refills at the configured rate', () => {
    const bucket = new TokenBucket(10, 3, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(bucket.take(50)).toBe(false);
    expect(bucket.take(100)).toBe(true);
    expect(bucket.take(100_000)).toBe(true);
  });
});

describe('textFrame', () => {
  it('writes the RFC 6455 header for 7-, 16- and 64-bit payload lengths', async () => {
    const { textFrame } = await import('../src/rooms/frame.js');
    for (const length of [0, 125, 126, 65_535, 65_536, 70_000]) {
      const payload = Buffer.alloc(length, 0x61);
      const frame = textFrame(payload);
      expect(frame[0]).toBe(0x81);
      const code = frame[1]! & 0x7f;
      const [header, decoded] =
        code < 126
          ? [2, code]
          : code === 126
            ? [4, frame.readUInt16BE(2)]
            : [10, Number(frame.readBigUInt64BE(2))];
      expect(decoded).toBe(length);
      expect(frame.length).toBe(header + length);
      expect(frame.subarray(header).equals(payload)).toBe(true);
      expect(textFrame(payload.toString()).equals(frame)).toBe(true);
    }
    const unicode = textFrame('héllo ✓');
    expect(unicode[1]).toBe(Buffer.byteLength('héllo ✓'));
    expect(unicode.subarray(2).toString()).toBe('héllo ✓');
  });
});
