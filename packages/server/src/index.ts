export type { OnlineStatus, PresenceUser, StateEntry } from '@roomkit/protocol';
export { CloseCode, ErrorCode, ROOM_ID_PATTERN, UpgradeErrorCode } from '@roomkit/protocol';
export { Bus, type BusHandler, type BusMessage } from './bus/bus.js';
export { LocalBus } from './bus/local-bus.js';
export type {
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
  RoomConfig,
  SerializedCrdt,
  ServerConfig,
  StorageOp,
} from './config.js';
export { LiveStateStore } from './features/live-state-store.js';
export { HybridLogicalClock } from './hlc.js';
export type { Logger, LogLevel } from './observability/logger.js';
export { createLogger } from './observability/logger.js';
export type { ClientSession, Connection, Identity, RoomConnection } from './rooms/connection.js';
export { colorForUser, USER_COLORS } from './rooms/presence-user.js';
export type { Room, StorageDocument } from './rooms/room.js';
export type { RoomManager } from './rooms/room-manager.js';
export { RoomServer } from './server.js';
