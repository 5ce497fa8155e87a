/**
 * Who this browser tab is and where the server is, for the examples:
 * - `?server=ws://host:port/rooms`, else the Roomkit server on this page's host, port 1234
 *   (what `npm start` runs);
 * - `?user=alice` (and optionally `?name=Alice`), else a generated guest kept in sessionStorage,
 *   so a reload is the same user (and must not show up twice) while another tab is someone new;
 * - `?room=name`, else the example's default room.
 */
// A type, not an interface: it must fit the client's `User` (which has an index signature).
export type ExampleUser = {
  id: string;
  name: string;
  color: string;
};

export interface ExampleSession {
  serverUrl: string;
  room: string;
  user: ExampleUser;
}

const COLORS = [
  '#e53935',
  '#8e24aa',
  '#3949ab',
  '#039be5',
  '#00897b',
  '#7cb342',
  '#fb8c00',
  '#6d4c41',
];
const ADJECTIVES = ['Amber', 'Brisk', 'Calm', 'Dapper', 'Eager', 'Fuzzy', 'Gentle', 'Jolly'];
const ANIMALS = ['Otter', 'Heron', 'Lynx', 'Panda', 'Fox', 'Koala', 'Finch', 'Badger'];
const STORAGE_KEY = 'roomkit-example-user';

/** A random integer below `n`. `crypto.getRandomValues` works on plain-http LAN addresses too. */
function randomBelow(n: number): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]! % n;
}

function pick<T>(list: readonly T[]): T {
  return list[randomBelow(list.length)]!;
}

export function randomColor(): string {
  return pick(COLORS);
}

function isExampleUser(value: unknown): value is ExampleUser {
  const user = value as ExampleUser | null;
  return (
    typeof user?.id === 'string' && typeof user.name === 'string' && typeof user.color === 'string'
  );
}

function guestUser(): ExampleUser {
  try {
    const stored: unknown = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null');
    if (isExampleUser(stored)) return stored;
  } catch {
    // unreadable: make a new one
  }
  const suffix = randomBelow(0x10000).toString(16).padStart(4, '0');
  const user = {
    id: `guest-${suffix}`,
    name: `${pick(ADJECTIVES)} ${pick(ANIMALS)}`,
    color: randomColor(),
  };
  try {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(user));
  } catch {
    // storage disabled: a reload is a new guest, which is still correct
  }
  return user;
}

/** A stable color for a named user, so `?user=alice` looks the same in every tab. */
function colorFor(id: string): string {
  let hash = 0;
  for (const char of id) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return COLORS[hash % COLORS.length]!;
}

export function exampleSession(defaultRoom: string): ExampleSession {
  const query = new URLSearchParams(location.search);
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const serverUrl = query.get('server') ?? `${scheme}://${location.hostname}:1234/rooms`;
  const id = query.get('user');
  const user = id ? { id, name: query.get('name') ?? id, color: colorFor(id) } : guestUser();
  return { serverUrl, room: query.get('room') ?? defaultRoom, user };
}
