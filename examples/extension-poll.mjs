// A poll as a Roomkit extension: a message type of the application's own (`poll:vote`, its payload
// checked against a schema before the handler runs), a hook that refuses some chat messages, and
// a hook that greets joiners with the current tally. Votes live in the room's live state (one key
// per voter), so every node of a cluster counts the same votes.
//
//   node examples/extension-poll.mjs      (after `npm install`): runs a short demo and exits
import { pathToFileURL } from 'node:url';
import { defineMessage, ExtensionError, RoomServer, Type } from '@roomkit/server';
import WebSocket from 'ws';

const VOTE_KEY = 'poll:vote:';

/** The votes in a room, counted per option. */
export function tally(room, options) {
  const counts = Object.fromEntries(options.map((option) => [option, 0]));
  for (const [key, option] of room.state.entries()) {
    if (key.startsWith(VOTE_KEY) && option in counts) counts[option] += 1;
  }
  return counts;
}

/** A poll between `options`; `maxChatLength` caps the `chat` messages members relay. */
export function pollExtension({ options, maxChatLength = 280 }) {
  return {
    name: 'poll',
    messages: [
      defineMessage({
        type: 'poll:vote',
        payload: Type.Object(
          { option: Type.Union(options.map((option) => Type.Literal(option))) },
          { additionalProperties: false },
        ),
        handle({ payload, connection, room }) {
          // One key per voter: a second vote replaces the first, on every node.
          room.state.set(VOTE_KEY + connection.userId, payload.option);
          const counts = tally(room, options);
          room.broadcast({ type: 'poll:tally', counts }, connection.id);
          return { type: 'poll:tally', counts };
        },
      }),
    ],
    onJoin({ connection, room }) {
      connection.send({ type: 'poll:tally', room: room.id, counts: tally(room, options) });
    },
    onMessage({ message }) {
      const text = message.payload?.text;
      if (message.type === 'chat' && typeof text === 'string' && text.length > maxChatLength) {
        throw new ExtensionError(
          'chat_too_long',
          `chat messages are at most ${maxChatLength} characters`,
        );
      }
    },
  };
}

/** A member of room `standup`: its socket and a way to wait for its next message of a kind. */
function member(port, userId) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/rooms/standup?userId=${userId}`);
  const inbox = [];
  const waiting = [];
  ws.on('message', (data) => {
    inbox.push(JSON.parse(String(data)));
    for (const wake of waiting.splice(0)) wake();
  });
  const next = (match) =>
    new Promise((resolve) => {
      const look = () => {
        const index = inbox.findIndex(match);
        if (index === -1) return waiting.push(look);
        resolve(inbox.splice(0, index + 1).pop());
      };
      look();
    });
  const opened = new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, next, opened };
}

/** Starts a server with the poll, lets two members vote, prints what they saw. */
async function demo() {
  const server = new RoomServer({ extensions: [pollExtension({ options: ['yes', 'no'] })] });
  await server.start(0);
  const tallyMessage = (message) => message.type === 'poll:tally';
  const answerTo = (ref) => (message) => message.ref === ref;
  const show = (who, message) =>
    console.log(
      who,
      message.type === 'error'
        ? `error ${message.code}: ${message.message}`
        : JSON.stringify(message.counts),
    );

  const alice = member(server.port, 'alice');
  await alice.opened;
  show('alice joins and sees', await alice.next(tallyMessage));
  const bob = member(server.port, 'bob');
  await bob.opened;
  show('bob joins and sees', await bob.next(tallyMessage));

  alice.ws.send(JSON.stringify({ type: 'poll:vote', ref: 1, payload: { option: 'yes' } }));
  show('alice votes yes:', await alice.next(answerTo(1)));
  show('bob is told', await bob.next(tallyMessage));

  bob.ws.send(JSON.stringify({ type: 'poll:vote', ref: 2, payload: { option: 'maybe' } }));
  show('bob votes maybe:', await bob.next(answerTo(2)));
  bob.ws.send(JSON.stringify({ type: 'poll:vote', ref: 3, payload: { option: 'no' } }));
  show('bob votes no:', await bob.next(answerTo(3)));
  show('alice is told', await alice.next(tallyMessage));

  alice.ws.close();
  bob.ws.close();
  await server.stop();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await demo();
