/**
 * Stable error codes carried by `{type: "error", code}` replies. Clients branch on these strings,
 * so a code is never renamed or reused for a different meaning; new codes may be added.
 */
export const ErrorCode = {
  /** The text frame is not valid JSON. */
  InvalidJson: 'invalid_json',
  /** The frame parsed, but is not a valid message: not an object, no `type`, or a field with the wrong type. */
  InvalidMessage: 'invalid_message',
  /** A binary frame arrived on a server running with storage disabled (`storage: false`). */
  BinaryNotSupported: 'binary_not_supported',
  /** The frame is larger than `limits.maxMessageBytes`. */
  MessageTooLarge: 'message_too_large',
  /** The message nests objects/arrays deeper than `limits.maxDepth`. */
  TooDeep: 'too_deep',
  /** The message contains a `__proto__`, `constructor` or `prototype` key. */
  ForbiddenKey: 'forbidden_key',
  /** A room id does not match the room id pattern or is too long. */
  InvalidRoomId: 'invalid_room_id',
  /** The message names a room this connection has not joined. */
  NotInRoom: 'not_in_room',
  /** The message needs a room, but names none and the connection has no default room. */
  RoomRequired: 'room_required',
  /**
   * The room is at `roomConfig.maxConnections`, or the join would add a user past the room's
   * `maxUsers` distinct users.
   */
  RoomFull: 'room_full',
  /** `auth.authorizeRoom` refused this user for the room. */
  Forbidden: 'forbidden',
  /** Joining would create a room while the server holds `limits.maxRooms` rooms. */
  RoomLimit: 'room_limit',
  /** The connection is already in `limits.maxRoomsPerConnection` rooms. */
  TooManyRooms: 'too_many_rooms',
  /** A client sent a type only the server may send (e.g. `presence`, `state:init`, `ack`). */
  ReservedType: 'reserved_type',
  /** A built-in type this server does not handle (e.g. `storage:*` with storage disabled). */
  Unsupported: 'unsupported',
  /** The connection is sending faster than its rate limit; the message was dropped. */
  RateLimited: 'rate_limited',
  /** The room's live state is at `limits.maxStateKeys` or `limits.maxStateBytes`. */
  StateLimit: 'state_limit',
  /**
   * Presence `metadata` is larger than `limits.maxPresenceMetadataBytes`, or the room `metadata` of
   * a `room:join` that creates the room is larger than `limits.maxRoomMetadataBytes`.
   */
  MetadataTooLarge: 'metadata_too_large',
  /** The room has a password and the `room:join` carried none, or another one. */
  WrongPassword: 'wrong_password',
  /** A Yjs update or state vector (or a binary frame's header) is malformed or truncated; nothing was applied. */
  InvalidUpdate: 'invalid_update',
  /** A Yjs update is larger than `storage.maxUpdateBytes`. */
  UpdateTooLarge: 'update_too_large',
  /** Applying the update would take the room's document past `storage.maxDocumentBytes`. */
  DocumentTooLarge: 'document_too_large',
  /** This connection may read the room's document but not change it. */
  ReadOnly: 'read_only',
  /** The room's document could not be loaded from the store; nothing was applied. Retry later. */
  StorageUnavailable: 'storage_unavailable',
  /** The server failed while handling the message; nothing was applied. */
  InternalError: 'internal_error',
  /** `live:mount` of a component name that is not registered; `live:call`/`live:unmount` of a component id this connection has not mounted. */
  UnknownComponent: 'unknown_component',
  /** `live:call` of a name that is not one of the component's actions. */
  UnknownAction: 'unknown_action',
  /** The `live:call` payload failed the action's schema; the message names the field. */
  InvalidPayload: 'invalid_payload',
  /** The action (or the component's constructor or `onMount`) threw; the message is the error's. */
  ActionFailed: 'action_failed',
  /** The action did not settle within `limits.actionTimeoutMs`. */
  ActionTimeout: 'action_timeout',
  /** `live:mount` when the connection has `limits.maxComponentsPerConnection` components mounted. */
  TooManyComponents: 'too_many_components',
  /** Spaces: the connection is not signed in (no valid JWT), or `room:authenticate`'s token failed. */
  Unauthorized: 'unauthorized',
  /** Spaces: the host banned this user from the room. */
  Banned: 'banned',
  /** Spaces: no such room (deleted, or cleaned up after inactivity). */
  NotFound: 'not_found',
  /** Spaces: a field's value is not acceptable (the message names it). */
  InvalidInput: 'invalid_input',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Codes in the JSON body of a refused WebSocket upgrade (`{"error": {"code", "message"}}`),
 * next to the HTTP status.
 */
export const UpgradeErrorCode = {
  /** 400: the room id in the path is not valid. */
  InvalidRoomId: 'invalid_room_id',
  /** 400: the request URL, the query-string identity or the `password` parameter is malformed. */
  BadRequest: 'bad_request',
  /** 401: `auth.authenticate` returned null, threw, timed out or returned no valid user. */
  Unauthorized: 'unauthorized',
  /** 403: the Origin header is not in `allowedOrigins`. */
  OriginNotAllowed: 'origin_not_allowed',
  /** 403: `auth.authorizeRoom` refused the path room. */
  Forbidden: 'forbidden',
  /** 403: the path room has a password and the `password` query parameter is missing or another one. */
  WrongPassword: 'wrong_password',
  /** 404: no WebSocket endpoint at this path. */
  NotFound: 'not_found',
  /** 503: the room is at `roomConfig.maxConnections`, or at its `maxUsers` distinct users. */
  RoomFull: 'room_full',
  /** 503: the room does not exist and the server holds `limits.maxRooms` rooms. */
  RoomLimit: 'room_limit',
  /** 503: the server is stopping. */
  ShuttingDown: 'shutting_down',
  /** 500: the server failed during the upgrade. */
  InternalError: 'internal_error',
} as const;
export type UpgradeErrorCode = (typeof UpgradeErrorCode)[keyof typeof UpgradeErrorCode];

/**
 * WebSocket close codes the server uses. 1000-1015 are the standard codes (RFC 6455);
 * 4000-4999 are Roomkit's own.
 */
export const CloseCode = {
  /** Normal closure (client asked, or `room:leave` of the last room is not a reason to close). */
  Normal: 1000,
  /** The server is shutting down (`stop()`, SIGINT, SIGTERM). Reconnect later. */
  GoingAway: 1001,
  /** A frame exceeded the hard cap `limits.maxPayloadBytes`; the socket cannot continue. */
  MessageTooBig: 1009,
  /** The server could not serve the connection (a y-websocket peer whose room document failed to load). */
  InternalError: 1011,
  /** Repeated rate-limit violations: the client kept sending after `rate_limited` errors. */
  RateLimited: 4008,
  /** The client does not read fast enough: its send buffer passed `limits.maxBufferedBytes`. */
  SlowConsumer: 4009,
  /** The path room could not be joined after the upgrade (a lost capacity race); an `error` says why. */
  JoinFailed: 4003,
  /** A y-websocket peer's room was removed by the application (Roomkit clients get `room:left`). */
  RoomRemoved: 4004,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
