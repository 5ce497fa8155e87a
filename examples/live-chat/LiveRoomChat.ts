/**
 * `LiveRoomChat`, a multi-room chat as a live component: one instance per browser tab, on the
 * server. Its state syncs to its own tab; it talks to the other tabs' instances through live
 * rooms. Its design choices are listed in README.md.
 */
import { LiveComponent, type LiveConnection } from '@roomkit/server';
import { type ChatMessage, type ChatState, defaultState } from './state.js';

export { type ChatMessage, defaultState } from './state.js';

/** Messages kept per room. */
const HISTORY = 100;

export class LiveRoomChat extends LiveComponent<ChatState> {
  static defaultState = defaultState;

  constructor(
    initialState: Partial<ChatState>,
    ws: LiveConnection,
    options?: { room?: string; userId?: string },
  ) {
    super({ ...defaultState, ...initialState }, ws, options);
  }

  /** Joins a chat room (or, if already in it, makes it the active room). */
  async joinRoom(payload: { roomId: string; roomName?: string }) {
    const { roomId, roomName } = payload;
    if (this.$rooms.includes(roomId)) {
      this.setState({ activeRoom: roomId });
      return { success: true, roomId };
    }

    // 1. Join the room on the server
    this.$room(roomId).join();

    // 2. Listen for messages from OTHER users (and from the HTTP API)
    this.$room(roomId).on('message:new', (msg: ChatMessage) => {
      this.addMessageToState(roomId, msg);
      this.updateTypingUsers(roomId, msg.user, false);
    });

    // 3. Listen for typing events
    this.$room(roomId).on('user:typing', (data: { user: string; typing: boolean }) => {
      this.updateTypingUsers(roomId, data.user, data.typing);
    });

    // 4. Update local state (syncs to the frontend)
    this.setState({
      activeRoom: roomId,
      rooms: [
        ...this.state.rooms.filter((r) => r.id !== roomId),
        { id: roomId, name: roomName || roomId },
      ],
      messages: { ...this.state.messages, [roomId]: this.state.messages[roomId] ?? [] },
      typingUsers: { ...this.state.typingUsers, [roomId]: [] },
    });

    return { success: true, roomId };
  }

  /** Sends a message to the active room. */
  async sendMessage(payload: { text: string }) {
    const roomId = this.state.activeRoom;
    if (!roomId) throw new Error('No active room');
    const text = typeof payload?.text === 'string' ? payload.text.trim() : '';
    if (!text) throw new Error('Empty message');

    const message: ChatMessage = {
      id: `msg-${crypto.randomUUID()}`,
      user: this.state.username,
      text,
      timestamp: Date.now(),
    };

    // 1. Add to MY state (syncs to MY frontend)
    this.addMessageToState(roomId, message);

    // 2. Emit to OTHERS (they receive it through $room.on); sending also ends my typing
    this.$room(roomId).emit('message:new', message);

    return { success: true, message };
  }

  /** Tells the active room this user is typing. */
  async startTyping() {
    return this.typing(true);
  }

  /** Tells the active room this user stopped typing (so the typing indicator clears). */
  async stopTyping() {
    return this.typing(false);
  }

  /** Leaves a room: its messages and typing list go, and it is no longer active. */
  async leaveRoom(payload: { roomId: string }) {
    const { roomId } = payload;

    this.$room(roomId).leave();

    const { [roomId]: _, ...restMessages } = this.state.messages;
    const { [roomId]: __, ...restTyping } = this.state.typingUsers;

    this.setState({
      rooms: this.state.rooms.filter((r) => r.id !== roomId),
      activeRoom: this.state.activeRoom === roomId ? null : this.state.activeRoom,
      messages: restMessages,
      typingUsers: restTyping,
    });

    return { success: true };
  }

  private typing(typing: boolean) {
    const roomId = this.state.activeRoom;
    if (!roomId) return { success: false };
    this.$room(roomId).emit('user:typing', { user: this.state.username, typing });
    return { success: true };
  }

  // Helper: add a message to the state
  private addMessageToState(roomId: string, msg: ChatMessage) {
    const messages = this.state.messages[roomId] || [];
    this.setState({
      messages: {
        ...this.state.messages,
        [roomId]: [...messages, msg].slice(-HISTORY),
      },
    });
  }

  // Helper: update the typing users
  private updateTypingUsers(roomId: string, user: string, typing: boolean) {
    const current = this.state.typingUsers[roomId] || [];
    if (current.includes(user) === typing) return;
    const updated = typing ? [...current, user] : current.filter((u) => u !== user);
    this.setState({
      typingUsers: { ...this.state.typingUsers, [roomId]: updated },
    });
  }
}
