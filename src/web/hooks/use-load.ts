import { useCallback, useEffect, useRef, useState } from 'react';

export type Loaded<T> =
  | { readonly status: 'loading' }
  | { readonly status: 'ok'; readonly value: T }
  | { readonly status: 'error'; readonly error: unknown };

/**
 * Runs `load` when `key` changes (and on `reload()`), keeping the last answer; a late answer of an
 * earlier run is dropped, so a slow first request cannot overwrite a newer one.
 */
export function useLoad<T>(load: () => Promise<T>, key: string): Loaded<T> & { reload: () => void } {
  const [state, setState] = useState<Loaded<T>>({ status: 'loading' });
  const [generation, setGeneration] = useState(0);
  const run = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const mine = (run.current += 1);
    loadRef.current().then(
      (value) => {
        if (run.current === mine) setState({ status: 'ok', value });
      },
      (error: unknown) => {
        if (run.current === mine) setState({ status: 'error', error });
      },
    );
  }, [key, generation]);

  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  return { ...state, reload };
}
