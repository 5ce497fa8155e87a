import {
  encodeServerMessage,
  type PresenceDeltaServerMessage,
  type PresenceUser,
  type PresenceUserChanges,
  type RoomEventUser,
} from '@roomkit/protocol';
import type { PresenceChanges } from '../bus/messages.js';
import { guarded } from '../observability/guard.js';
import type { ClientSession, Membership } from '../rooms/connection.js';
import { textFrame } from '../rooms/frame.js';
import type { Room } from '../rooms/room.js';
import { checkMetadataSize } from '../rooms/room-settings.js';
import {
  type Feature,
  type FeatureContext,
  type MemberPayload,
  onRoomMessage,
  type RoomUnloadedPayload,
} from './feature.js';

/** The fields of a user's entry, compared to find what changed. */
const FIELDS = [
  'displayName',
  'color',
  'connectedAt',
  'onlineStatus',
  'lastActiveAt',
  'isIdle',
  'avatarUrl',
  'location',
  'metadata',
  'connections',
] as const satisfies readonly (keyof PresenceUser)[];

/** A whole list sent to joiners (shared by the joiners of one version). */
interface SentList {
  version: number;
  frame: string;
  users: PresenceUser[];
  /** The listed user ids, built when first needed. */
  ids?: Set<string>;
}

function listedIds(list: SentList): Set<string> {
  list.ids ??= new Set(list.users.map((user) => user.userId));
  return list.ids;
}

/** What changed in one room's presence since its members were last told. */
interface PresenceDiff {
  joined: PresenceUser[];
  updated: PresenceUserChanges[];
  left: string[];
}

/**
 * Presence. A member's join, leave or update is a room event every node applies to its copy of
 * the room; each node then tells its own sockets, once per flush (`presenceFlushMs`), what changed
 * for the users touched since the last flush (never the whole room, so a join costs the same in a
 * room of ten and of ten thousand):
 * - `presence:delta` (joined, left, changed fields) to connections that asked for deltas;
 * - to connections that did not (the base protocol), `room:user:joined` / `room:user:left`
 *   (reliable) when a user's first tab arrives or last one goes, and the whole `presence` list.
 * A joiner gets one `presence` snapshot: the room as the others were last told it; the turn's
 * delta, which includes the joiner itself, follows. Presence traffic is lossy for slow readers:
 * a delta connection that missed one gets the whole list at the next change instead.
 */
export class PresenceFeature implements Feature {
  readonly name = 'presence';
  private readonly dirty = new Set<Room>();
  private flushScheduled: NodeJS.Immediate | NodeJS.Timeout | null = null;
  private readonly flushListeners: Array<(room: Room) => void> = [];
  /** Each room's snapshot for delta joiners, valid until its next flush changes the view. */
  private readonly snapshots = new Map<Room, string>();
  /** Each room's current whole list for other joiners, valid while its version holds. */
  private readonly lists = new Map<Room, SentList>();
  /**
   * Joiners since the last flush that got the whole list, and that list: the flush tells them
   * only of what the list did not show, and skips them if it is still current.
   */
  private readonly listed = new Map<Room, Map<string, SentList>>();

  readonly handlers = [
    onRoomMessage('presence:update', (message, session, { connection }) => {
      // Checked before anything is applied: a refused update changes nothing.
      const metadata =
        message.metadata === undefined ? undefined : this.metadataFor(session, message.metadata);
      const now = Date.now();
      if (message.onlineStatus !== undefined && message.onlineStatus !== session.chosenStatus) {
        // Status belongs to the connection (a tab is away in every room it is in); the other
        // fields below belong to this room only.
        session.chosenStatus = message.onlineStatus;
        if (!session.offline) {
          for (const other of session.memberships.values()) {
            if (other === connection) continue;
            this.update(other, { onlineStatus: message.onlineStatus, lastActiveAt: now });
          }
        }
      }
      const changes: PresenceChanges = { lastActiveAt: now };
      if (message.onlineStatus !== undefined && !session.offline) {
        changes.onlineStatus = message.onlineStatus;
      }
      if (message.isIdle !== undefined) changes.isIdle = message.isIdle;
      if (message.location !== undefined) changes.location = message.location;
      if (metadata !== undefined) changes.metadata = metadata;
      if (message.avatarUrl !== undefined && session.identity.avatarUrl === undefined) {
        changes.avatarUrl = message.avatarUrl;
      }
      this.update(connection, changes);
      return undefined;
    }),
  ];

