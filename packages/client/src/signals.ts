/**
 * Reactive getters in a callable style (`presence.count()`), on top of
 * `@preact/signals-core`. A Roomkit signal is a function that returns its value and tracks it
 * inside `effect`/`memo`, plus `subscribe` for frameworks that bind by callback (React's
 * `useSyncExternalStore`, Svelte stores, Vue `watch`).
 */
import {
  batch as preactBatch,
  computed as preactComputed,
  effect as preactEffect,
  signal as preactSignal,
  type Signal,
  untracked,
} from '@preact/signals-core';

export interface ReadonlySignal<T> {
  /** The current value; read inside `effect` or `memo`, it is tracked. */
  (): T;
  /** The current value, never tracked. */
  peek(): T;
  /**
   * Calls `listener` after every change (not with the current value). Returns the unsubscribe.
   * Changes inside one `batch` notify once.
   */
  subscribe(listener: (value: T) => void): () => void;
}

export interface WritableSignal<T> extends ReadonlySignal<T> {
  set(value: T | ((previous: T) => T)): void;
}

interface Source<T> {
  readonly value: T;
  peek(): T;
}

function callable<T>(source: Source<T>): ReadonlySignal<T> {
  const read = (() => source.value) as ReadonlySignal<T>;
  read.peek = () => source.peek();
  read.subscribe = (listener) => {
    let first = true;
    return preactEffect(() => {
      const value = source.value;
      if (first) {
        first = false;
        return;
      }
      // The listener's own reads must not become dependencies of this effect.
      untracked(() => listener(value));
    });
  };
  return read;
}

/** A writable signal: `count()`, `count.set(1)`, `count.set((n) => n + 1)`. */
export function signal<T>(initial: T): WritableSignal<T> {
  const source: Signal<T> = preactSignal(initial);
  const read = callable(source) as WritableSignal<T>;
  read.set = (value) => {
    source.value =
      typeof value === 'function' ? (value as (previous: T) => T)(source.peek()) : value;
  };
  return read;
}

/** A derived signal, recomputed lazily when what it read changes. */
export function memo<T>(compute: () => T): ReadonlySignal<T> {
  return callable(preactComputed(compute));
}

/**
 * Runs `fn` now and again whenever a signal it read changes. `fn` may return a cleanup, run
 * before the next run and on dispose. Returns the dispose function.
 */
export function effect(fn: () => unknown): () => void {
  return preactEffect(fn as () => undefined | (() => void));
}

/** Applies several signal writes and notifies once. */
export function batch<T>(fn: () => T): T {
  return preactBatch(fn);
}
