import * as decoding from 'lib0/decoding';
import * as Y from 'yjs';

/**
 * The documents the Yjs scenarios use, built the same way for every system from a seeded PRNG:
 * the same edits, the same client ids, the same bytes.
 */

/** Every scenario edits one Y.Text of this name. */
export const TEXT = 'content';

/** mulberry32: small, fast, deterministic. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS =
  'the of and to in is that for it as with was on be by at this had not are but from or have an they which one you were her all she there would their we him been has when who will more no if out so said what up its about into than them can only other new some could time these two may then do first any my now such like our over man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three'.split(
    ' ',
  );

function sentence(random: () => number, minChars: number): string {
  let out = '';
  while (out.length < minChars) out += `${WORDS[Math.floor(random() * WORDS.length)]} `;
  return `${out.trimEnd()}. `;
}

/** Client ids of the authors who wrote the seed document (its struct store has one run per author). */
export const SEED_AUTHORS = 20;
const SEED_CLIENT_BASE = 1_000_000;

export interface BuiltDocument {
  /** The edits in order, each one Yjs v1 update, as a client would have sent them. */
  updates: Uint8Array[];
  text: string;
  stateVector: Uint8Array;
  /** Size of `Y.encodeStateAsUpdate` of the result: what an initial sync transfers. */
  stateBytes: number;
}

/**
 * A document of about `targetBytes`, written by {@link SEED_AUTHORS} authors in paragraph-sized
 * edits at pseudo-random places, with one small deletion in every ten edits (so the delete set is
 * not empty). Deterministic for a given seed.
 */
export function buildDocument(targetBytes: number, seed = 1): BuiltDocument {
  const random = prng(seed);
  const doc = new Y.Doc();
  const text = doc.getText(TEXT);
  const updates: Uint8Array[] = [];
  doc.on('update', (update: Uint8Array) => updates.push(update));
  let edits = 0;
  while (text.length < targetBytes) {
    doc.clientID = SEED_CLIENT_BASE + Math.floor(random() * SEED_AUTHORS);
    const length = text.length;
    if (edits % 10 === 9 && length > 100) {
      const at = Math.floor(random() * (length - 40));
      text.delete(at, 1 + Math.floor(random() * 30));
    } else {
      // Mostly appended, sometimes inserted in the middle, like a document being written.
      const at = random() < 0.7 ? length : Math.floor(random() * length);
      text.insert(at, sentence(random, 200 + Math.floor(random() * 600)));
    }
    edits++;
  }
  const result = {
    updates,
    text: text.toString(),
    stateVector: Y.encodeStateVector(doc),
    stateBytes: Y.encodeStateAsUpdate(doc).length,
  };
  doc.destroy();
  return result;
}

/**
 * `count` keystrokes into `doc` by its current client: typing at a cursor that jumps to a new
 * place every 50 keystrokes, with a backspace in every eight. Returns one update per keystroke.
 */
export function typeInto(doc: Y.Doc, count: number, random: () => number): Uint8Array[] {
  const text = doc.getText(TEXT);
  const updates: Uint8Array[] = [];
  const listener = (update: Uint8Array, origin: unknown) => {
    if (origin !== 'remote') updates.push(update);
  };
  doc.on('update', listener);
  let cursor = Math.floor(random() * text.length);
  const phrase = sentence(random, 400);
  for (let i = 0; i < count; i++) {
    if (i % 50 === 0) cursor = Math.floor(random() * text.length);
    if (i % 8 === 7 && cursor > 0) {
      cursor--;
      text.delete(cursor, 1);
    } else {
      text.insert(cursor, phrase[i % phrase.length]!);
      cursor++;
    }
  }
  doc.off('update', listener);
  return updates;
}

/** The editors' starting document: one line per editor, each editor types at the end of its own. */
export function editorLines(editors: number): { update: Uint8Array; lineEnds: number[] } {
  const doc = new Y.Doc();
  doc.clientID = SEED_CLIENT_BASE - 1;
  const content = Array.from({ length: editors }, (_, i) => `editor ${i}: \n`).join('');
  doc.getText(TEXT).insert(0, content);
  const lineEnds: number[] = [];
  for (let at = content.indexOf('\n'); at >= 0; at = content.indexOf('\n', at + 1)) {
    lineEnds.push(at);
  }
  const update = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return { update, lineEnds };
}

/**
 * The id (client, clock) of the first struct in a Yjs v1 update, read from the header without
 * decoding the rest; `null` for an update without structs. A keystroke's update has exactly one
 * struct, whose id tells who typed it and which keystroke it was.
 */
export function firstStructId(update: Uint8Array): { client: number; clock: number } | null {
  try {
    const decoder = decoding.createDecoder(update);
    const clients = decoding.readVarUint(decoder);
    if (clients === 0) return null;
    const structs = decoding.readVarUint(decoder);
    if (structs === 0) return null;
    const client = decoding.readVarUint(decoder);
    const clock = decoding.readVarUint(decoder);
    return { client, clock };
  } catch {
    return null;
  }
}
