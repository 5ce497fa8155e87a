import { describe, expect, it } from 'vitest';
import { intendedSendTime } from '../src/load.js';
import { PresenceTally } from '../src/presence-tally.js';

const list = (n: number) =>
  `{"type":"presence","room":"big","users":[${Array.from({ length: n }, (_, i) => `{"userId":"u${i}","displayName":"u${i}"}`).join(',')}]}`;

/** Feeds one text frame to a tally in parts of the given sizes (the last part takes the rest). */
function feed(tally: PresenceTally, text: string, sizes: number[]): void {
  const bytes = Buffer.from(text);
  let at = 0;
  for (const size of [...sizes, bytes.length]) {
    const end = Math.min(bytes.length, at + size);
    tally.part(bytes.subarray(at, end), at === 0, end === bytes.length, bytes.length);
    at = end;
    if (at === bytes.length) break;
  }
}

describe('PresenceTally', () => {
  const prefixes = { list: '{"type":"presence"', join: '{"type":"join"' };

  it('counts the users of a list however the frame is split across reads', () => {
    for (const sizes of [[], [1], [3, 1, 1, 7], [5, 9, 2, 8, 1, 4, 4], Array(400).fill(1)]) {
      const tally = new PresenceTally(prefixes, true);
      feed(tally, list(37), sizes);
      expect(tally.count).toBe(37);
      expect(tally.lastListBytes).toBe(Buffer.byteLength(list(37)));
    }
  });

  it('takes the last list, then adds joins; other frames change nothing', () => {
    const tally = new PresenceTally(prefixes, true);
    feed(tally, list(3), [10]);
    feed(tally, '{"type":"welcome","userId":"u9"}', []);
    feed(tally, '{"type":"join","userId":"u3"}', [4]);
    feed(tally, '{"type":"join","userId":"u4"}', []);
    expect(tally.count).toBe(5);
    feed(tally, list(2), []);
    expect(tally.count).toBe(2);
    expect(tally.lists).toBe(2);
  });

  it('only notes the byte length of lists when not exact', () => {
    const tally = new PresenceTally({ list: '{"type":"presence"', join: null }, false);
    feed(tally, list(12), [7]);
    expect(tally.count).toBeNull();
    expect(tally.lastListBytes).toBe(Buffer.byteLength(list(12)));
  });
});

describe('intendedSendTime', () => {
  it('is the moment the generator loop first counts the message as due', () => {
    // The loop sends publisher `slot`'s message `seq` once floor(rate·t/1000 + slot/P) > seq.
    const due = (t: number, slot: number, publishers: number, rate: number) =>
      Math.floor((rate * t) / 1000 + slot / publishers);
    for (const [publishers, rate] of [
      [1, 10],
      [1000, 2],
      [100, 30],
      [7, 333],
    ] as const) {
      for (let seq = 0; seq < 20; seq++) {
        for (const slot of [0, 1, publishers - 1]) {
          const at = intendedSendTime(0, seq, slot, publishers, rate);
          expect(due(at + 1e-6, slot, publishers, rate)).toBeGreaterThan(seq);
          expect(due(at - 1e-6, slot, publishers, rate)).toBeLessThanOrEqual(seq);
        }
      }
    }
  });
});
