import { isValidRoomId } from '@roomkit/protocol';

export type UpgradeTarget =
  | { ok: true; roomId: string | null; query: URLSearchParams }
  | { ok: false; status: 400 | 404; reason: string };

/**
 * Parses an upgrade URL against the configured path: `{path}` (no room: join by message) or
 * `{path}/{roomId}`. Pure parsing; no auth, no room state.
 */
export function parseUpgradeTarget(rawUrl: string | undefined, basePath: string): UpgradeTarget {
  let url: URL;
  try {
    url = new URL(rawUrl ?? '/', 'http://localhost');
  } catch {
    return { ok: false, status: 400, reason: 'malformed request URL' };
  }
  const pathname = url.pathname.replace(/\/+$/, '') || '/';
  if (pathname === basePath) return { ok: true, roomId: null, query: url.searchParams };
  const prefix = basePath === '/' ? '/' : `${basePath}/`;
  if (!pathname.startsWith(prefix))
    return { ok: false, status: 404, reason: `no WebSocket endpoint at ${pathname}` };
  const encoded = pathname.slice(prefix.length);
  if (encoded.includes('/'))
    return { ok: false, status: 404, reason: `no WebSocket endpoint at ${pathname}` };
  let roomId: string;
  try {
    roomId = decodeURIComponent(encoded);
  } catch {
    return { ok: false, status: 400, reason: 'room id is not valid percent-encoding' };
  }
  if (!isValidRoomId(roomId)) {
    return {
      ok: false,
      status: 400,
      reason:
        'invalid room id: 1-128 characters of A-Z a-z 0-9 _ . : @ ~ -, starting with a letter or digit',
    };
  }
  return { ok: true, roomId, query: url.searchParams };
}

/** Allow-list check. Requests without an Origin header (non-browser clients) are allowed. */
export function isOriginAllowed(
  origin: string | undefined,
  allowed: ReadonlySet<string> | null,
): boolean {
  if (allowed === null || origin === undefined) return true;
  return allowed.has('*') || allowed.has(origin);
}
