import { corkSocketsPerTurn } from './cork-per-turn.js';

// y-websocket-server exactly as peers/y-websocket.ts runs it, with every socket's writes batched
// per event-loop turn (cork-per-turn.ts): Roomkit's write batching, applied from outside.
corkSocketsPerTurn();
await import('./y-websocket.js');
