/**
 * The live chat page: connects a client for `Live.use`-style components (`Live.connect`) and
 * renders the chat frontend with React. The server side is LiveRoomChat.ts, run by
 * server.mjs (see README.md).
 */
import { Live } from '@roomkit/client';
import { createElement, StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { exampleSession } from '../shared/session.js';
import { RoomChatDemo } from './RoomChatDemo.js';

const session = exampleSession('geral');
Live.connect({
  url: session.serverUrl,
  params: { userId: session.user.id, displayName: session.user.name },
  onError: (error) => console.warn('[roomkit]', error.message),
});

const root = document.createElement('div');
document.body.append(root);
createRoot(root).render(
  createElement(StrictMode, null, createElement(RoomChatDemo, { username: session.user.name })),
);
