/**
 * A chat room with a typing indicator, rendered with plain DOM updates inside `effect(...)`
 * (no JSX). Messages go out with
 * `room.broadcast('chat:message', ...)` and come in through `client.on('chat:message', ...)`;
 * typing goes over the `typing` broadcast channel. Messages are live only: there is no history
 * for people who join later.
 */
import {
  effect,
  memo,
  signal,
  type User,
  useBroadcast,
  useRoom,
  WebSocketClient,
} from '@roomkit/client';
import { h, render } from '../shared/dom.js';
import { exampleSession } from '../shared/session.js';

interface Message {
  text: string;
  from: User;
  timestamp: number;
  /** Join/leave notices shown in the stream. */
  system?: boolean;
}

const session = exampleSession('chat-123');
const currentUser: User = session.user;
const client = new WebSocketClient({
  url: session.serverUrl,
  params: { userId: currentUser.id, displayName: String(currentUser.name) },
  onError: (error) => console.warn('[roomkit]', error.message),
});
client.connect();

function ChatRoom({ roomId }: { roomId: string }): HTMLElement {
  const room = useRoom({
    client,
    roomId,
    user: currentUser,
    // `?password=` joins (or creates) a password-protected room.
    password: new URLSearchParams(location.search).get('password') ?? undefined,
  });

  const messages = signal<Message[]>([]);

  effect(() => {
    room.join();

    // The payload is what the sender put in it: `from` there is their own claim. The server
    // stamps the envelope (the handler's second argument) with the sender's real id.
    const unsub = client.on<Message>('chat:message', (message) => {
      messages.set([...messages(), message]);
    });
    const notice = (text: string) =>
      messages.set([
        ...messages(),
        { text, from: { id: 'roomkit', name: 'Roomkit' }, timestamp: Date.now(), system: true },
      ]);
    // The server's join/leave events (a user's first tab in, last tab out).
    const unsubJoined = client.on<{ userId: string; user: { displayName: string } }>(
      'room:user:joined',
      (payload) => notice(`${payload.user.displayName} joined`),
    );
    const unsubLeft = client.on<string>('room:user:left', (userId) => {
      const user = room.users.peek().find((u) => u.id === userId);
      notice(`${user?.name ?? userId} left`);
    });

    return () => {
      unsub();
      unsubJoined();
      unsubLeft();
      room.leave();
    };
  });

  const sendMessage = (text: string) => {
    room.broadcast('chat:message', {
      text,
      from: currentUser,
      timestamp: Date.now(),
    });
  };

  // ---- rendering (as DOM) ----

  const users = h('div', { class: 'users' });
  effect(() => {
    render(
      users,
      h('h3', null, `Users (${room.users().length})`),
      ...room
        .users()
        .map((user) =>
          h(
            'span',
            { class: 'user', style: { borderColor: user.color ?? '#999' } },
            user.id === currentUser.id ? `${user.name} (you)` : (user.name ?? user.id),
          ),
        ),
    );
  });

  const list = h('div', { class: 'messages' });
  effect(() => {
    // Stay at the bottom unless the reader scrolled up.
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    render(
      list,
      ...messages().map((msg) =>
        msg.system
          ? h('div', { class: 'notice' }, msg.text)
          : h(
              'div',
              { class: 'message' },
              h('strong', { style: { color: msg.from.color ?? '' } }, `${msg.from.name}:`),
              ' ',
              msg.text,
            ),
      ),
    );
    if (atBottom) list.scrollTop = list.scrollHeight;
  });

  const header = h('header', null, h('h2', null, `# ${roomId}`));
  const status = h('span', { class: 'status' });
  header.append(status);
  effect(() => {
    const error = room.error();
    status.textContent = error ? `Cannot join: ${error.message}` : client.status();
    status.dataset.status = error ? 'error' : client.status();
  });

  const typing = TypingIndicator({ roomId });
  return h(
    'div',
    { class: 'chat-room' },
    header,
    users,
    list,
    typing.element,
    MessageInput({ onSend: sendMessage, onTyping: typing.setTyping }),
  );
}

function TypingIndicator({ roomId }: { roomId: string }): {
  element: HTMLElement;
  setTyping: (isTyping: boolean) => void;
} {
  const typing = useBroadcast<{ userId: string; isTyping: boolean }>({
    client,
    room: roomId,
    channel: 'typing',
  });

  // memo does not re-run as time passes, so a clock signal makes "recent" expire.
  const now = signal(Date.now());
  setInterval(() => now.set(Date.now()), 500);

  // Of the "typing" messages of the last 3 s, each user's latest one decides (so "stopped
  // typing" counts), and my own messages (in my history too) do not.
  const typingUsers = memo(() => {
    const latest = new Map<string, { isTyping: boolean; timestamp: number }>();
    for (const msg of typing.history()) latest.set(msg.userId, msg);
    const recent = [...latest].filter(
      ([userId, msg]) => msg.isTyping && now() - msg.timestamp < 3000 && userId !== currentUser.id,
    );
    return [...new Set(recent.map(([userId]) => userId))];
  });

  // Notify when I'm typing
  const setTyping = (isTyping: boolean) => {
    typing.broadcast({ userId: String(currentUser.id), isTyping });
  };

  const element = h('div', { class: 'typing-indicator' });
  effect(() => {
    const ids = typingUsers();
    const names = ids.map(
      (id) =>
        client
          .room(roomId)
          .users()
          .find((u) => u.id === id)?.name ?? id,
    );
    element.textContent =
      names.length === 0
        ? ''
        : names.length === 1
          ? `${names[0]} is typing...`
          : names.length === 2
            ? `${names[0]} and ${names[1]} are typing...`
            : `${names.length} people are typing...`;
  });
  return { element, setTyping };
}

/**
 * The message input, `<MessageInput onSend={sendMessage} />` as DOM. It also reports typing: at most one
 * "typing" message per second while keys are pressed, and "stopped" after 2 s idle or on send.
 */
function MessageInput({
  onSend,
  onTyping,
}: {
  onSend: (text: string) => void;
  onTyping: (isTyping: boolean) => void;
}): HTMLElement {
  let lastAnnounced = 0;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  const stopTyping = () => {
    clearTimeout(idleTimer);
    idleTimer = undefined;
    if (lastAnnounced !== 0) onTyping(false);
    lastAnnounced = 0;
  };
  const input = h('input', {
    name: 'message',
    placeholder: 'Say something',
    autocomplete: 'off',
    oninput: () => {
      if (input.value === '') {
        stopTyping();
        return;
      }
      if (Date.now() - lastAnnounced > 1000) {
        lastAnnounced = Date.now();
        onTyping(true);
      }
      clearTimeout(idleTimer);
      idleTimer = setTimeout(stopTyping, 2000);
    },
  });
  return h(
    'form',
    {
      class: 'message-input',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const text = input.value.trim();
        if (!text) return;
        onSend(text);
        input.value = '';
        stopTyping();
      },
    },
    input,
    h('button', { type: 'submit' }, 'Send'),
  );
}

document.body.append(ChatRoom({ roomId: session.room }));
