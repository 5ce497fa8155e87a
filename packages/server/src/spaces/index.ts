export { SpacesError, type SpacesErrorCode } from './errors.js';
export {
  MESSAGE_TYPES,
  type MessagePage,
  type MessageType,
  type SpaceMessage,
  type SpaceParticipant,
  type SpaceRoom,
  type SpaceRoomSummary,
  type SpacesActor,
} from './model.js';
export {
  createExampleResponder,
  type ExampleResponderOptions,
  MAX_RESPONDER_REPLIES,
  type SpacesResponder,
  type SpacesResponderContext,
} from './responder.js';
export {
  generateRoomCode,
  normalizeRoomCode,
  ROOM_CODE_ALPHABET,
  ROOM_CODE_LENGTH,
} from './room-codes.js';
export type { SpacesConfig } from './spaces-config.js';
export { SpacesHub } from './spaces-hub.js';
export { MAX_RESPONDER_RUNS } from './spaces-live.js';
export {
  type CleanupOptions,
  DEFAULT_INACTIVE_AFTER_MS,
  SpacesService,
  type SpacesServiceOptions,
} from './spaces-service.js';
