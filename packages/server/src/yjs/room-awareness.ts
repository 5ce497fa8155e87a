import type { PresenceUser } from '@roomkit/protocol';
import type { ClientSession } from '../rooms/connection.js';
import type { Room } from '../rooms/room.js';
import type { AwarenessClient, AwarenessEntry } from './y-websocket-protocol.js';

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

/** A client of another node's connection, as this node last heard of it. */
interface OtherNodesClient {
  clock: number;
  /** False once it was removed (kept a while, so a late echo of its state is known as one). */
  present: boolean;
  seenAt: number;
}

/**
 * How long an awareness client of another node is remembered without news of it: twice the 30 s
 * after which awareness clients drop a state that was not renewed (one of a node that crashed
 * without removing its clients can then be taken by a peer here).
 */
const OTHER_NODES_CLIENT_TTL_MS = 60_000;

/**
 * A room's awareness as its y-websocket peers see it, this node's part: its peers' own states
 * (kept so a newcomer gets them all at once) and one mirrored entry per Roomkit connection here,
 * built from its presence. Other nodes hold theirs; this node remembers which clients are theirs.
 */
export class RoomAwareness {
  /** y-websocket connections in the room on this node. */
  peerCount = 0;
  /**
   * Another node has y-websocket peers in the room (or serves them): this node's part is wanted
   * there even while it has no peer of its own.
   */
  shared = false;
  /** States y-websocket peers announced, by client id, with the session that owns each. */
  private readonly peers = new Map<number, AwarenessEntry & { session: ClientSession }>();
  /** How many client ids each peer session announced (bounded by `maxClientsPerPeer`). */
  private readonly owned = new Map<ClientSession, number>();
  /** Roomkit members mirrored into awareness, by connection id. */
  private readonly mirrored = new Map<string, Mirrored>();
  /** Their client ids. */
  private readonly mirroredIds = new Set<number>();
  /** Clients of other nodes' connections (their peers and mirrored members), by client id. */
  private readonly otherNodes = new Map<number, OtherNodesClient>();

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
   * Other nodes' clients are not the peer's either (their echoes come back too), unless the
   * client was removed there and comes back here (a provider reconnecting to another node sends
   * its state at the clock it had, the removal's; an older one is a late echo).
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
      const elsewhere = this.otherNodes.get(entry.clientId);
      if (elsewhere && (elsewhere.present || entry.clock < elsewhere.clock)) continue;
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
      if (elsewhere) this.otherNodes.delete(entry.clientId);
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

  /** Records what another node said about its clients (an awareness update it sent). */
  noteOtherNodes(clients: readonly AwarenessClient[], now: number): void {
    for (const { clientId, clock, removed } of clients) {
      const known = this.otherNodes.get(clientId);
      if (known && clock < known.clock) continue;
      this.otherNodes.set(clientId, { clock, present: !removed, seenAt: now });
    }
  }

  /** Forgets other nodes' clients not heard of for a while (see `OTHER_NODES_CLIENT_TTL_MS`). */
  pruneOtherNodes(now: number): void {
    for (const [clientId, client] of this.otherNodes) {
      if (now - client.seenAt > OTHER_NODES_CLIENT_TTL_MS) this.otherNodes.delete(clientId);
    }
  }

  /** Every state of this node's connections: what a y-websocket peer gets when it arrives. */
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
