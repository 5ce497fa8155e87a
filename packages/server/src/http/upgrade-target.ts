import { isValidRoomId, UpgradeErrorCode } from '@roomkit/protocol';

export type UpgradeTarget =
  | { ok: true; roomId: string | null; query: URLSearchParams }
  | { ok: false; status: 400 | 404; code: UpgradeErrorCode; reason: string };

const ROOM_ID_RULE =
  'invalid room id: 1-128 characters of A-Z a-z 0-9 _ . : @ ~ -, starting with a letter or digit';

function refused(status: 400 | 404, code: UpgradeErrorCode, reason: string): UpgradeTarget {
  return { ok: false, status, code, reason };
}

/**
 * Parses an upgrade URL against the configured path: `{path}` (no room: join by message) or
 * `{path}/{roomId}`. Pure parsing; no auth, no room state.
 */
export function parseUpgradeTarget(rawUrl: string | undefined, basePath: string): UpgradeTarget {
  let url: URL;
  try {
    url = new URL(rawUrl ?? '/', 'http://localhost');
  } catch {
    return refused(400, UpgradeErrorCode.BadRequest, 'malformed request URL');
  }
  const pathname = url.pathname.replace(/\/+$/, '') || '/';
  if (pathname === basePath) return { ok: true, roomId: null, query: url.searchParams };
  const prefix = basePath === '/' ? '/' : `${basePath}/`;
  const encoded = pathname.startsWith(prefix) ? pathname.slice(prefix.length) : null;
  if (encoded === null || encoded.includes('/')) {
    return refused(404, UpgradeErrorCode.NotFound, `no WebSocket endpoint at ${pathname}`);
  }
  let roomId: string;
  try {
    roomId = decodeURIComponent(encoded);
  } catch {
    return refused(400, UpgradeErrorCode.InvalidRoomId, 'room id is not valid percent-encoding');
  }
  if (!isValidRoomId(roomId)) return refused(400, UpgradeErrorCode.InvalidRoomId, ROOM_ID_RULE);
  return { ok: true, roomId, query: url.searchParams };
}

/** Allow-list check. Requests without an Origin header (non-browser clients) are allowed. */
export function isOriginAllowed(
  origin: string | undefined,
  allowed: ReadonlySet<string> | null,
): boolean {
  if (allowed === null || origin === undefined) return true;
  return allowed.has('*') || allowed.has(origin.toLowerCase());
}
