/** The `ref` of the client's heartbeats: the server's ack to one is not the app's business. */
export const HEARTBEAT_REF = 'hb';
/** Shortest heartbeat interval, whatever the server asks: no busy loop of heartbeats. */
const MIN_HEARTBEAT_MS = 10;

export interface Heartbeat {
  /** A frame arrived since the last tick: set by the client on every frame. */
  heard: boolean;
  readonly timer: ReturnType<typeof setInterval>;
}

/**
 * Calls `beat` (send `heartbeat`) every interval; the server acks each one. A connection that stays
 * silent for two whole intervals after a heartbeat, and at least a second, is dead (a half-open TCP
 * connection, a server that froze): `dead` is called instead, to replace it. Counting silent ticks
 * rather than comparing clocks keeps a browser's throttled timers in a background tab from dropping
 * a healthy connection; the second's floor keeps a very short interval from failing on a busy
 * event loop. Stop it with `clearInterval(heartbeat.timer)`.
 */
export function startHeartbeat(requestedMs: number, beat: () => void, dead: () => void): Heartbeat {
  const intervalMs = Math.max(MIN_HEARTBEAT_MS, requestedMs);
  const deadAfterTicks = Math.max(2, Math.ceil(1000 / intervalMs));
  let silentTicks = 0;
  const heartbeat: Heartbeat = {
    heard: true,
    timer: setInterval(() => {
      silentTicks = heartbeat.heard ? 0 : silentTicks + 1;
      heartbeat.heard = false;
      if (silentTicks >= deadAfterTicks) dead();
      else beat();
    }, intervalMs),
  };
  return heartbeat;
}
