// A key source for unit tests of code that never touches keys (identity derivation, the token
// cache, issuer matching): it only has to satisfy the interface.
import type { ProviderKeySource } from '../../../src/identity/types.ts';

export const UNUSED_KEYS: ProviderKeySource = {
  ready: () => false,
  getKey: () => undefined,
  hasKid: () => false,
  metadata: () => undefined,
  refreshForUnknownKid: () => Promise.resolve('failed'),
  onKeysRemoved: () => undefined,
  status: () => ({ keys: 0, kids: [], lastFetchAt: undefined, lastError: undefined, fetches: 0, failures: 0 }),
};
