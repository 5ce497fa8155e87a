/**
 * The WebSocket the client uses: the one passed in the options, else in Node the `ws` package
 * (the global WebSocket of Node 22+ if `ws` is missing), else the platform's (browsers, Deno).
 * `ws` is loaded through a computed specifier so browser bundlers never try to include it.
 */

/** The part of the WHATWG WebSocket API the client uses; `ws` and browsers both provide it. */
export interface WebSocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  binaryType: string;
  send(data: string | ArrayBuffer | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type WebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
) => WebSocketLike;

export const OPEN = 1;

let nodeWebSocket: Promise<WebSocketConstructor> | undefined;

export function resolveWebSocket(
  custom: WebSocketConstructor | undefined,
): WebSocketConstructor | Promise<WebSocketConstructor> {
  if (custom) return custom;
  const platform = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  // Node 22+ has a global WebSocket too, but `ws` can cut a dead connection at once
  // (`terminate`) instead of waiting out a close handshake, so Node prefers it when installed.
  const isNode =
    typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions
      ?.node === 'string';
  if (typeof platform === 'function' && !isNode) return platform;
  nodeWebSocket ??= loadWs(typeof platform === 'function' ? platform : undefined);
  return nodeWebSocket;
}

async function loadWs(fallback: WebSocketConstructor | undefined): Promise<WebSocketConstructor> {
  const specifier = ['w', 's'].join('');
  try {
    const mod = (await import(/* @vite-ignore */ specifier)) as {
      WebSocket?: WebSocketConstructor;
      default?: WebSocketConstructor;
    };
    const ctor = mod.WebSocket ?? mod.default;
    if (ctor) return ctor;
  } catch {
    // fall through to the platform's, or the error below
  }
  if (fallback) return fallback;
  nodeWebSocket = undefined;
  throw new Error(
    'no WebSocket implementation: this platform has no global WebSocket and the "ws" package could not be loaded; pass one as the WebSocket option',
  );
}
