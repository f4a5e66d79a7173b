// The key ring in a JSON file, for ONE host: update() is serialised per file within this process only, so
// two processes (or hosts on a shared disk) rotating at once could each add a key. A fleet uses the
// PostgreSQL store. The file holds private keys (sealed) and is written 0600 via temp + rename, so
// a crash leaves the old file or the new one, never half of one.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { KeyRingStore, StoredKey } from '../types.ts';
import { byAge, parseStoredKey } from './stored-keys.ts';

const FILE_VERSION = 1;

async function readKeys(path: string): Promise<StoredKey[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error(`${path}: the signing key file is not JSON`);
  }
  const d = doc as { version?: unknown; keys?: unknown };
  if (typeof doc !== 'object' || doc === null || d.version !== FILE_VERSION || !Array.isArray(d.keys)) {
    throw new Error(`${path}: not a version ${FILE_VERSION} signing key file`);
  }
  return d.keys.map((k, i) => parseStoredKey(k, `${path} keys[${i}]`)).sort(byAge);
}

async function writeKeys(path: string, keys: readonly StoredKey[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, `${JSON.stringify({ version: FILE_VERSION, keys }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    // The umask may have narrowed the mode; never widened, but say exactly what we mean.
    await chmod(temp, 0o600);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Updates queued per file, across every store of this process that opened it. */
const queues = new Map<string, Promise<unknown>>();

export function openFileKeyStore(file: string): KeyRingStore {
  const path = resolve(file);
  return {
    load: () => readKeys(path),
    update(change) {
      const run = (queues.get(path) ?? Promise.resolve()).then(async () => {
        const keys = await readKeys(path);
        const next = change(keys);
        if (next === undefined) return keys;
        const sorted = [...next].sort(byAge);
        await writeKeys(path, sorted);
        return sorted;
      });
      const settled = run.catch(() => undefined);
      queues.set(path, settled);
      void settled.then(() => {
        if (queues.get(path) === settled) queues.delete(path);
      });
      return run;
    },
    async close() {
      await queues.get(path);
    },
  };
}
