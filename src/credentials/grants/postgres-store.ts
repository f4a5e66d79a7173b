// Users' grants to agents in PostgreSQL: shared by a fleet of gateways (its own table, created if
// missing). Every check is a query (an exchange is rare next to requests), so a grant revoked on one
// instance is refused by every other at once.
import pg from 'pg';
import type { Logger } from 'pino';
import type { AgentGrant, AgentGrantStore } from '../types.ts';
import { schemaOnce } from '../../stores/postgres/schema-once.ts';
import { grantFilterSql } from './grant-rows.ts';

const TIMEOUT_MS = 2_000;

interface Row {
  issuer: string;
  subject: string;
  agent: string;
  created_at: string;
  expires_at: string | null;
  created_by: string;
}

function fromRow(row: Row): AgentGrant {
  const base = { issuer: row.issuer, subject: row.subject, agent: row.agent, createdAt: Number(row.created_at), createdBy: row.created_by };
  return row.expires_at === null ? base : { ...base, expiresAt: Number(row.expires_at) };
}

export function openPostgresAgentGrantStore(url: string, table: string, opts: { log: Logger }): AgentGrantStore {
  if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`agent grants: bad table name ${JSON.stringify(table)}`);
  const pool = new pg.Pool({ connectionString: url, connectionTimeoutMillis: TIMEOUT_MS, query_timeout: TIMEOUT_MS, application_name: 'cortex-agent-grants', max: 4 });
  pool.on('error', (err) => opts.log.warn({ err: err.message }, 'agent grants: idle PostgreSQL connection failed'));
  const schemaSql = `CREATE TABLE IF NOT EXISTS ${table} (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    agent TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    created_by TEXT NOT NULL,
    PRIMARY KEY (issuer, subject, agent)
  )`;
  const ensureSchema = schemaOnce(() => pool.query(schemaSql));
  async function query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    await ensureSchema();
    return pool.query<R>(text, values);
  }
  let closed = false;

  return {
    ready: ensureSchema,
    async has(person, agent, nowMs) {
      const r = await query(`SELECT 1 FROM ${table} WHERE issuer = $1 AND subject = $2 AND agent = $3 AND (expires_at IS NULL OR expires_at > $4)`, [
        person.issuer,
        person.subject,
        agent,
        nowMs,
      ]);
      return (r.rowCount ?? 0) > 0;
    },
    async grant(g) {
      // A grant given again keeps when it was first given and takes the new expiry and author.
      const r = await query<Row>(
        `INSERT INTO ${table} (issuer, subject, agent, created_at, expires_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (issuer, subject, agent) DO UPDATE SET expires_at = EXCLUDED.expires_at, created_by = EXCLUDED.created_by
         RETURNING *`,
        [g.issuer, g.subject, g.agent, g.createdAt ?? Date.now(), g.expiresAt ?? null, g.createdBy],
      );
      return fromRow(r.rows[0] as Row);
    },
    async revoke(person, agent) {
      const r = await query(`DELETE FROM ${table} WHERE issuer = $1 AND subject = $2 AND agent = $3`, [person.issuer, person.subject, agent]);
      return (r.rowCount ?? 0) > 0;
    },
    async list(filter) {
      const { where, values } = grantFilterSql(filter, (i) => `$${i}`);
      const r = await query<Row>(`SELECT * FROM ${table} ${where} ORDER BY created_at, issuer, subject, agent`, values);
      return r.rows.map(fromRow);
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
