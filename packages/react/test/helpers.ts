/**
 * Test harness for the React bindings: a real server on port 0, real clients over loopback, and
 * react-test-renderer under `act`. Everything the test awaits is awaited inside `act`, so React
 * applies the updates the network caused before the test looks at what rendered.
 */
import {
  type ReadonlySignal,
  signal,
  WebSocketClient,
  type WebSocketClientOptions,
} from '@roomkit/client';
import type { ReactElement } from 'react';
import { act, create, type ReactTestRenderer, type TestRendererOptions } from 'react-test-renderer';
import { afterEach, beforeEach, expect, vi } from 'vitest';
import { RoomServer, type ServerConfig } from '../../server/src/index.js';

declare global {
  var IS_REACT_ACT_ENVIRONMENT: boolean | undefined;
}
globalThis.IS_REACT_ACT_ENVIRONMENT = true;

const servers = new Set<RoomServer>();
const clients = new Set<WebSocketClient>();
const renderers = new Set<ReactTestRenderer>();
let consoleErrors: string[] = [];

beforeEach(() => {
  consoleErrors = [];
  // react-test-renderer 19 announces its deprecation on every create(); anything else React
  // reports (a missing act, an uncached getSnapshot, a failed render) fails the test below.
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    const text = args.map(String).join(' ');
    if (!text.includes('react-test-renderer is deprecated')) consoleErrors.push(text);
  });
});

afterEach(async () => {
  // Unmount first, so no component sees its client disconnect outside act.
  if (renderers.size > 0) {
    await act(async () => {
      for (const renderer of renderers) renderer.unmount();
    });
    renderers.clear();
  }
  for (const client of clients) client.disconnect();
  clients.clear();
  await Promise.all([...servers].map((server) => server.stop()));
  servers.clear();
  vi.restoreAllMocks();
  expect(consoleErrors).toEqual([]);
});

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** A real server on port 0 (logs off), stopped after the test. */
export async function startServer(config: ServerConfig = {}): Promise<RoomServer> {
  const server = new RoomServer({ logger: silent, ...config });
  servers.add(server);
  await server.start(0);
  return server;
}

/** A client for `userId`, connecting now, disconnected after the test. */
export function connectClient(
  server: RoomServer,
  userId: string,
  options: Partial<WebSocketClientOptions> = {},
): WebSocketClient {
  const client = new WebSocketClient({
    url: `ws://127.0.0.1:${server.port}/rooms`,
    params: { userId, displayName: userId },
    reconnectDelay: 20,
    maxReconnectDelay: 200,
    ...options,
  });
  clients.add(client);
  client.connect();
  return client;
}

/** react-test-renderer 19 takes this option; its type definitions lag behind. */
export type RendererOptions = TestRendererOptions & { unstable_strictMode?: boolean };

/** Renders `element` (optionally under StrictMode) and flushes its effects; unmounted after the test. */
export async function render(element: ReactElement, strict = false): Promise<ReactTestRenderer> {
  let renderer: ReactTestRenderer | undefined;
  await act(async () => {
    const options: RendererOptions = { createNodeMock: () => null, unstable_strictMode: strict };
    renderer = create(element, options);
  });
  renderers.add(renderer!);
  return renderer!;
}

export async function unmount(renderer: ReactTestRenderer): Promise<void> {
  await act(async () => renderer.unmount());
  renderers.delete(renderer);
}

/** Runs `fn` (an action on a rendered component) and applies the updates it causes. */
export async function interact(fn: () => unknown): Promise<void> {
  await act(async () => {
    await fn();
  });
}

/**
 * Waits (inside `act`) until `predicate` holds for the signal's value (checked now and on every
 * change), then lets React render what it caused.
 */
export async function settle<T>(
  read: ReadonlySignal<T>,
  predicate: (value: T) => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<T> {
  let result: T | undefined;
  await act(async () => {
    result = await until(read, predicate, what, timeoutMs);
  });
  return result as T;
}

/** Resolves once `predicate` holds for the signal's value (checked now and on every change). */
export function until<T>(
  read: ReadonlySignal<T>,
  predicate: (value: T) => boolean,
  what: string,
  timeoutMs: number,
): Promise<T> {
  return new Promise((resolve, reject) => {
    if (predicate(read.peek())) {
      resolve(read.peek());
      return;
    }
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const stop = read.subscribe((value) => {
      if (!predicate(value)) return;
      clearTimeout(timer);
      queueMicrotask(stop);
      resolve(value);
    });
  });
}

/** What a test component saw: how often it rendered and its last values. */
export class Probe<T> {
  renders = 0;
  /** Every value rendered, in order (StrictMode renders twice). */
  readonly seen: T[] = [];
  /** Counts renders, for waiting on one without `act`. */
  readonly rendered = signal(0);

  record(value: T): void {
    this.renders += 1;
    this.seen.push(value);
    this.rendered.set(this.renders);
  }

  /** Resolves once a render's values satisfy `predicate` (for tests that run without `act`). */
  until(predicate: (value: T) => boolean, what: string, timeoutMs = 5000): Promise<T> {
    return until(this.rendered, (n) => n > 0 && predicate(this.last), what, timeoutMs).then(
      () => this.last,
    );
  }

  get last(): T {
    const value = this.seen.at(-1);
    if (value === undefined) throw new Error('the component has not rendered');
    return value;
  }
}
