import { isValidRoomId, UpgradeErrorCode } from '@roomkit/protocol';
import type { Wire } from '../rooms/connection.js';

export type UpgradeTarget =
  | { ok: true; roomId: string | null; query: URLSearchParams; wire: Wire }
  | { ok: false; status: 400 | 404; code: UpgradeErrorCode; reason: string };

/** Why a room id was refused (upgrades and the HTTP API say the same). */
export const ROOM_ID_RULE =
  'invalid room id: 1-128 characters of A-Z a-z 0-9 _ . : @ ~ -, starting with a letter or digit';

function refused(status: 400 | 404, code: UpgradeErrorCode, reason: string): UpgradeTarget {
  return { ok: false, status, code, reason };
}

/** The room id after `{base}/`, or null if the path is not under `base`. */
function roomSegment(pathname: string, base: string): string | null {
  const prefix = base === '/' ? '/' : `${base}/`;
  const encoded = pathname.startsWith(prefix) ? pathname.slice(prefix.length) : null;
  return encoded === null || encoded.includes('/') ? null : encoded;
}

/**
 * Parses an upgrade URL against the configured paths: `{path}` (no room: join by message),
 * `{path}/{roomId}`, or `{yjsPath}/{roomId}` (a y-websocket provider). Pure parsing; no auth, no
 * room state.
 */
export function parseUpgradeTarget(
  rawUrl: string | undefined,
  basePath: string,
  yjsPath: string | null = null,
): UpgradeTarget {
  let url: URL;
  try {
    url = new URL(rawUrl ?? '/', 'http://localhost');
  } catch {
    return refused(400, UpgradeErrorCode.BadRequest, 'malformed request URL');
  }
  const pathname = url.pathname.replace(/\/+$/, '') || '/';
  const query = url.searchParams;
  if (pathname === basePath) return { ok: true, roomId: null, query, wire: 'roomkit' };
  // The more specific prefix wins when one path lies under the other.
  const yjsFirst = yjsPath !== null && yjsPath.length > basePath.length;
  const yjsRoom = yjsPath === null ? null : roomSegment(pathname, yjsPath);
  const room = roomSegment(pathname, basePath);
  let encoded: string;
  let wire: Wire;
  if (yjsRoom !== null && (yjsFirst || room === null)) {
    encoded = yjsRoom;
    wire = 'y-websocket';
  } else if (room !== null) {
    encoded = room;
    wire = 'roomkit';
  } else {
    return refused(404, UpgradeErrorCode.NotFound, `no WebSocket endpoint at ${pathname}`);
  }
  let roomId: string;
  try {
    roomId = decodeURIComponent(encoded);
  } catch {
    return refused(400, UpgradeErrorCode.InvalidRoomId, 'room id is not valid percent-encoding');
  }
  if (!isValidRoomId(roomId)) return refused(400, UpgradeErrorCode.InvalidRoomId, ROOM_ID_RULE);
  return { ok: true, roomId, query, wire };
}

/** Allow-list check. Requests without an Origin header (non-browser clients) are allowed. */
export function isOriginAllowed(
  origin: string | undefined,
  allowed: ReadonlySet<string> | null,
): boolean {
  if (allowed === null || origin === undefined) return true;
  return allowed.has('*') || allowed.has(origin.toLowerCase());
}
