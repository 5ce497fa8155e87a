/** @jsxRuntime automatic */
/** @jsxImportSource react */
/**
 * The chat frontend, with `useLive` (the React form of `Live.use`): the state comes from this
 * tab's `LiveRoomChat` on the server, and the buttons call its actions. Only the component's type
 * is imported from the server code.
 */
import { useLive } from '@roomkit/react';
import { useEffect, useRef, useState } from 'react';
import type { LiveRoomChat } from './LiveRoomChat.js';
import { defaultState } from './state.js';

const ROOMS = ['geral', 'tech', 'random'];
/** "Typing" goes out at most this often while keys are pressed; "stopped" after this long idle. */
const TYPING_EVERY_MS = 1000;
const TYPING_IDLE_MS = 2000;

export function RoomChatDemo({ username }: { username: string }) {
  const [text, setText] = useState('');
  const [problem, setProblem] = useState<string | null>(null);

  // Connect to the Live Component (Live.connect(...) in main.ts gave it the client)
  const chat = useLive<typeof LiveRoomChat>('LiveRoomChat', {
    initialState: { ...defaultState, username },
  });

  // State comes directly from the server
  const activeRoom = chat.$state.activeRoom;
  const messages = activeRoom ? chat.$state.messages[activeRoom] || [] : [];
  const typingUsers = activeRoom ? chat.$state.typingUsers[activeRoom] || [] : [];

  /** Runs an action; a refusal (e.g. "No active room") shows under the input. */
  const act = async (action: () => Promise<unknown>) => {
    try {
      await action();
      setProblem(null);
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    }
  };

  // After a reconnect the server has a new LiveRoomChat, resumed from the last state but in no
  // room: join the rooms the state lists again (the active one last, so it stays active).
  const { mounted } = chat;
  const latest = useRef(chat);
  latest.current = chat;
  useEffect(() => {
    if (!mounted) return;
    const { $state, $rooms, joinRoom } = latest.current;
    const missing = $state.rooms.filter((room) => !$rooms.includes(room.id));
    if (missing.length === 0) return;
    const active = missing.find((room) => room.id === $state.activeRoom);
    const order = [...missing.filter((room) => room !== active), ...(active ? [active] : [])];
    void (async () => {
      for (const room of order) await joinRoom({ roomId: room.id, roomName: room.name });
    })();
  }, [mounted]);

  // Typing indicator: "typing" at most once a second, "stopped" after 2 s idle or on send
  const typing = useRef<{ sentAt: number; idle?: ReturnType<typeof setTimeout> }>({ sentAt: 0 });
  const stopTyping = () => {
    clearTimeout(typing.current.idle);
    if (typing.current.sentAt === 0) return;
    typing.current.sentAt = 0;
    void chat.stopTyping().catch(() => {});
  };
  const keyPressed = () => {
    clearTimeout(typing.current.idle);
    typing.current.idle = setTimeout(stopTyping, TYPING_IDLE_MS);
    if (Date.now() - typing.current.sentAt < TYPING_EVERY_MS) return;
    typing.current.sentAt = Date.now();
    void chat.startTyping().catch(() => {});
  };

  // Join room
  const handleJoinRoom = (roomId: string) => act(() => chat.joinRoom({ roomId, roomName: roomId }));

  // Send message
  const handleSend = async () => {
    if (!text.trim()) return;
    stopTyping();
    await act(() => chat.sendMessage({ text }));
    setText('');
  };

  return (
    <div className="chat">
      <header>
        <h2>Live room chat</h2>
        <span className="me">{username}</span>
        <span className="status" data-mounted={chat.mounted}>
          {chat.error ? `error: ${chat.error.message}` : chat.mounted ? 'live' : 'connecting...'}
        </span>
      </header>

      {/* Room list */}
      <nav className="rooms">
        {ROOMS.map((roomId) => (
          <button
            type="button"
            key={roomId}
            data-room={roomId}
            className={roomId === activeRoom ? 'active' : undefined}
            onClick={() => handleJoinRoom(roomId)}
          >
            {roomId} {chat.$rooms.includes(roomId) && '(joined)'}
          </button>
        ))}
        {activeRoom && (
          <button
            type="button"
            className="leave"
            onClick={() => act(() => chat.leaveRoom({ roomId: activeRoom }))}
          >
            Leave {activeRoom}
          </button>
        )}
      </nav>

      {/* Messages */}
      <div className="messages">
        {!activeRoom && <p className="hint">Pick a room to join.</p>}
        {messages.map((msg) => (
          <div key={msg.id} className="message">
            <strong>{msg.user}:</strong> {msg.text}
          </div>
        ))}
      </div>

      {/* Typing indicator */}
      <div className="typing">
        {typingUsers.length > 0 && `${typingUsers.join(', ')} typing...`}
      </div>

      {/* Input */}
      <form
        className="input"
        onSubmit={(e) => {
          e.preventDefault();
          void handleSend();
        }}
      >
        <input
          name="message"
          autoComplete="off"
          placeholder={activeRoom ? `Message #${activeRoom}` : 'Join a room first'}
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            keyPressed();
          }}
        />
        <button type="submit">Send</button>
      </form>
      {problem && <p className="problem">{problem}</p>}
    </div>
  );
}
