import type { Logger } from '../observability/logger.js';
import { messageJson, participantJson, roomJson } from './json.js';
import type { SpaceMessage } from './model.js';
import { MAX_RESPONDER_REPLIES, type SpacesResponder } from './responder.js';
import type { ResolvedSpacesConfig } from './spaces-config.js';
import type { SpacesService } from './spaces-service.js';

/** Messages of context a responder gets. */
const HISTORY = 20;

export interface ResponderRun {
  service: SpacesService;
  config: ResolvedSpacesConfig;
  /** Sends a stored reply to the room. */
  deliver(reply: SpaceMessage): void;
  /** The server is stopping. */
  signal: AbortSignal;
  logger: Logger;
}

/**
 * Runs the operator's responder for one participant message, within `responderTimeoutMs`: its
 * replies are stored as `ai_response` messages and delivered; a throw, a rejection or a timeout
 * is logged and changes nothing else.
 */
export async function runResponder(
  responder: SpacesResponder,
  message: SpaceMessage,
  run: ResponderRun,
): Promise<void> {
  const { service, config, logger } = run;
  const roomId = message.roomId;
  // One controller for both ends (time up, server stopping). Not AbortSignal.any: its listener on
  // the server's long-lived signal would keep every run's signal alive.
  const done = new AbortController();
  const { signal } = done;
  const timer = setTimeout(() => done.abort(), config.responderTimeoutMs);
  const onStop = () => done.abort();
  if (run.signal.aborted) done.abort();
  else run.signal.addEventListener('abort', onStop, { once: true });
  let replies = 0;
  try {
    const { room, participants } = await service.seats.snapshot(roomId);
    const author = participants.find((p) => p.userId === message.userId);
    const page = await service.getRoomMessages(room.hostUserId, roomId, { limit: HISTORY });
    const work = responder({
      room: roomJson(room, config.joinLinkBase),
      message: messageJson(message),
      author: author ? participantJson(author, room) : null,
      history: page.messages.map(messageJson),
      signal,
      reply: async (content, metadata = {}) => {
        if (signal.aborted) throw new Error('the responder ran out of time');
        if (++replies > MAX_RESPONDER_REPLIES) {
          throw new Error(
            `a responder may reply at most ${MAX_RESPONDER_REPLIES} times per message`,
          );
        }
        const stored = await service.insertServerMessage(roomId, 'ai_response', content, metadata);
        run.deliver(stored);
        return messageJson(stored);
      },
    });
    await Promise.race([
      work,
      new Promise<void>((_, reject) => {
        if (signal.aborted) reject(new Error('responder timed out'));
        signal.addEventListener('abort', () => reject(new Error('responder timed out')), {
          once: true,
        });
      }),
    ]);
  } catch (error) {
    logger.warn({ err: error, roomId, messageId: message.id }, 'Spaces responder failed');
  } finally {
    clearTimeout(timer);
    run.signal.removeEventListener('abort', onStop);
  }
}
