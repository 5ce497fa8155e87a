import {
  type AppMessage,
  clientMessageSchemas,
  ErrorCode,
  encodeServerMessage,
  MESSAGE_TYPE_PATTERN,
  SERVER_ONLY_TYPES,
} from '@roomkit/protocol';
import type { TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { SERVER_SENDER } from '../features/broadcast.js';
import type {
  AuthenticatePayload,
  Feature,
  FeatureContext,
  HandlerOutcome,
  HandlerReply,
  MemberPayload,
  MessageHandler,
  RoomTarget,
  RoomUnloadedPayload,
  SessionPayload,
} from '../features/feature.js';
import { ProtocolError } from '../features/feature.js';
import { writeState } from '../features/live-state.js';
import { runHook } from '../hooks.js';
import type { ClientSession, Membership } from '../rooms/connection.js';
import type { Room } from '../rooms/room.js';
import {
  type Extension,
  type ExtensionConnection,
  ExtensionError,
  type ExtensionMessage,
  type ExtensionReply,
  type ExtensionRoom,
  type ExtensionRoomState,
} from './extension.js';

const connectionViews = new WeakMap<ClientSession, ExtensionConnection>();
const roomViews = new WeakMap<Room, ExtensionRoom>();

/** The extensions' view of a session (one object per session). */
export function connectionView(session: ClientSession): ExtensionConnection {
  let view = connectionViews.get(session);
  if (!view) {
    const { identity } = session;
    view = {
      id: session.id,
      userId: identity.userId,
      displayName: identity.displayName,
      send: (message) => session.send(encodeServerMessage(checkedMessage('send', message))),
    };
    connectionViews.set(session, view);
  }
  return view;
}

/** The extensions' view of a room (one object per room copy). */
export function roomView(room: Room, ctx: FeatureContext): ExtensionRoom {
  let view = roomViews.get(room);
  if (!view) {
    const state: ExtensionRoomState = {
      get: (key) => room.liveState.get(key)?.value,
      entries: () =>
        Object.entries(room.liveState.snapshot()).map(([key, entry]) => [key, entry.value]),
      set: (key, value) => {
        try {
          writeState(ctx, room, key, value, SERVER_SENDER);
        } catch (error) {
          if (error instanceof ProtocolError) {
            throw new TypeError(`room.state.set: ${error.message}`);
          }
          throw error;
        }
      },
    };
    view = {
      id: room.id,
      get size() {
        return room.size;
      },
      broadcast: (message, except) => {
        const encoded = encodeServerMessage({
          ...checkedMessage('broadcast', message),
          room: room.id,
        });
        room.broadcast(encoded, except === undefined ? undefined : [except]);
      },
      state,
    };
    roomViews.set(room, view);
  }
  return view;
}

function checkedMessage<M extends { type: string }>(what: string, message: M): M {
  if (typeof message?.type !== 'string' || !MESSAGE_TYPE_PATTERN.test(message.type)) {
    throw new TypeError(
      `extension ${what}: the message needs a "type" of 1-64 printable characters`,
    );
  }
  return message;
}

/** Throws a `TypeError` for a type an extension may not take (built in, reserved, malformed). */
function checkType(extension: string, type: string): void {
  const why = !MESSAGE_TYPE_PATTERN.test(type)
    ? 'must be 1-64 printable characters without spaces'
    : type in clientMessageSchemas || SERVER_ONLY_TYPES.has(type)
      ? 'is a built-in message type'
      : type.startsWith('room:')
        ? 'starts with "room:", which is reserved for the room protocol'
        : null;
  if (why !== null) throw new TypeError(`extension "${extension}": message type "${type}" ${why}`);
}

/** An extension's refusal as the sender sees it; anything else thrown is the server's failure. */
function refusal(error: unknown, fallback: ErrorCode | null): unknown {
  if (error instanceof ExtensionError) {
    return new ProtocolError(error.code as ErrorCode, error.message);
  }
  if (fallback !== null && !(error instanceof ProtocolError)) {
    return new ProtocolError(fallback, 'refused by the server');
  }
  return error;
}

/**
 * Runs one public `Extension` as a server feature: its message types become handlers (payload
 * validated against its schema first), its hooks are called with payload objects.
 */
export class ExtensionFeature implements Feature {
  readonly name: string;
  readonly handlers: readonly MessageHandler[];

  constructor(
    private readonly extension: Extension,
    private readonly ctx: FeatureContext,
  ) {
    if (typeof extension?.name !== 'string' || extension.name === '') {
      throw new TypeError('an extension needs a non-empty "name"');
    }
    this.name = `extension:${extension.name}`;
    this.handlers = (extension.messages ?? []).map((message) => this.handlerFor(message));
  }

  private handlerFor(definition: ExtensionMessage): MessageHandler {
    const { type } = definition;
    checkType(this.extension.name, type);
    if (typeof definition.handle !== 'function') {
      throw new TypeError(`extension "${this.extension.name}": "${type}" needs a handle function`);
    }
    const check = TypeCompiler.Compile(definition.payload);
    const run = (message: AppMessage, session: ClientSession, room: Room | null) => {
      const payload = validPayload(type, check, message.payload);
      const context = {
        payload,
        type,
        connection: connectionView(session),
        room: room && roomView(room, this.ctx),
      };
      return settle(() => definition.handle(context));
    };
    return definition.scope === 'connection'
      ? {
          type,
          scope: 'session',
          handle: (message, session) => run(message as AppMessage, session, null),
        }
      : {
          type,
          scope: 'room',
          handle: (message, session, target: RoomTarget) =>
            run(message as AppMessage, session, target.room),
        };
  }

  /** The `onMessage` hook, for the relay: undefined to relay at once, a promise to wait for. */
  checkAppMessage(message: AppMessage, connection: Membership): void | Promise<void> {
    const hook = this.extension.onMessage;
    if (!hook) return undefined;
    const payload = {
      connection: connectionView(connection.session),
      room: roomView(connection.room, this.ctx),
      message,
    };
    try {
      const result = hook.call(this.extension, payload);
      if (result instanceof Promise) {
        return result.catch((error: unknown) => {
          throw refusal(error, ErrorCode.Forbidden);
        });
      }
    } catch (error) {
      throw refusal(error, ErrorCode.Forbidden);
    }
    return undefined;
  }

  onAuthenticate({ request, identity, roomId }: AuthenticatePayload): void | Promise<void> {
    const hook = this.extension.onAuthenticate;
    if (!hook) return undefined;
    return hook.call(this.extension, {
      request: { url: request.url ?? '', headers: request.headers },
      userId: identity.userId,
      displayName: identity.displayName,
      verified: identity.verified === true,
      roomId,
    });
  }

  onConnect({ session }: SessionPayload): void {
    const hook = this.extension.onConnect;
    if (hook)
      this.run('onConnect', () =>
        hook.call(this.extension, { connection: connectionView(session) }),
      );
  }

  onAnnounce({ room, connection }: MemberPayload): void {
    const hook = this.extension.onJoin;
    if (!hook) return;
    const payload = {
      connection: connectionView(connection.session),
      room: roomView(room, this.ctx),
    };
    this.run('onJoin', () => hook.call(this.extension, payload));
  }

  onLeave({ room, connection }: MemberPayload): void {
    const hook = this.extension.onLeave;
    // Only a join the extension was told of has a leave to tell.
    if (!hook || !connection.announced) return;
    const payload = {
      connection: connectionView(connection.session),
      room: roomView(room, this.ctx),
    };
    this.run('onLeave', () => hook.call(this.extension, payload));
  }

  onRoomUnload({ room, reason }: RoomUnloadedPayload): void {
    const hook = this.extension.onRoomUnload;
    if (!hook) return;
    const payload = { roomId: room.id, reason: reason ?? 'empty' };
    this.run('onRoomUnload', () => hook.call(this.extension, payload));
  }

  onDisconnect({ session }: SessionPayload): void {
    const hook = this.extension.onDisconnect;
    if (hook)
      this.run('onDisconnect', () =>
        hook.call(this.extension, { connection: connectionView(session) }),
      );
  }

  close(): void {
    const hook = this.extension.onDestroy;
    if (hook) this.run('onDestroy', () => hook.call(this.extension, {}));
  }

  private run(hook: string, call: () => void | Promise<void>): void {
    runHook(this.ctx.logger, `${this.extension.name}.${hook}`, call);
  }
}

function validPayload(type: string, check: TypeCheck<TSchema>, payload: unknown): unknown {
  if (check.Check(payload)) return payload;
  const first = check.Errors(payload).First();
  const path = first?.path ? `field "payload${first.path.replace(/\//g, '.')}"` : 'field "payload"';
  throw new ProtocolError(
    ErrorCode.InvalidMessage,
    `${type}: ${path}: ${first?.message ?? 'does not match the schema'}`,
  );
}

/** A handler's answer as the dispatcher takes it, with an `ExtensionError` as a refusal. */
function settle(handle: () => ExtensionReply | Promise<ExtensionReply>): HandlerOutcome {
  let result: ExtensionReply | Promise<ExtensionReply>;
  try {
    result = handle();
  } catch (error) {
    throw refusal(error, null);
  }
  if (!(result instanceof Promise)) return checkedReply(result);
  return result.then(checkedReply, (error: unknown) => {
    throw refusal(error, null);
  });
}

function checkedReply(reply: ExtensionReply): HandlerReply {
  if (reply === undefined || reply === null) return undefined;
  return checkedMessage('reply', reply);
}
