import type { SpacesMessage, SpacesParticipant, SpacesRoom } from '@roomkit/protocol';

/** What a responder gets for each new participant message (`user_text` or `user_voice`). */
export interface SpacesResponderContext {
  /** The room as it is now (state, mode, host). */
  room: SpacesRoom;
  /** The message just stored and sent to the room. */
  message: SpacesMessage;
  /** Who sent it (null if the seat is already gone). */
  author: SpacesParticipant | null;
  /** The room's latest messages, oldest first, ending with `message` (at most 20). */
  history: SpacesMessage[];
  /**
   * Posts an `ai_response` message to the room: stored, then sent to every member as
   * `room:message-received`. At most `MAX_RESPONDER_REPLIES` per message; rejects once the
   * responder's time is up.
   */
  reply(content: string, metadata?: Record<string, unknown>): Promise<SpacesMessage>;
  /** Aborted when the responder's time (`spaces.responderTimeoutMs`) is up or the server stops. */
  signal: AbortSignal;
}

/**
 * The server operator's hook for `ai_response` messages: called after each participant message
 * is stored and delivered, never for `system` or `ai_response` messages (no loops). A throw or a
 * rejection is logged; the room is unaffected.
 */
export type SpacesResponder = (context: SpacesResponderContext) => void | Promise<void>;

/** Replies one responder may post for one message. */
export const MAX_RESPONDER_REPLIES = 5;

export interface ExampleResponderOptions {
  /** The word that wakes the responder, case-insensitive. Default `@bot`. */
  trigger?: string;
  /** Shown in `metadata.responder` of its replies. Default `example`. */
  name?: string;
}

const COMMANDS = 'help, mode, count, who, reverse <text>';

/**
 * A small responder that needs no network: it answers messages that start with its trigger
 * (`@bot help`, `@bot mode`, `@bot count`, `@bot who`, `@bot reverse hello`). A model to copy
 * for a responder that calls a real AI service.
 */
export function createExampleResponder(options: ExampleResponderOptions = {}): SpacesResponder {
  const trigger = (options.trigger ?? '@bot').toLowerCase();
  const name = options.name ?? 'example';
  return async ({ message, room, author, history, reply }) => {
    const text = message.content.trim();
    if (!text.toLowerCase().startsWith(trigger)) return;
    const [command = 'help', ...rest] = text.slice(trigger.length).trim().split(/\s+/);
    const metadata = { responder: name, inReplyTo: message.id };
    switch (command.toLowerCase()) {
      case 'mode':
        await reply(`This room is in "${room.currentMode}" mode.`, metadata);
        return;
      case 'count':
        await reply(`I can see ${history.length} recent messages in ${room.name}.`, metadata);
        return;
      case 'who':
        await reply(
          `${room.participantCount ?? 0} of ${room.maxParticipants} seats are taken.`,
          metadata,
        );
        return;
      case 'reverse':
        await reply([...rest.join(' ')].reverse().join('') || '(nothing to reverse)', metadata);
        return;
      default:
        await reply(
          `Hi ${author?.displayName ?? 'there'}! Commands: ${trigger} ${COMMANDS}.`,
          metadata,
        );
    }
  };
}
