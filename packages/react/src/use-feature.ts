import type { JoinSettings, RoomClient, User } from '@roomkit/client';
import {
  type DependencyList,
  useCallback,
  useEffect,
  useLayoutEffect,
  useRef,
  useState,
} from 'react';

/**
 * Features are created, configured and held in layout effects in the browser, so the render that
 * shows their data happens before the first paint (no flash of an empty room). On the server
 * (no `window`) layout effects warn in React 18 and never run anyway, so plain effects are used.
 * Every hook here uses this one kind of effect: effects of one kind run children first, then
 * parents, in declaration order, all before the join's microtask, so settings declared by a
 * `RoomProvider` always reach the join even though its children's features hold the room first.
 */
export const useCommitEffect: typeof useEffect =
  typeof window === 'undefined' ? useEffect : useLayoutEffect;

/** Anything a room feature factory returns. */
export interface Disposable {
  dispose(): void;
}

/** A feature created for a component and a way to act on it. */
export interface FeatureSlot<F> {
  /** The live feature, or null before the first commit (and after a dependency changed, until recreated). */
  feature: F | null;
  /**
   * Runs `action` on the live feature; before the feature exists (a child's effect calling a
   * parent's action) it waits for it. Stable. After unmount it is dropped and `run` returns false.
   */
  run(action: (feature: F) => void): boolean;
}

type Phase = 'new' | 'live' | 'gone';

/**
 * Creates a room feature (which holds the room) in an effect and disposes it in the cleanup,
 * recreating it when `deps` change. Creating in render would leak: React may call a render (and a
 * `useState` initializer) and throw the result away, and the hold it took would never be
 * released. Under StrictMode the effect runs, cleans up and runs again in one tick: the first
 * feature is disposed and never used again; its hold and release coalesce with the second one's
 * hold, so the server sees nothing.
 */
export function useFeature<F extends Disposable>(
  create: () => F,
  deps: DependencyList,
): FeatureSlot<F> {
  const [created, setCreated] = useState<{ feature: F; deps: DependencyList } | null>(null);
  const slot = useRef<{ feature: F | null; phase: Phase; queue: Array<(feature: F) => void> }>({
    feature: null,
    phase: 'new',
    queue: [],
  });
  // `deps` are the caller's; `create` is read from the render that committed them.
  useCommitEffect(() => {
    const state = slot.current;
    const feature = create();
    state.feature = feature;
    state.phase = 'live';
    for (const action of state.queue.splice(0)) action(feature);
    setCreated({ feature, deps });
    return () => {
      state.feature = null;
      state.phase = 'gone';
      feature.dispose();
    };
  }, deps);
  const run = useCallback((action: (feature: F) => void) => {
    const state = slot.current;
    if (state.feature) action(state.feature);
    else if (state.phase === 'new') state.queue.push(action);
    else return false;
    return true;
  }, []);
  // A feature made for other dependencies (another room) is not shown while its successor is made.
  const feature = created !== null && sameDeps(created.deps, deps) ? created.feature : null;
  return { feature, run };
}

function sameDeps(a: DependencyList, b: DependencyList): boolean {
  return a.length === b.length && a.every((value, i) => Object.is(value, b[i]));
}

/**
 * Applies join settings and the declared user to `room` on mount and whenever their content
 * changes (compared as JSON, so inline object literals do not re-apply every render). Settings add
 * to what is there; a later join uses them, a current membership is not redone.
 */
export function useRoomSettings(
  room: RoomClient,
  settings: JoinSettings,
  user: Partial<User> | undefined,
): void {
  const { password, maxUsers, metadata } = settings;
  // JSON drops undefined fields, so what is parsed back in the effect has only the given ones.
  const key = JSON.stringify({ password, maxUsers, metadata, user });
  useCommitEffect(() => {
    room.configure(JSON.parse(key) as JoinSettings & { user?: Partial<User> });
  }, [room, key]);
}
