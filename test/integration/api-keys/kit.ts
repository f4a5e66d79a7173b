// Shared by the API key integration tests: a gateway whose /svc/ routes take API keys, in front of
// a recording upstream, and a throwaway PostgreSQL database per test run.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';

export const HMAC_SECRET = 'test-api-key-hmac-secret-0123456789abcdef';
export const PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';

export type StoreYaml = { type: 'sqlite'; path: string } | { type: 'postgres'; url: string };

export interface KeyGateway {
  gw: TestGateway;
  upstream: TestUpstream;
  close(): Promise<void>;
}

/** A gateway with identity.apiKeys on `store` and the route /svc/ (auth: api_key). */
export async function startKeyGateway(store: StoreYaml, upstream?: TestUpstream): Promise<KeyGateway> {
  const up = upstream ?? (await startUpstream());
  const storeYaml = store.type === 'sqlite' ? `{ type: sqlite, path: ${JSON.stringify(store.path)} }` : `{ type: postgres, url: ${JSON.stringify(store.url)} }`;
  const gw = await startTestGateway(
    [
      'identity:',
      '  apiKeys:',
      `    store: ${storeYaml}`,
      `    hmacSecret: ${HMAC_SECRET}`,
      `upstreams:\n  up: { url: "${up.url}" }`,
      'routes:',
      '  svc: { match: { prefix: /svc/ }, upstream: up, auth: api_key }',
    ].join('\n'),
  );
  return {
    gw,
    upstream: up,
    async close() {
      await gw.close();
      if (upstream === undefined) await up.close();
    },
  };
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh database `cortex_test_<random>`, dropped (with its connections) by drop(). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `cortex_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
