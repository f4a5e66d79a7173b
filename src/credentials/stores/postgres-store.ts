// The key ring in PostgreSQL, shared by a fleet. update() runs in a transaction holding an advisory
// lock on the table (it also covers an empty table, where SELECT ... FOR UPDATE locks nothing), so
// instances that rotate at once are serialised and the later one sees the key the first added: one
// new key, not two. A change sends NOTIFY (delivered at commit); every instance LISTENs on its own
// connection and reloads at once. The ring also reloads periodically, as a backstop.
import pg from 'pg';
import type { Logger } from 'pino';
import type { KeyRingStore, SigningAlgorithm, StoredKey } from '../types.ts';
import { listenToChannel } from '../../stores/postgres/channel-listener.ts';
import { schemaOnce } from '../../stores/postgres/schema-once.ts';
import { byAge, parseStoredKey } from './stored-keys.ts';

export const CHANNEL = 'cortex_signing_keys';
const TIMEOUT_MS = 5_000;
const RELISTEN_MS = 1_000;

interface Row {
  kid: string;
  alg: SigningAlgorithm;
  public_jwk: Record<string, unknown>;
  sealed_private_key: string;
  created_at: string;
  activates_at: string;
  retires_at: string | null;
}

function fromRow(row: Row, table: string): StoredKey {
  const k = { kid: row.kid, alg: row.alg, publicJwk: row.public_jwk, sealedPrivateKey: row.sealed_private_key, createdAt: Number(row.created_at), activatesAt: Number(row.activates_at) };
  return parseStoredKey(row.retires_at === null ? k : { ...k, retiresAt: Number(row.retires_at) }, `table ${table} kid ${row.kid}`);
}

function same(a: StoredKey, b: StoredKey): boolean {
  return a.activatesAt === b.activatesAt && a.retiresAt === b.retiresAt && a.createdAt === b.createdAt && a.sealedPrivateKey === b.sealedPrivateKey;
}

export interface PostgresKeyStoreOptions {
  log: Logger;
  /** LISTEN for other instances' changes (gateways); the CLI only reads and writes. */
  listen: boolean;
}

export function openPostgresKeyStore(url: string, table: string, opts: PostgresKeyStoreOptions): KeyRingStore {
  if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`invalid signing key table name "${table}"`);
  const settings = { connectionString: url, connectionTimeoutMillis: TIMEOUT_MS, query_timeout: TIMEOUT_MS, application_name: 'cortex-signing-keys' };
  const pool = new pg.Pool({ ...settings, max: 2 });
  pool.on('error', (err) => opts.log.warn({ err: err.message }, 'signing keys: idle PostgreSQL connection failed'));
  const q = `"${table}"`;
  const listeners = new Set<() => void>();
  const emit = (): void => {
    for (const l of listeners) l();
  };
  let closed = false;

  /** Runs `work` in a transaction holding the ring's advisory lock (empty tables included). */
  async function locked<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`cortex_signing_keys:${table}`]);
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  // Under the lock: concurrent CREATE TABLE IF NOT EXISTS can still collide in the catalog.
  const ensureSchema = schemaOnce(() =>
    locked(async (client) => {
      await client.query(`CREATE TABLE IF NOT EXISTS ${q} (
        kid TEXT PRIMARY KEY,
        alg TEXT NOT NULL CHECK (alg IN ('ES256', 'EdDSA', 'RS256')),
        public_jwk JSONB NOT NULL,
        sealed_private_key TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        activates_at BIGINT NOT NULL,
        retires_at BIGINT
      )`);
    }),
  );

  async function select(client: pg.Pool | pg.PoolClient): Promise<StoredKey[]> {
    const r = await client.query<Row>(`SELECT * FROM ${q}`);
    return r.rows.map((row) => fromRow(row, table)).sort(byAge);
  }

  const listener = opts.listen
    ? listenToChannel({
        settings,
        channel: CHANNEL,
        what: 'signing keys',
        log: opts.log,
        retryMs: RELISTEN_MS,
        onNotify: (payload) => {
          if (payload === table) emit();
        },
        // A change made before LISTEN took effect would otherwise wait for the periodic reload.
        onListening: emit,
      })
    : undefined;

  return {
    async load() {
      await ensureSchema();
      return select(pool);
    },
    async update(change) {
      await ensureSchema();
      return locked(async (client) => {
        const keys = await select(client);
        const next = change(keys);
        if (next === undefined) return keys;
        const before = new Map(keys.map((k) => [k.kid, k]));
        const gone = keys.filter((k) => !next.some((n) => n.kid === k.kid)).map((k) => k.kid);
        if (gone.length > 0) await client.query(`DELETE FROM ${q} WHERE kid = ANY($1::text[])`, [gone]);
        for (const k of next) {
          const old = before.get(k.kid);
          if (old !== undefined && same(old, k)) continue;
          await client.query(
            `INSERT INTO ${q} (kid, alg, public_jwk, sealed_private_key, created_at, activates_at, retires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (kid) DO UPDATE SET created_at = EXCLUDED.created_at, activates_at = EXCLUDED.activates_at, retires_at = EXCLUDED.retires_at`,
            [k.kid, k.alg, JSON.stringify(k.publicJwk), k.sealedPrivateKey, k.createdAt, k.activatesAt, k.retiresAt ?? null],
          );
        }
        await client.query('SELECT pg_notify($1, $2)', [CHANNEL, table]);
        return [...next].sort(byAge);
      });
    },
    onChange(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([listener?.close(), pool.end()]);
    },
  };
}
