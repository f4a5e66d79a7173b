// The configured key ring store: this process's memory (the default), a file on one host,
// PostgreSQL for a fleet.
import type { Logger } from 'pino';
import type { SigningKeysConfig } from '../../config/schema-credentials.ts';
import type { KeyRingStore } from '../types.ts';
import { openFileKeyStore } from './file-store.ts';
import { openMemoryKeyStore } from './memory-store.ts';
import { openPostgresKeyStore } from './postgres-store.ts';

export function openKeyRingStore(store: SigningKeysConfig['store'], opts: { log: Logger; listen: boolean }): KeyRingStore {
  if (store.type === 'memory') return openMemoryKeyStore();
  return store.type === 'file' ? openFileKeyStore(store.path) : openPostgresKeyStore(store.url, store.table, opts);
}
