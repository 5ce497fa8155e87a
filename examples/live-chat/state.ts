/**
 * The chat's state and message shape, shared by the server component (LiveRoomChat.ts) and the
 * page. The page imports this module, never LiveRoomChat.ts itself (only its type), so no server
 * code reaches the browser.
 */
export interface ChatMessage {
  id: string;
  user: string;
  text: string;
  timestamp: number;
}

export const defaultState = {
  username: '',
  activeRoom: null as string | null,
  rooms: [] as { id: string; name: string }[],
  messages: {} as Record<string, ChatMessage[]>,
  typingUsers: {} as Record<string, string[]>,
};

export type ChatState = typeof defaultState;
