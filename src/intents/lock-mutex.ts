// The lock file is written by two parties: a running gateway (recording new operations) and
// `cortex intents approve`. Each does read → change → write; without mutual exclusion one can
// overwrite the other's change (an approval lost, or a new operation dropped). An exclusive
// `<lock>.mutex` file (O_EXCL create) guards the read-modify-write. The gateway never waits for it
// (its next refresh writes instead); the CLI waits a few seconds. A mutex left by a crashed process
// is taken over once it is older than STALE_MS.
import { closeSync, mkdirSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

const STALE_MS = 30_000;
const POLL_MS = 25;

export type ReleaseMutex = () => void;

function tryCreate(mutexPath: string): boolean {
  try {
    const fd = openSync(mutexPath, 'wx', 0o600);
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  }
}

function isStale(mutexPath: string, now: number): boolean {
  try {
    return now - statSync(mutexPath).mtimeMs > STALE_MS;
  } catch {
    return true;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Takes the mutex of `lockPath`, waiting up to `waitMs` (0: one attempt). Returns the release
 * function, or undefined when another writer holds it.
 */
export function acquireLockMutex(lockPath: string, waitMs: number, now: () => number = Date.now): ReleaseMutex | undefined {
  const mutexPath = `${lockPath}.mutex`;
  mkdirSync(dirname(mutexPath), { recursive: true });
  const deadline = now() + waitMs;
  for (;;) {
    if (tryCreate(mutexPath)) return () => rmSync(mutexPath, { force: true });
    if (isStale(mutexPath, now())) {
      rmSync(mutexPath, { force: true });
      continue;
    }
    if (now() >= deadline) return undefined;
    sleepSync(POLL_MS);
  }
}
