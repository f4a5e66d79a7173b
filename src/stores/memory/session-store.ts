// Sessions in this process's memory: the default for one gateway; they end when it restarts.
import type { LoginTransaction, SessionRecord, SessionStore } from '../session-store.ts';

interface Held<T> {
  value: T;
  /** Epoch milliseconds. */
  until: number;
}

export function createMemorySessionStore(now: () => number = Date.now): SessionStore {
  const sessions = new Map<string, Held<SessionRecord>>();
  const transactions = new Map<string, Held<LoginTransaction>>();
  let closed = false;
  const live = <T>(map: Map<string, Held<T>>, id: string): T | undefined => {
    const held = map.get(id);
    if (held === undefined) return undefined;
    if (held.until <= now()) {
      map.delete(id);
      return undefined;
    }
    return held.value;
  };
  // Records are copied in and out, as a networked store would: a caller never mutates what is stored.
  const copy = <T>(v: T): T => structuredClone(v);
  // Like the SQLite and Redis stores, a closed store rejects rather than silently forgetting writes.
  const open = <T>(fn: () => T): Promise<T> => (closed ? Promise.reject(new Error('session store is closed')) : Promise.resolve(fn()));
  const sweep = setInterval(() => {
    const t = now();
    for (const map of [sessions, transactions] as Map<string, Held<unknown>>[]) for (const [id, h] of map) if (h.until <= t) map.delete(id);
  }, 60_000);
  sweep.unref();

  return {
    get: (id) => open(() => copy(live(sessions, id))),
    set: (record, ttlSeconds) =>
      open(() => {
        sessions.set(record.id, { value: copy(record), until: now() + ttlSeconds * 1000 });
      }),
    compareAndSet: (record, expectedVersion, ttlSeconds) =>
      open(() => {
        const current = live(sessions, record.id);
        if (current === undefined || current.version !== expectedVersion) return false;
        sessions.set(record.id, { value: copy(record), until: now() + ttlSeconds * 1000 });
        return true;
      }),
    delete: (id) =>
      open(() => {
        sessions.delete(id);
      }),
    putTransaction: (id, tx, ttlSeconds) =>
      open(() => {
        transactions.set(id, { value: copy(tx), until: now() + ttlSeconds * 1000 });
      }),
    takeTransaction: (id) =>
      open(() => {
        const tx = live(transactions, id);
        transactions.delete(id);
        return tx;
      }),
    close() {
      closed = true;
      clearInterval(sweep);
      sessions.clear();
      transactions.clear();
      return Promise.resolve();
    },
  };
}
