import { type Static, Type } from '@sinclair/typebox';
import { ClientMessageIdSchema, RefSchema, RoomIdSchema } from './envelope-schema.js';

/**
 * Live components (docs/protocol.md §18): a component instance per client on the server, whose
 * state syncs to its own client. The client mounts a registered component, calls its actions and
 * unmounts it; the server sends the component's state changes, joined rooms and room states.
 */

/** Longest component name (`live:mount` `component`) and action name (`live:call` `action`). */
export const MAX_COMPONENT_NAME_LENGTH = 128;
export const MAX_ACTION_NAME_LENGTH = 128;
/** Longest component id a client may name (the server's are UUIDs). */
export const MAX_COMPONENT_ID_LENGTH = 128;

const ComponentId = Type.String({ minLength: 1, maxLength: MAX_COMPONENT_ID_LENGTH });

/**
 * Mounts a registered component: the server constructs it with `initialState` (over the class's
 * `defaultState`), the connection's identity and `room` as its default room, and answers
 * `live:mounted` with its id, state and rooms.
 */
export const LiveMountSchema = Type.Object(
  {
    type: Type.Literal('live:mount'),
    ref: Type.Optional(RefSchema),
    cid: Type.Optional(ClientMessageIdSchema),
    /** The component's default room (its `options.room`); joined at mount. */
    room: Type.Optional(RoomIdSchema),
    component: Type.String({ minLength: 1, maxLength: MAX_COMPONENT_NAME_LENGTH }),
    initialState: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

/** Calls an action (a public async method) of a component this connection mounted. */
export const LiveCallSchema = Type.Object(
  {
    type: Type.Literal('live:call'),
    ref: Type.Optional(RefSchema),
    cid: Type.Optional(ClientMessageIdSchema),
    componentId: ComponentId,
    action: Type.String({ minLength: 1, maxLength: MAX_ACTION_NAME_LENGTH }),
    payload: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

/** Unmounts a component this connection mounted: it leaves its rooms and its handlers are dropped. */
export const LiveUnmountSchema = Type.Object(
  {
    type: Type.Literal('live:unmount'),
    ref: Type.Optional(RefSchema),
    cid: Type.Optional(ClientMessageIdSchema),
    componentId: ComponentId,
  },
  { additionalProperties: false },
);

export type LiveMountMessage = Static<typeof LiveMountSchema>;
export type LiveCallMessage = Static<typeof LiveCallSchema>;
export type LiveUnmountMessage = Static<typeof LiveUnmountSchema>;

// ---- server → client ----

/** Answer to `live:mount`: the component's id, its full initial state and the rooms it is in. */
export interface LiveMountedServerMessage {
  type: 'live:mounted';
  ref?: Static<typeof RefSchema>;
  componentId: string;
  /** The registered name that was mounted. */
  component: string;
  state: Record<string, unknown>;
  rooms: string[];
}

/** Answer to `live:call`: what the action returned (`null` for nothing). */
export interface LiveResultServerMessage {
  type: 'live:result';
  ref?: Static<typeof RefSchema>;
  componentId: string;
  action: string;
  result: unknown;
}

/**
 * The component's state changed: only the top-level keys `setState` was given, merged over one
 * event-loop turn (the last value wins). Apply as `state = {...state, ...patch}`.
 */
export interface LiveStateServerMessage {
  type: 'live:state';
  componentId: string;
  patch: Record<string, unknown>;
}

/** The live rooms the component is in changed (its `$rooms`). */
export interface LiveRoomsServerMessage {
  type: 'live:rooms';
  componentId: string;
  rooms: string[];
}

/** A live room's whole state: when the component joins the room and whenever the state changes. */
export interface LiveRoomStateServerMessage {
  type: 'live:room-state';
  componentId: string;
  room: string;
  state: Record<string, unknown>;
}

/** The server unmounted the component (not sent for the client's own `live:unmount`). */
export interface LiveUnmountedServerMessage {
  type: 'live:unmounted';
  componentId: string;
  reason: string;
}

export type LiveServerMessage =
  | LiveMountedServerMessage
  | LiveResultServerMessage
  | LiveStateServerMessage
  | LiveRoomsServerMessage
  | LiveRoomStateServerMessage
  | LiveUnmountedServerMessage;

/** The live-component types only the server sends. */
export const LIVE_SERVER_TYPES: readonly LiveServerMessage['type'][] = [
  'live:mounted',
  'live:result',
  'live:state',
  'live:rooms',
  'live:room-state',
  'live:unmounted',
];
