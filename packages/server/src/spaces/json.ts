import type {
  SpacesMessage,
  SpacesParticipant,
  SpacesRoom,
  SpacesRoomState,
} from '@roomkit/protocol';
import type { SpaceMessage, SpaceParticipant, SpaceRoom, SpaceRoomSummary } from './model.js';

/**
 * The Spaces rows as REST answers and WebSocket events carry them: one shape for both, times as
 * ISO-8601 strings.
 */

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * A seat counts as online only while its heartbeat is recent: the server touches the seats of
 * connected users every minute, so a seat left "online" by a crashed node goes offline by
 * itself.
 */
export const ONLINE_STALE_MS = 3 * 60_000;

export function roomJson(
  room: SpaceRoom | SpaceRoomSummary,
  joinLinkBase: string,
  participants?: readonly SpaceParticipant[],
): SpacesRoom {
  const json: SpacesRoom = {
    id: room.id,
    roomCode: room.roomCode,
    name: room.name,
    maxParticipants: room.maxParticipants,
    hostUserId: room.hostUserId,
    currentMode: room.currentMode,
    isActive: room.isActive,
    state: room.state,
    createdAt: iso(room.createdAt),
    lastActivity: iso(room.lastActivity),
    joinLink: `${joinLinkBase}/${room.roomCode}`,
  };
  if ('participantCount' in room) json.participantCount = room.participantCount;
  if (participants) json.participants = participants.map((p) => participantJson(p, room));
  return json;
}

export function participantJson(
  participant: SpaceParticipant,
  room: Pick<SpaceRoom, 'hostUserId'>,
): SpacesParticipant {
  return {
    id: participant.id,
    roomId: participant.roomId,
    userId: participant.userId,
    displayName: participant.displayName,
    isOnline: participant.isOnline && Date.now() - participant.lastSeen < ONLINE_STALE_MS,
    isHost: participant.userId === room.hostUserId,
    joinedAt: iso(participant.joinedAt),
    lastSeen: iso(participant.lastSeen),
  };
}

export function messageJson(message: SpaceMessage): SpacesMessage {
  return {
    id: message.id,
    roomId: message.roomId,
    userId: message.userId,
    messageType: message.messageType,
    content: message.content,
    metadata: message.metadata,
    createdAt: iso(message.createdAt),
  };
}

/** The room's state as `room:joined` and `room:state-updated` carry it. */
export function roomStateJson(room: SpaceRoom): SpacesRoomState {
  return {
    currentMode: room.currentMode,
    hostUserId: room.hostUserId,
    conversationActive: room.state.conversationActive === true,
    values: room.state,
  };
}
