import type { PresenceUser } from '@roomkit/protocol';
import type { ClientSession } from '../rooms/connection.js';
import type { Room } from '../rooms/room.js';
import type { AwarenessEntry } from './y-websocket-protocol.js';

/** A 32-bit client id for a Roomkit connection's awareness entry (FNV-1a of its id). */
function clientIdFor(connectionId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < connectionId.length; i++) {
    hash ^= connectionId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** How a Roomkit member appears in y-websocket awareness (`user` is what editors display). */
function awarenessStateOf(user: PresenceUser): unknown {
  return {
    user: { name: user.displayName, color: user.color, id: user.userId },
    presence: {
      onlineStatus: user.onlineStatus,
      isIdle: user.isIdle,
      location: user.location ?? null,
      metadata: user.metadata ?? null,
    },
  };
}

/** What one y-websocket peer may hold in a room's awareness. */
export interface AwarenessLimits {
  /** Client ids one peer may announce. */
  maxClientsPerPeer: number;
}

interface Mirrored {
  clientId: number;
  clock: number;
  json: string;
}

/**
 * A room's awareness as its y-websocket peers see it: the peers' own states (kept so a newcomer
 * gets them all at once) and one mirrored entry per Roomkit connection, built from its presence.
 */
export class RoomAwareness {
  /** y-websocket connections in the room; the feature drops this object when it reaches 0. */
  peerCount = 0;
  /** States y-websocket peers announced, by client id, with the session that owns each. */
  private readonly peers = new Map<number, AwarenessEntry & { session: ClientSession }>();
  /** How many client ids each peer session announced (bounded by `maxClientsPerPeer`). */
  private readonly owned = new Map<ClientSession, number>();
  /** Roomkit members mirrored into awareness, by connection id. */
  private readonly mirrored = new Map<string, Mirrored>();
  /** Their client ids. */
  private readonly mirroredIds = new Set<number>();

  /**
   * `nextClock` numbers the mirrored entries. It must never go back, not even across instances
   * for the same room: a provider remembers the clock of every client it saw (also after it
   * dropped the state on a disconnect) and ignores a state with a clock not above it, so clocks
   * restarting at 1 would hide the members from a provider that reconnected.
   */
  constructor(private readonly nextClock: () => number) {}

  /**
   * Records a peer's entries (states of other sessions' clients are not its to change).
   * Returns the entries that were accepted, in the order given. The mirrored members' entries
   * are the server's: a stock provider sends back every awareness change it applies, theirs
   * too, and such an echo must not make one the peer's (to be removed when that peer leaves).
   * The states were checked when decoded (size, depth, forbidden keys: `decodeAwarenessUpdate`).
   */
  applyFromPeer(
    session: ClientSession,
    entries: readonly AwarenessEntry[],
    limits: AwarenessLimits,
  ): AwarenessEntry[] {
    const accepted: AwarenessEntry[] = [];
    for (const entry of entries) {
      if (this.mirroredIds.has(entry.clientId)) continue;
      const known = this.peers.get(entry.clientId);
      if (known && known.session !== session) continue;
      if (known && entry.clock < known.clock) continue;
      if (entry.state === null) {
        if (known) this.release(session);
        this.peers.delete(entry.clientId);
      } else {
        // A provider announces one client; a few are tolerated, not a map's worth.
        if (!known) {
          const owned = this.owned.get(session) ?? 0;
          if (owned >= limits.maxClientsPerPeer) continue;
          this.owned.set(session, owned + 1);
        }
        this.peers.set(entry.clientId, { ...entry, session });
      }
      accepted.push(entry);
    }
    return accepted;
  }

  private release(session: ClientSession): void {
    const owned = (this.owned.get(session) ?? 1) - 1;
    if (owned <= 0) this.owned.delete(session);
    else this.owned.set(session, owned);
  }

  /** The session's latest awareness state (its first client's), or undefined if it has none. */
  stateOf(session: ClientSession): unknown {
    for (const entry of this.peers.values()) if (entry.session === session) return entry.state;
    return undefined;
  }

  /**
   * Removes a departed peer's clients; returns their removal entries for the others. A removal
   * keeps the client's clock (awareness applies a null state at an equal clock), as the
   * reference server's does: a higher one would make the others ignore the client's next state
   * when it reconnects, its clock going on from where it was.
   */
  removePeer(session: ClientSession): AwarenessEntry[] {
    this.owned.delete(session);
    const removed: AwarenessEntry[] = [];
    for (const [clientId, entry] of this.peers) {
      if (entry.session !== session) continue;
      this.peers.delete(clientId);
      removed.push({ clientId, clock: entry.clock, state: null });
    }
    return removed;
  }

  /**
   * Brings the mirrored entries up to date with the room's Roomkit members; returns the entries
   * that changed (new, changed, or null for members who left). `renew` re-sends every entry with
   * a new clock, as awareness clients drop states not renewed within 30 s.
   */
  syncMirror(room: Room, renew = false): AwarenessEntry[] {
    const changed: AwarenessEntry[] = [];
    const present = new Set<string>();
    for (const connection of room.connections.values()) {
      if (connection.session.wire !== 'roomkit') continue;
      present.add(connection.id);
      const state = awarenessStateOf(connection.user);
      const json = JSON.stringify(state);
      let mirror = this.mirrored.get(connection.id);
      if (!mirror) {
        mirror = { clientId: clientIdFor(connection.id), clock: 0, json: '' };
        this.mirrored.set(connection.id, mirror);
        this.mirroredIds.add(mirror.clientId);
      }
      if (mirror.json === json && !renew) continue;
      mirror.clock = this.nextClock();
      mirror.json = json;
      changed.push({ clientId: mirror.clientId, clock: mirror.clock, state });
    }
    for (const [connectionId, mirror] of this.mirrored) {
      if (present.has(connectionId)) continue;
      this.mirrored.delete(connectionId);
      this.mirroredIds.delete(mirror.clientId);
      changed.push({ clientId: mirror.clientId, clock: this.nextClock(), state: null });
    }
    return changed;
  }

  /** Every current state: what a y-websocket peer gets when it arrives. */
  snapshot(): AwarenessEntry[] {
    const entries: AwarenessEntry[] = [];
    for (const [clientId, entry] of this.peers) {
      entries.push({ clientId, clock: entry.clock, state: entry.state });
    }
    for (const mirror of this.mirrored.values()) {
      entries.push({
        clientId: mirror.clientId,
        clock: mirror.clock,
        state: JSON.parse(mirror.json),
      });
    }
    return entries;
  }
}
