// Types for extension-poll.mjs (plain JavaScript, so `node examples/extension-poll.mjs` needs no build step).
import type { Extension, ExtensionRoom } from '@roomkit/server';

export function tally(room: ExtensionRoom, options: readonly string[]): Record<string, number>;
export function pollExtension(options: { options: string[]; maxChatLength?: number }): Extension;
