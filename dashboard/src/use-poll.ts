// Loads data now and again every `everyMs`, keeping the last good answer while a refresh fails.
import { useEffect, useState } from 'preact/hooks';
import { errorText } from './api.ts';

export interface Polled<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
}

export function usePoll<T>(load: () => Promise<T>, everyMs: number | undefined, deps: readonly unknown[]): Polled<T> {
  const [state, setState] = useState<Polled<T>>({ data: undefined, error: undefined, loading: true });
  useEffect(() => {
    let live = true;
    setState({ data: undefined, error: undefined, loading: true });
    const run = (): void => {
      load()
        .then((data) => live && setState({ data, error: undefined, loading: false }))
        .catch((err: unknown) => live && setState((s) => ({ ...s, error: errorText(err), loading: false })));
    };
    run();
    const timer = everyMs === undefined ? undefined : setInterval(run, everyMs);
    return () => {
      live = false;
      if (timer !== undefined) clearInterval(timer);
    };
  }, deps);
  return state;
}
