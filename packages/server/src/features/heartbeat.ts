import { guarded } from '../observability/guard.js';
import type { ClientSession } from '../rooms/connection.js';
import { type Feature, type FeatureContext, onSessionMessage } from './feature.js';
import type { PresenceFeature } from './presence.js';

/**
 * Heartbeat: a connection silent for `timeoutMs` shows as offline (the socket stays open) and is
 * back online on its next heartbeat. Each check also pings the socket; one that answers neither
 * messages nor pings for `timeoutMs` is dead and gets terminated, so presence never sticks.
 */
export class HeartbeatFeature implements Feature {
  readonly name = 'heartbeat';
  private readonly timer: NodeJS.Timeout;

  readonly handlers = [
    onSessionMessage('heartbeat', (_message, session) => {
      const now = Date.now();
      session.lastHeartbeat = now;
      const wasOffline = session.offline;
      session.offline = false;
      for (const connection of session.memberships.values()) {
        if (wasOffline) {
          this.presence.update(connection, {
            onlineStatus: session.chosenStatus,
            lastActiveAt: now,
          });
        } else {
          // Fresher lastActiveAt for the next change that is sent, without an event per heartbeat.
          connection.user.lastActiveAt = now;
        }
      }
      return undefined;
    }),
  ];

  constructor(
    private readonly ctx: FeatureContext,
    private readonly presence: PresenceFeature,
    private readonly sessions: () => Iterable<ClientSession>,
  ) {
    this.timer = setInterval(
      () => guarded(ctx.logger, 'heartbeat check', () => this.check()),
      ctx.config.heartbeat.checkIntervalMs,
    );
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** One pass over every connection; public so tests and embedders can run it on demand. */
  check(now = Date.now()): void {
    const { timeoutMs } = this.ctx.config.heartbeat;
    for (const session of this.sessions()) {
      if (session.isClosing) continue;
      if (now - session.lastSeen > timeoutMs) {
        session.ws.terminate();
        continue;
      }
      // y-websocket peers have no heartbeat message: any traffic or pong shows they are there.
      const heard = session.wire === 'roomkit' ? session.lastHeartbeat : session.lastSeen;
      if (!session.offline && now - heard > timeoutMs) {
        session.offline = true;
        for (const connection of session.memberships.values()) {
          this.presence.update(connection, { onlineStatus: 'offline' });
        }
      }
      session.ws.ping();
    }
  }
}
