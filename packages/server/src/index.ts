export type { OnlineStatus, PresenceUser, StateEntry } from '@roomkit/protocol';
export { CloseCode, ErrorCode, ROOM_ID_PATTERN, UpgradeErrorCode } from '@roomkit/protocol';
export type { Static, TSchema } from '@sinclair/typebox';
/** TypeBox's schema builder, for extension message payloads (`Type.Object({...})`). */
export { Type } from '@sinclair/typebox';
export {
  bearerToken,
  JwtAuth,
  type JwtConfig,
  JwtError,
  type VerifiedUser,
} from './auth/jwt.js';
export {
  Bus,
  type BusMessage,
  type BusReceiver,
  type Delivery,
  type LiveEventBusMessage,
  type MemberRecord,
  type PresenceChanges,
  type RoomDescription,
  type RoomEvent,
  type RoomSnapshot,
} from './bus/bus.js';
export {
  InProcessCluster,
  type InProcessClusterOptions,
  LocalBus,
} from './bus/in-process-cluster.js';
export {
  type MaybePromise,
  MemoryRoomDirectory,
  type RoomDirectory,
} from './bus/room-directory.js';
export type {
  ApiConfig,
  AuthHandler,
  AuthResult,
  HeartbeatConfig,
  InitialStorageHandler,
  LimitsConfig,
  OnJoinHandler,
  OnLeaveHandler,
  OnMessageHandler,
  OnStorageChangeHandler,
  RateLimitConfig,
  RoomAccess,
  RoomConfig,
  SerializedCrdt,
  ServerConfig,
  StorageConfig,
  StorageOp,
} from './config.js';
export {
  type AuthenticatePayload,
  type ConnectPayload,
  type DestroyPayload,
  type DisconnectPayload,
  defineMessage,
  type Extension,
  type ExtensionConnection,
  ExtensionError,
  type ExtensionMessage,
  type ExtensionReply,
  type ExtensionRoom,
  type ExtensionRoomState,
  type JoinPayload,
  type LeavePayload,
  type MessageContext,
  type MessagePayload,
  type RoomUnloadPayload,
} from './extensions/extension.js';
export { LiveStateStore } from './features/live-state-store.js';
export { HybridLogicalClock } from './hlc.js';
export type {
  ActionFunction,
  LiveComponentClass,
  RegisterComponentOptions,
} from './live/component-registry.js';
export {
  LiveComponent,
  type LiveComponentOptions,
  type LiveConnection,
  type LiveRoomAccessor,
  type LiveRoomEventHandler,
  type LiveRoomHandle,
} from './live/live-component.js';
export {
  type LiveRoomDetails,
  LiveRoomManager,
  type LiveRoomStats,
} from './live/live-room-manager.js';
export {
  LIVE_ROOM_EVENTS,
  RoomEventBus,
  type RoomEventBusStats,
  type RoomEventHandler,
} from './live/room-event-bus.js';
export type { Logger, LogLevel } from './observability/logger.js';
export { createLogger } from './observability/logger.js';
export {
  admit,
  passwordDigest,
  type RoomRecord,
  type Seat,
  type SeatAnswer,
  type SeatRequest,
} from './rooms/admission.js';
export type {
  ClientSession,
  Identity,
  Membership,
  /** The earlier name of `Membership`. */
  Membership as Connection,
} from './rooms/connection.js';
export { colorForUser, USER_COLORS } from './rooms/presence-user.js';
export type { Room } from './rooms/room.js';
export type { RoomManager } from './rooms/room-manager.js';
export type { RoomSettings } from './rooms/room-settings.js';
export { RoomServer } from './server.js';
export {
  type CleanupOptions,
  createExampleResponder,
  DEFAULT_INACTIVE_AFTER_MS,
  type ExampleResponderOptions,
  generateRoomCode,
  MAX_RESPONDER_REPLIES,
  MAX_RESPONDER_RUNS,
  MESSAGE_TYPES,
  type MessagePage,
  type MessageType,
  normalizeRoomCode,
  ROOM_CODE_ALPHABET,
  type SpaceMessage,
  type SpaceParticipant,
  type SpaceRoom,
  type SpaceRoomSummary,
  type SpacesActor,
  type SpacesConfig,
  SpacesError,
  type SpacesErrorCode,
  SpacesHub,
  type SpacesResponder,
  type SpacesResponderContext,
  SpacesService,
  type SpacesServiceOptions,
} from './spaces/index.js';
export type { StorageDocument } from './storage/room-document.js';
export type { MigrationOutcome } from './store/migrations.js';
export { isPostgresUrl, type OpenStoreOptions, openStore } from './store/open-store.js';
export type { Database } from './store/schema.js';
export type { DocumentWrite, Store, StoredDocument, StoreKind } from './store/store.js';
