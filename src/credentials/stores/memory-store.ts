// The key ring kept in this process only: the default when no store is configured, so that every
// gateway signs its assertions out of the box. A restart makes new keys (verifiers refetch the
// JWKS on an unknown kid); a fleet, or tokens that must outlive a restart, need the file or
// PostgreSQL store. The private keys are still sealed, with a random key that never leaves memory.
import type { KeyRingStore, StoredKey } from '../types.ts';
import { byAge } from './stored-keys.ts';

export function openMemoryKeyStore(): KeyRingStore {
  let keys: StoredKey[] = [];
  let queue: Promise<unknown> = Promise.resolve();
  return {
    load: () => Promise.resolve([...keys]),
    update(change) {
      const run = queue.then(() => {
        const next = change(keys);
        if (next !== undefined) keys = [...next].sort(byAge);
        return [...keys];
      });
      queue = run.catch(() => undefined);
      return run;
    },
    async close() {
      await queue;
    },
  };
}
