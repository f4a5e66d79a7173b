// Checkpoints of the SQLite audit file off the main thread. The writer's connection turns its own
// automatic checkpoint off while a worker thread (wal-checkpoint-worker.ts) checkpoints every
// intervalMs; if the worker cannot start or dies, the writer's automatic checkpoint comes back, so
// the WAL never grows without bound.
import type { DatabaseSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';

/** The writer's own checkpoint interval (pages) when no worker does it: about 80 MB of WAL. */
export const WRITER_AUTOCHECKPOINT_PAGES = 20_000;

export interface WalCheckpointer {
  /** Stops the worker (its connection closed) before the writer closes its own. */
  stop(): Promise<void>;
}

export function startWalCheckpointer(db: DatabaseSync, path: string, intervalMs = 1000, onError?: (message: string) => void): WalCheckpointer {
  const fallBack = (): void => {
    try {
      if (db.isOpen) db.exec(`PRAGMA wal_autocheckpoint = ${WRITER_AUTOCHECKPOINT_PAGES}`);
    } catch {
      // The writer is closing; nothing is left to checkpoint for.
    }
  };
  let stopping = false;
  let exited = false;
  const worker = new Worker(new URL('./wal-checkpoint-worker.ts', import.meta.url), { workerData: { path, intervalMs } });
  worker.unref();
  db.exec('PRAGMA wal_autocheckpoint = 0');
  worker.on('message', (m: { error?: string }) => {
    if (m.error !== undefined) onError?.(m.error);
  });
  worker.on('error', (err: Error) => {
    onError?.(err.message);
    fallBack();
  });
  worker.on('exit', () => {
    exited = true;
    if (!stopping) fallBack();
  });
  return {
    async stop() {
      if (stopping || exited) return;
      stopping = true;
      worker.ref(); // Until it has closed its connection.
      // Not events.once: it would reject on a worker 'error', and stop() only waits for the end.
      const gone = new Promise((resolve) => worker.once('exit', resolve));
      worker.postMessage('stop');
      await gone;
    },
  };
}