  constructor(private readonly ctx: FeatureContext) {
    ctx.rooms.listen({ presenceChanged: (room) => this.schedule(room) });
  }

  /** Runs after each room's presence flush (the y-websocket bridge mirrors it into awareness). */
  onFlush(listener: (room: Room) => void): void {
    this.flushListeners.push(listener);
  }

  /**
   * Changes this node's member's presence fields, on every node (applying it here updates
   * `connection.user`: the room's record of a local member is that object).
   */
  update(connection: Membership, changes: PresenceChanges): void {
    this.ctx.rooms.applyLocal(connection.room, {
      kind: 'member-updated',
      room: connection.room.id,
      connectionId: connection.id,
      changes,
    });
  }

  /**
   * Client metadata, size-capped (every member receives every user's metadata), with the keys
   * `auth` supplied laid on top: a client cannot overwrite what the server vouched for.
   */
  metadataFor(session: ClientSession, metadata: Record<string, unknown>): Record<string, unknown> {
    checkMetadataSize('presence:update', metadata, this.ctx.config.limits.maxPresenceMetadataBytes);
    const fromAuth = session.identity.metadata;
    return fromAuth ? { ...metadata, ...fromAuth } : metadata;
  }

  /**
   * The joiner's snapshot. A delta joiner gets the room as the others were last told it, plus
   * itself (the next delta, which names it too, brings everything else). Any other joiner gets
   * the current list, itself included, and is skipped by the next list if nothing changed after it.
   */
  onJoin({ room, connection }: MemberPayload): void {
    if (connection.session.presenceDeltas) {
      const { userId } = connection.user;
      if (!room.presenceView.has(userId)) {
        // Its first tab: not in the view yet, so this snapshot is its own.
        const self = room.presenceOf(userId);
        const users = [...room.presenceView.values()];
        if (self) users.push(self);
        connection.session.send(encodeServerMessage({ type: 'presence', room: room.id, users }));
        return;
      }
      let snapshot = this.snapshots.get(room);
      if (snapshot === undefined) {
        snapshot = encodeServerMessage({
          type: 'presence',
          room: room.id,
          users: [...room.presenceView.values()],
        });
        this.snapshots.set(room, snapshot);
      }
      connection.session.send(snapshot);
      return;
    }
    let list = this.lists.get(room);
    if (list?.version !== room.presenceVersion) {
      const users = room.getUsers();
      list = {
        version: room.presenceVersion,
        frame: encodeServerMessage({ type: 'presence', room: room.id, users }),
        users,
      };
      this.lists.set(room, list);
    }
    connection.session.send(list.frame);
    let joiners = this.listed.get(room);
    if (!joiners) {
      joiners = new Map();
      this.listed.set(room, joiners);
    }
    joiners.set(connection.id, list);
  }

  onRoomUnload({ room }: RoomUnloadedPayload): void {
    this.dirty.delete(room);
    this.snapshots.delete(room);
    this.lists.delete(room);
    this.listed.delete(room);
  }

  close(): void {
    // Each clear for its own kind: clearImmediate on a timer corrupts Node's immediate queue.
    const scheduled = this.flushScheduled;
    if (scheduled && this.ctx.config.presenceFlushMs > 0) clearTimeout(scheduled as NodeJS.Timeout);
    else if (scheduled) clearImmediate(scheduled as NodeJS.Immediate);
    this.flushScheduled = null;
    this.dirty.clear();
    this.snapshots.clear();
    this.lists.clear();
    this.listed.clear();
  }

  private schedule(room: Room): void {
    this.dirty.add(room);
    if (this.flushScheduled) return;
    const flush = () => guarded(this.ctx.logger, 'presence flush', () => this.flush());
    const { presenceFlushMs } = this.ctx.config;
    this.flushScheduled =
      presenceFlushMs === 0 ? setImmediate(flush) : setTimeout(flush, presenceFlushMs);
  }

  private flush(): void {
    this.flushScheduled = null;
    for (const room of this.dirty) {
      if (this.ctx.rooms.get(room.id) !== room) continue;
      const diff = diffPresence(room);
      if (diff === null) continue;
      this.snapshots.delete(room);
      this.lists.delete(room);
      if (room.localSize === 0) continue;
      this.announce(room, diff);
      this.sendChanges(room, diff);
      for (const listener of this.flushListeners) listener(room);
    }
    this.dirty.clear();
    this.listed.clear();
  }

