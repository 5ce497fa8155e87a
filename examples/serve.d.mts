// Types for serve.mjs (plain JavaScript, so `node examples/serve.mjs` needs no build step).
import type { Plugin } from 'esbuild';

export function listExamples(): string[];
/** Maps `@roomkit/client` and `@roomkit/protocol[/sub]` to the workspace's TypeScript sources. */
export function workspaceSources(): Plugin;
/** Bundles `entry` for the browser: the code and the files that went into it. */
export function bundle(
  entry: string,
  options?: { fromSource?: boolean },
): Promise<{ code: string; inputs: string[] }>;

export interface ExamplesServer {
  port: number;
  url: string;
  examples: string[];
  close(): Promise<void>;
}

export function serveExamples(options?: {
  port?: number;
  host?: string;
  fromSource?: boolean;
  defaultExample?: string;
  log?: (message: string) => void;
}): Promise<ExamplesServer>;
