import { guarded } from '../observability/guard.js';
import type { ClientSession, RoomConnection } from '../rooms/connection.js';
import type { Room } from '../rooms/room.js';
import { checkMetadataSize } from '../rooms/room-settings.js';
import { type Feature, type FeatureContext, onRoomMessage } from './feature.js';

/**
 * Presence: the `presence` list on every join, leave and status change. Broadcasts are coalesced
 * per room to one per event-loop turn (a join storm sends one list, not one per joiner) and are
 * lossy for slow consumers. A joiner gets the current list at once, before `state:init`, and is
 * left out of the broadcast that follows if that list is still current.
 */
export class PresenceFeature implements Feature {
  readonly name = 'presence';
  private readonly dirty = new Set<Room>();
  /** Joiners this turn and the presence version their snapshot had: the flush skips them if current. */
  private readonly snapshotted = new Map<Room, Map<string, number>>();
  private flushScheduled: NodeJS.Immediate | null = null;
  private readonly flushListeners: Array<(room: Room) => void> = [];

  readonly handlers = [
    onRoomMessage('presence:update', (message, session, { room, connection }) => {
      const user = connection.user;
      // Checked before anything is applied: a refused update changes nothing.
      const metadata =
        message.metadata === undefined ? undefined : this.metadataFor(session, message.metadata);
      if (message.onlineStatus !== undefined && message.onlineStatus !== session.chosenStatus) {
        // Status belongs to the connection (a tab is away in every room it is in); the other
        // fields below belong to this room only.
        session.chosenStatus = message.onlineStatus;
        if (!session.offline) {
          for (const other of session.memberships.values()) {
            if (other === connection) continue;
            other.user.onlineStatus = message.onlineStatus;
            this.changed(other.room);
          }
          user.onlineStatus = message.onlineStatus;
        }
      }
      if (message.isIdle !== undefined) user.isIdle = message.isIdle;
      if (message.location !== undefined) user.location = message.location;
      if (metadata !== undefined) user.metadata = metadata;
      if (message.avatarUrl !== undefined && session.identity.avatarUrl === undefined) {
        user.avatarUrl = message.avatarUrl;
      }
      user.lastActiveAt = Date.now();
      this.changed(room);
      return undefined;
    }),
  ];

  constructor(private readonly ctx: FeatureContext) {}

  /** Runs after each room's presence broadcast (the y-websocket bridge mirrors it into awareness). */
  onFlush(listener: (room: Room) => void): void {
    this.flushListeners.push(listener);
  }

  /**
   * Client metadata, size-capped (every member receives every user's metadata in each list), with
   * the keys `auth` supplied laid on top: a client cannot overwrite what the server vouched for.
   */
  private metadataFor(
    session: ClientSession,
    metadata: Record<string, unknown>,
  ): Record<string, unknown> {
    checkMetadataSize('presence:update', metadata, this.ctx.config.limits.maxPresenceMetadataBytes);
    const fromAuth = session.identity.metadata;
    return fromAuth ? { ...metadata, ...fromAuth } : metadata;
  }

  onJoin(room: Room, connection: RoomConnection): void {
    connection.session.send(room.presenceFrame());
    let joiners = this.snapshotted.get(room);
    if (!joiners) {
      joiners = new Map();
      this.snapshotted.set(room, joiners);
    }
    joiners.set(connection.id, room.currentPresenceVersion);
    this.schedule(room);
  }

  onLeave(room: Room): void {
    this.schedule(room);
  }

  onRoomUnload(room: Room): void {
    this.dirty.delete(room);
    this.snapshotted.delete(room);
  }

  /** A member's presence changed: invalidate the snapshot and broadcast it this turn. */
  changed(room: Room): void {
    room.presenceChanged();
    this.schedule(room);
  }

  close(): void {
    if (this.flushScheduled) clearImmediate(this.flushScheduled);
    this.flushScheduled = null;
    this.dirty.clear();
    this.snapshotted.clear();
  }

  private schedule(room: Room): void {
    this.dirty.add(room);
    this.flushScheduled ??= setImmediate(() =>
      guarded(this.ctx.logger, 'presence flush', () => this.flush()),
    );
  }

  /** Joiners whose snapshot already is the list about to be broadcast. */
  private upToDate(room: Room): string[] | undefined {
    const joiners = this.snapshotted.get(room);
    if (!joiners) return undefined;
    const version = room.currentPresenceVersion;
    const skip: string[] = [];
    for (const [id, seen] of joiners) if (seen === version) skip.push(id);
    return skip.length > 0 ? skip : undefined;
  }

  private flush(): void {
    this.flushScheduled = null;
    for (const room of this.dirty) {
      if (room.size > 0 && this.ctx.rooms.get(room.id) === room) {
        room.broadcastLossy(room.presenceFrame(), this.upToDate(room));
        for (const listener of this.flushListeners) listener(room);
      }
      // Idle rooms hold no encoded list: it is rebuilt on the next change or join.
      room.releasePresenceCache();
    }
    this.dirty.clear();
    this.snapshotted.clear();
  }
}