  /**
   * `room:user:joined` / `room:user:left` to this node's members that do not take deltas (a
   * delta names who joined and left already). A user's own tabs are not told of its arrival, and
   * a joiner since the last flush only of what its list did not show.
   */
  private announce(room: Room, diff: PresenceDiff): void {
    const timestamp = Date.now();
    const events: Array<{ frame: Buffer; userId: string; joined: boolean }> = [];
    for (const entry of diff.joined) {
      const { userId, displayName, color, avatarUrl } = entry;
      const user: RoomEventUser = { userId, displayName, color };
      if (avatarUrl !== undefined) user.avatarUrl = avatarUrl;
      const payload = { userId, user };
      const message = encodeServerMessage({
        type: 'room:user:joined',
        room: room.id,
        payload,
        timestamp,
      });
      events.push({ frame: textFrame(message), userId, joined: true });
    }
    for (const userId of diff.left) {
      const message = encodeServerMessage({
        type: 'room:user:left',
        room: room.id,
        payload: userId,
        timestamp,
      });
      events.push({ frame: textFrame(message), userId, joined: false });
    }
    const joiners = this.listed.get(room);
    for (const connection of room.connections.values()) {
      const { session } = connection;
      if (session.wire !== 'roomkit' || session.presenceDeltas) continue;
      const list = joiners?.get(connection.id);
      const shown = list === undefined ? null : listedIds(list);
      for (const { frame, userId, joined } of events) {
        if (
          joined
            ? userId === connection.user.userId || shown?.has(userId)
            : shown?.has(userId) === false
        ) {
          continue;
        }
        session.writeFrames(frame, false);
      }
    }
  }

  /** The delta to connections that take deltas, the whole list to the others. */
  private sendChanges(room: Room, diff: PresenceDiff): void {
    let delta: Buffer | null = null;
    let full: Buffer | null = null;
    const joiners = this.listed.get(room);
    for (const connection of room.connections.values()) {
      const { session } = connection;
      if (session.wire !== 'roomkit') continue;
      // A joiner whose list is still the current one has it already.
      if (joiners?.get(connection.id)?.version === room.presenceVersion) continue;
      if (session.presenceDeltas && !connection.presenceStale) {
        delta ??= textFrame(encodeServerMessage(deltaMessage(room.id, diff)));
        if (!session.writeFrames(delta, true)) connection.presenceStale = true;
        continue;
      }
      full ??= textFrame(
        encodeServerMessage({
          type: 'presence',
          room: room.id,
          users: [...room.presenceView.values()],
        }),
      );
      if (session.writeFrames(full, true)) connection.presenceStale = false;
    }
  }
}

/**
 * Brings the room's `presenceView` up to date with its members for the users touched since the
 * last flush, and answers what changed (null: nothing). Costs O(users touched), not O(room).
 */
function diffPresence(room: Room): PresenceDiff | null {
  const diff: PresenceDiff = { joined: [], updated: [], left: [] };
  for (const userId of room.dirtyUsers) {
    const current = room.presenceOf(userId);
    const previous = room.presenceView.get(userId);
    if (current === undefined) {
      if (previous !== undefined) {
        room.presenceView.delete(userId);
        diff.left.push(userId);
      }
    } else if (previous === undefined) {
      room.presenceView.set(userId, current);
      diff.joined.push(current);
    } else {
      const changes = changedFields(previous, current);
      room.presenceView.set(userId, current);
      if (changes) diff.updated.push(changes);
    }
  }
  room.dirtyUsers.clear();
  return diff.joined.length + diff.updated.length + diff.left.length > 0 ? diff : null;
}

function changedFields(previous: PresenceUser, current: PresenceUser): PresenceUserChanges | null {
  let changes: PresenceUserChanges | null = null;
  for (const field of FIELDS) {
    const before = previous[field];
    const after = current[field];
    // Metadata is replaced whole on update, so a new object means a change.
    if (before === after) continue;
    changes ??= { userId: current.userId };
    (changes as Record<string, unknown>)[field] = after === undefined ? null : after;
  }
  return changes;
}

function deltaMessage(room: string, diff: PresenceDiff): PresenceDeltaServerMessage {
  const message: PresenceDeltaServerMessage = { type: 'presence:delta', room };
  if (diff.joined.length > 0) message.joined = diff.joined;
  if (diff.updated.length > 0) message.updated = diff.updated;
  if (diff.left.length > 0) message.left = diff.left;
  return message;
}
