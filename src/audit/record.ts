// The contract of the durable audit trail (issue 8). The AuditLog turns each event into a
// ChainedRecord of its writer's hash chain (chain.ts) before any sink sees it, so every sink stores
// the same records; durable sinks (sqlite, postgres) keep them in the columns below, index them for
// queries (query.ts), and store the writer's signed checkpoints beside them.
import type { AuditEvent } from './event.ts';

/** sha256 hex of 32 zero bytes: the prevHash of a chain's first record. */
export const GENESIS_HASH = '0'.repeat(64);

export interface ChainedRecord {
  /** The chain: one per writer (a gateway process run): `<host>/<pid>/<start ms>/<random>`. */
  readonly writer: string;
  /** 1, 2, 3, ... within the writer, no gaps. */
  readonly seq: number;
  readonly prevHash: string;
  /** sha256 hex of `${prevHash}\n${json}`. */
  readonly hash: string;
  /** The event exactly as hashed (JSON, serialized once). */
  readonly json: string;
  readonly event: AuditEvent;
}

/** A writer's chain head, signed with Cortex's key ring (a compact JWS over the other fields). */
export interface Checkpoint {
  readonly writer: string;
  readonly seq: number;
  readonly hash: string;
  /** ISO 8601 UTC. */
  readonly time: string;
  /** Why it was made: after a committed batch, at shutdown, or at a retention cut (seq = the last record deleted; its hash is the first kept record's prevHash). */
  readonly reason: 'batch' | 'shutdown' | 'prune';
  readonly kid: string;
  /** Compact JWS (typ cortex-audit-checkpoint+jwt) whose payload is { writer, seq, hash, time, reason }. */
  readonly jws: string;
}

/**
 * Index columns of a stored record (SQLite and PostgreSQL alike), all derived from the event:
 *   writer, seq, hash, prev_hash, time_ms (BIGINT), type, request_id, subject, username, kind,
 *   agent (the agent's client id when kind = agent, or a token exchange's exchange.agent), person (the
 *   subject acted for, or a token exchange's exchange.person.subject), intent, route,
 *   method, path, status, allow (boolean|null), code, json (the event text, exactly as hashed).
 * Primary key (writer, seq). Indexes: (time_ms), (subject, time_ms), (username, time_ms),
 * (person, time_ms), (agent, time_ms), (intent, time_ms), (route, time_ms), (request_id).
 */
export interface RecordColumns {
  readonly writer: string;
  readonly seq: number;
  readonly hash: string;
  readonly prevHash: string;
  readonly timeMs: number;
  readonly type: string;
  readonly requestId: string;
  readonly subject: string | null;
  readonly username: string | null;
  readonly kind: string | null;
  readonly agent: string | null;
  readonly person: string | null;
  readonly intent: string | null;
  readonly route: string | null;
  readonly method: string | null;
  readonly path: string | null;
  readonly status: number | null;
  readonly allow: boolean | null;
  readonly code: string | null;
  readonly json: string;
}

/** A sink that keeps records durably and can be read back (verify, queries). */
export interface DurableAuditStore {
  /** Writes a batch in one transaction (idempotent on (writer, seq): a replay after a crash is harmless). */
  writeBatch(records: readonly ChainedRecord[]): Promise<void>;
  writeCheckpoint(checkpoint: Checkpoint): Promise<void>;
  /** Every writer's records in seq order (verify reads them writer by writer). */
  writers(): Promise<string[]>;
  records(writer: string, fromSeq: number, limit: number): Promise<ChainedRecord[]>;
  checkpoints(writer: string): Promise<Checkpoint[]>;
  query(filter: AuditQuery): Promise<AuditPage>;
  /** Deletes records older than `beforeMs`; returns, per writer, the first seq kept. */
  prune(beforeMs: number): Promise<Map<string, number>>;
  /**
   * Deletes, per writer, its records with seq <= the given cut: exactly the prefix the retention
   * checkpoint signed (prune.ts). Event times are request start times, not ordered by seq, so a cut
   * by time alone could leave holes. Optional: without it prune.ts falls back to prune(beforeMs).
   */
  pruneThrough?(cuts: ReadonlyMap<string, number>): Promise<void>;
  /**
   * Deletes, per writer, its stored checkpoints with seq < the given seq (the new retention
   * checkpoint's): they cover only records retention removed. Optional: without it they stay.
   */
  pruneCheckpoints?(cuts: ReadonlyMap<string, number>): Promise<void>;
  close(): Promise<void>;
}

/** The filters of `cortex audit` and GET /api/audit. */
export interface AuditQuery {
  /** Matches the subject, the preferred username, or the person an agent acted for. */
  user?: string;
  agent?: string;
  kind?: string;
  intent?: string;
  route?: string;
  status?: number;
  requestId?: string;
  /** Only denied decisions (allow = false) and authentication refusals (4xx from authn/authz). */
  denied?: boolean;
  type?: string;
  sinceMs?: number;
  untilMs?: number;
  /** Newest first; at most 1000. */
  limit?: number;
  /** Opaque, from the previous page's `next`. */
  cursor?: string;
}

export interface AuditPage {
  events: AuditEvent[];
  /** Cursor of the next (older) page; undefined on the last. */
  next?: string;
}
