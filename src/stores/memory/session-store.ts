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
  const sweep = setInterval(() => {
    const t = now();
    for (const map of [sessions, transactions] as Map<string, Held<unknown>>[]) for (const [id, h] of map) if (h.until <= t) map.delete(id);
  }, 60_000);
  sweep.unref();

  return {
    get: (id) => Promise.resolve(copy(live(sessions, id))),
    set(record, ttlSeconds) {
      sessions.set(record.id, { value: copy(record), until: now() + ttlSeconds * 1000 });
      return Promise.resolve();
    },
    compareAndSet(record, expectedVersion, ttlSeconds) {
      const current = live(sessions, record.id);
      if (current === undefined || current.version !== expectedVersion) return Promise.resolve(false);
      sessions.set(record.id, { value: copy(record), until: now() + ttlSeconds * 1000 });
      return Promise.resolve(true);
    },
    delete(id) {
      sessions.delete(id);
      return Promise.resolve();
    },
    putTransaction(id, tx, ttlSeconds) {
      transactions.set(id, { value: copy(tx), until: now() + ttlSeconds * 1000 });
      return Promise.resolve();
    },
    takeTransaction(id) {
      const tx = live(transactions, id);
      transactions.delete(id);
      return Promise.resolve(tx);
    },
    close() {
      clearInterval(sweep);
      sessions.clear();
      transactions.clear();
      return Promise.resolve();
    },
  };
}
