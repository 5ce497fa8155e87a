import type { Membership } from './connection.js';

/**
 * A session's memberships by room id. Nearly every connection is in one room, so the first is
 * held in two fields and a Map is made only for a second: a Map per idle connection would be
 * most of what Roomkit adds to a socket's memory.
 */
export class Memberships {
  private firstId: string | null = null;
  private first: Membership | null = null;
  private map: Map<string, Membership> | null = null;

  get size(): number {
    return this.map !== null ? this.map.size : this.first === null ? 0 : 1;
  }

  get(roomId: string): Membership | undefined {
    if (this.map !== null) return this.map.get(roomId);
    return roomId === this.firstId ? (this.first ?? undefined) : undefined;
  }

  has(roomId: string): boolean {
    return this.get(roomId) !== undefined;
  }

  set(roomId: string, connection: Membership): void {
    if (this.map !== null) {
      this.map.set(roomId, connection);
    } else if (this.first === null || this.firstId === roomId) {
      this.firstId = roomId;
      this.first = connection;
    } else {
      this.map = new Map([[this.firstId as string, this.first]]);
      this.map.set(roomId, connection);
      this.firstId = null;
      this.first = null;
    }
  }

  delete(roomId: string): boolean {
    if (this.map !== null) return this.map.delete(roomId);
    if (roomId !== this.firstId || this.first === null) return false;
    this.firstId = null;
    this.first = null;
    return true;
  }

  /** The room ids, in joining order (a copy: safe to leave rooms while going through it). */
  keys(): string[] {
    if (this.map !== null) return [...this.map.keys()];
    return this.firstId === null ? [] : [this.firstId];
  }

  /** The memberships, in joining order (a copy). */
  values(): Membership[] {
    if (this.map !== null) return [...this.map.values()];
    return this.first === null ? [] : [this.first];
  }
}
