// Loading state shared by the console tabs that read a list from the server and offer Refresh.
import { useCallback, useEffect, useRef, useState, type Dispatch, type SetStateAction } from 'react';
import { errorMessage } from './api';

export interface Loaded<T> {
  /** The last value read; null until the first read succeeds (a failed refresh keeps it). */
  data: T | null;
  setData: Dispatch<SetStateAction<T | null>>;
  /** Why the last read failed, or null. */
  error: string | null;
  /** A Refresh click is on its way. */
  refreshing: boolean;
  /** Reads again; a call while a read is on its way waits for that one instead of starting another. */
  load: () => Promise<void>;
  /** `load` for the Refresh button, with `refreshing` set meanwhile. */
  refresh: () => Promise<void>;
  /** False once the component is gone (answers that arrive later are dropped). */
  mounted: React.MutableRefObject<boolean>;
}

/** `read` must be stable (useCallback): a new function means a new `load`. */
export function useLoad<T>(read: () => Promise<T>): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [refreshing, setRefreshing] = useState(false);
  const pending = useRef<Promise<void> | null>(null);
  const mounted = useRef(true);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const load = useCallback((): Promise<void> => {
    pending.current ??= (async () => {
      try {
        const value = await read();
        if (!mounted.current) return;
        setData(value);
        setError(null);
      } catch (e) {
        if (mounted.current) setError(errorMessage(e));
      } finally {
        pending.current = null;
      }
    })();
    return pending.current;
  }, [read]);

  const refresh = useCallback(async () => {
    setRefreshing(true);
    await load();
    if (mounted.current) setRefreshing(false);
  }, [load]);

  return { data, setData, error, refreshing, load, refresh, mounted };
}
