// The body of the WAL checkpointer's worker thread (wal-checkpointer.ts): its own connection to the
// audit file, running a PASSIVE checkpoint every intervalMs, so copying the WAL back into the
// database (most of a row's cost, in long stalls) never runs on the gateway's main thread. PASSIVE
// never blocks the writer: it copies what is committed and stops at anything a reader still needs.
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

const { path, intervalMs } = workerData as { path: string; intervalMs: number };
const db = new DatabaseSync(path);
db.exec('PRAGMA busy_timeout = 1000');

const timer = setInterval(() => {
  try {
    db.exec('PRAGMA wal_checkpoint(PASSIVE)');
  } catch (err) {
    // Busy or I/O trouble: the next tick tries again; the parent hears of it.
    parentPort?.postMessage({ error: err instanceof Error ? err.message : String(err) });
  }
}, intervalMs);

parentPort?.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort?.close();
});
