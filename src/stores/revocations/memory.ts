// Revocations of delegated tokens in this process's memory: one host. A restart forgets them, which
// bounds the harm to the lifetime of the tokens already issued (minutes by default); a fleet, or a
// host that must remember across restarts, uses Redis.
import type { Logger } from 'pino';
import type { RevocationStore } from '../../credentials/types.ts';
import { RevocationMirror, RevokeListeners } from './revocation-mirror.ts';

const SWEEP_MS = 60_000;

export function createMemoryRevocationStore(opts: { log: Logger; now?: () => number }): RevocationStore {
  const mirror = new RevocationMirror(opts.now ?? Date.now);
  const listeners = new RevokeListeners((err) => opts.log.error({ err: (err as Error).message }, 'revocations: a listener failed'));
  const sweeper = setInterval(() => mirror.sweep(), SWEEP_MS);
  sweeper.unref();
  return {
    ready: () => Promise.resolve(),
    isRevoked: (token) => mirror.isRevoked(token),
    revoke(r) {
      if (mirror.apply(r)) listeners.emit(r);
      return Promise.resolve();
    },
    onRevoke: (listener) => listeners.add(listener),
    close() {
      clearInterval(sweeper);
      mirror.clear();
      return Promise.resolve();
    },
  };
}
