// The configured store of users' grants to agents: SQLite on one host, PostgreSQL for a fleet.
import type { Logger } from 'pino';
import type { CredentialsConfig } from '../../config/schema.ts';
import type { AgentGrantStore } from '../types.ts';
import { openPostgresAgentGrantStore } from './postgres-store.ts';
import { openSqliteAgentGrantStore } from './sqlite-store.ts';

export type AgentGrantsConfig = NonNullable<CredentialsConfig['tokenExchange']>['grants'];

export function openAgentGrantStore(cfg: AgentGrantsConfig, opts: { log: Logger }): AgentGrantStore {
  return cfg.type === 'sqlite' ? openSqliteAgentGrantStore(cfg.path) : openPostgresAgentGrantStore(cfg.url, cfg.table, opts);
}
