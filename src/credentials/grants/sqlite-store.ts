// Users' grants to agents in an embedded SQLite file (node:sqlite, WAL): one host. A grant is keyed
// by the person (issuer and subject) and the agent, so granting again updates the one grant.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { SQLInputValue } from 'node:sqlite';
import type { AgentGrant, AgentGrantStore } from '../types.ts';
import { grantFilterSql } from './grant-rows.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS agent_grants (
  issuer TEXT NOT NULL,
  subject TEXT NOT NULL,
  agent TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  created_by TEXT NOT NULL,
  PRIMARY KEY (issuer, subject, agent)
) STRICT`;

type Row = Record<string, SQLInputValue>;

function fromRow(row: Row): AgentGrant {
  const base = {
    issuer: row.issuer as string,
    subject: row.subject as string,
    agent: row.agent as string,
    createdAt: Number(row.created_at),
    createdBy: row.created_by as string,
  };
  return row.expires_at === null ? base : { ...base, expiresAt: Number(row.expires_at) };
}

/** The store's methods are promises for both backends; a synchronous failure becomes a rejection. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

export function openSqliteAgentGrantStore(path: string): AgentGrantStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA busy_timeout = 2000');
  db.exec(SCHEMA);
  const hasStmt = db.prepare('SELECT 1 AS x FROM agent_grants WHERE issuer = ? AND subject = ? AND agent = ? AND (expires_at IS NULL OR expires_at > ?)');
  // A grant given again keeps when it was first given and takes the new expiry and author.
  const upsertStmt = db.prepare(
    `INSERT INTO agent_grants (issuer, subject, agent, created_at, expires_at, created_by) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (issuer, subject, agent) DO UPDATE SET expires_at = excluded.expires_at, created_by = excluded.created_by
     RETURNING *`,
  );
  const revokeStmt = db.prepare('DELETE FROM agent_grants WHERE issuer = ? AND subject = ? AND agent = ?');
  let open = true;

  return {
    ready: () => Promise.resolve(),
    has: (person, agent, nowMs) => settle(() => hasStmt.get(person.issuer, person.subject, agent, nowMs) !== undefined),
    grant: (g) =>
      settle(() => fromRow(upsertStmt.get(g.issuer, g.subject, g.agent, g.createdAt ?? Date.now(), g.expiresAt ?? null, g.createdBy) as Row)),
    revoke: (person, agent) => settle(() => Number(revokeStmt.run(person.issuer, person.subject, agent).changes) > 0),
    list: (filter) =>
      settle(() => {
        const { where, values } = grantFilterSql(filter, () => '?');
        return (db.prepare(`SELECT * FROM agent_grants ${where} ORDER BY created_at, issuer, subject, agent`).all(...values) as Row[]).map(fromRow);
      }),
    close: () =>
      settle(() => {
        if (!open) return;
        open = false;
        db.close();
      }),
  };
}
