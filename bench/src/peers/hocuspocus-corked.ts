import { corkSocketsPerTurn } from './cork-per-turn.js';

// Hocuspocus exactly as peers/hocuspocus.ts runs it, with every socket's writes batched per
// event-loop turn (cork-per-turn.ts): Roomkit's write batching, applied from outside.
corkSocketsPerTurn();
await import('./hocuspocus.js');
