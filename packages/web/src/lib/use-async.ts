/** Loads something asynchronously with loading, error and reload states (every screen has all three). */
import { type DependencyList, useCallback, useEffect, useRef, useState } from 'react';

export type Async<T> =
  | { status: 'loading'; data: T | undefined; error: undefined; reload: () => void }
  | { status: 'ok'; data: T; error: undefined; reload: () => void }
  | { status: 'error'; data: T | undefined; error: unknown; reload: () => void };

export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: DependencyList): Async<T> {
  const [state, setState] = useState<{ status: 'loading' | 'ok' | 'error'; data: T | undefined; error: unknown }>({
    status: 'loading',
    data: undefined,
    error: undefined,
  });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller's deps decide when to reload
  useEffect(() => {
    const controller = new AbortController();
    setState((s) => ({ status: 'loading', data: s.data, error: undefined }));
    // A load that throws at once (bad input) is an error state too, never a crashed page.
    Promise.resolve()
      .then(() => loadRef.current(controller.signal))
      .then(
        (data) => {
          if (!controller.signal.aborted) setState({ status: 'ok', data, error: undefined });
        },
        (error: unknown) => {
          if (!controller.signal.aborted) setState((s) => ({ status: 'error', data: s.data, error }));
        },
      );
    return () => controller.abort();
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload } as Async<T>;
}
