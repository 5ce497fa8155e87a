import type { Static, TSchema } from '@sinclair/typebox';

/**
 * The public way to add behaviour to Roomkit without editing it: an extension declares the
 * message types it handles (each with a TypeBox schema for its `payload`) and reacts to the
 * lifecycle through hooks that take one payload object each. Pass extensions to
 * `new RoomServer({ extensions: [...] })`; they run in the order given, on every node (each node
 * runs them for its own connections).
 *
 * Every hook may be async. A hook that throws or rejects is logged and changes nothing else,
 * except where its description says it refuses something.
 */
export interface Extension {
  /** Names the extension in logs and in errors about it. */
  readonly name: string;
  /** The message types it handles (`defineMessage`). A type may have one handler on a server. */
  readonly messages?: readonly ExtensionMessage[];
  /**
   * A WebSocket upgrade whose user is known (from `auth`, a JWT or the query string), before the
   * handshake. Throw (or reject) to refuse it: the client gets HTTP 403 `forbidden` with the
   * error's message. Waited for up to `limits.authTimeoutMs` (then refused).
   */
  onAuthenticate?(payload: AuthenticatePayload): void | Promise<void>;
  /** A connection was accepted and got its `welcome` (its path room, if any, is joined). */
  onConnect?(payload: ConnectPayload): void | Promise<void>;
  /** A connection joined a room (after its snapshots were sent). */
  onJoin?(payload: JoinPayload): void | Promise<void>;
  /** A connection that joined a room left it (leave, close, kick, the room removed). */
  onLeave?(payload: LeavePayload): void | Promise<void>;
  /**
   * An application message (a type no extension declared) is about to be relayed to the room. A
   * throw or rejection refuses it: the sender gets an `error` (the `ExtensionError`'s code, or
   * `forbidden`) and the room nothing. Messages wait for an async hook, in order.
   */
  onMessage?(payload: MessagePayload): void | Promise<void>;
  /** The room left this node's memory: no member here past the cleanup grace, or removed. */
  onRoomUnload?(payload: RoomUnloadPayload): void | Promise<void>;
  /** A connection ended (after it left its rooms). */
  onDisconnect?(payload: DisconnectPayload): void | Promise<void>;
  /** The server is stopping: release what the extension holds. */
  onDestroy?(payload: DestroyPayload): void | Promise<void>;
}

/** One message type an extension handles. Build it with `defineMessage`. */
export interface ExtensionMessage<S extends TSchema = TSchema> {
  /**
   * The message's `type`: 1-64 printable characters, not a built-in type, not starting with
   * `room:`. Namespacing it (`poll:vote`) keeps it clear of other extensions.
   */
  readonly type: string;
  /** The schema of the message's `payload` field (validated before the handler runs). */
  readonly payload: S;
  /**
   * `'room'` (default): the message names a room the connection is in (`room`, or the path
   * room), and the handler gets it. `'connection'`: no room.
   */
  readonly scope?: 'room' | 'connection';
  /**
   * Handles one valid message. Return an object to answer the sender with it (it gets the
   * request's `ref`); return nothing to answer `ack` when the request had a `ref`. Throw an
   * `ExtensionError` to refuse it with your code. An async handler holds the connection's next
   * messages until it settles, so they are handled in order.
   */
  handle(context: MessageContext<Static<S>>): ExtensionReply | Promise<ExtensionReply>;
}

/** What a handler may answer: a message to the sender (`type` required), or nothing. */
export type ExtensionReply = { type: string; [field: string]: unknown } | undefined;

/** Declares a message type with its payload schema; the handler's `payload` is typed by it. */
export function defineMessage<S extends TSchema>(
  message: ExtensionMessage<S>,
): ExtensionMessage<S> {
  return message;
}

/** Refuses a message with a code of the extension's own (`[a-z][a-z0-9_]*`) and a reason. */
export class ExtensionError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ExtensionError';
    if (!/^[a-z][a-z0-9_]{0,63}$/.test(code)) {
      throw new TypeError(`ExtensionError: code "${code}" must match [a-z][a-z0-9_]{0,63}`);
    }
  }
}

/** A connection, as extensions see it. */
export interface ExtensionConnection {
  /** The connection id (unique in the cluster; the `connectionId` of its `welcome`). */
  readonly id: string;
  readonly userId: string;
  readonly displayName: string;
  /** Sends a JSON message to this connection alone (it must have a string `type`). */
  send(message: { type: string; [field: string]: unknown }): void;
}

/** A room, as extensions see it. */
export interface ExtensionRoom {
  readonly id: string;
  /** Connections in the room, on every node. */
  readonly size: number;
  /**
   * Sends a JSON message to every member on every node (a `room` field naming this room is
   * added), except the connection `except` names.
   */
  broadcast(message: { type: string; [field: string]: unknown }, except?: string): void;
  /**
   * The room's live state (the same entries members write with `state:update`): shared by every
   * node, last writer wins per key, every change sent to every member as `state:update`.
   */
  readonly state: ExtensionRoomState;
}

export interface ExtensionRoomState {
  /** The key's value, or undefined. */
  get(key: string): unknown;
  /** Every key and its value. */
  entries(): Array<[key: string, value: unknown]>;
  /**
   * Sets the key (its `userId` is `"server"`). Throws a `TypeError` for a key or value the
   * room's limits refuse (`maxStateKeys`, `maxStateBytes`, forbidden keys).
   */
  set(key: string, value: unknown): void;
}

export interface MessageContext<P> {
  /** The validated payload. */
  payload: P;
  /** The message's `type`. */
  type: string;
  connection: ExtensionConnection;
  /** The room the message is for; null for a `'connection'`-scoped type. */
  room: ExtensionRoom | null;
}

export interface AuthenticatePayload {
  /** The upgrade request's URL (path and query) and headers. */
  request: { url: string; headers: Readonly<Record<string, string | string[] | undefined>> };
  userId: string;
  displayName: string;
  /** Signed in (by `auth` or a verified JWT), not named by the query string. */
  verified: boolean;
  /** The room on the path, or null for the bare path. */
  roomId: string | null;
}

export interface ConnectPayload {
  connection: ExtensionConnection;
}

export interface JoinPayload {
  connection: ExtensionConnection;
  room: ExtensionRoom;
}

export interface LeavePayload {
  connection: ExtensionConnection;
  room: ExtensionRoom;
}

export interface MessagePayload {
  connection: ExtensionConnection;
  room: ExtensionRoom;
  /** The message as received (`ref` removed); its fields are relayed as they are after the hook. */
  message: { type: string; [field: string]: unknown };
}

export interface RoomUnloadPayload {
  roomId: string;
  /** Why it went: `'empty'`, or the reason given to `RoomManager.remove`. */
  reason: string;
}

export interface DisconnectPayload {
  connection: ExtensionConnection;
}

export type DestroyPayload = Record<string, never>;
