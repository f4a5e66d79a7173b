// The SQL of `cortex audit` and GET /api/audit, for the SQLite and PostgreSQL stores alike: every
// value is a bound parameter, the table name is checked, the order is newest first by
// (time_ms, writer, seq) and pages follow an opaque keyset cursor, so page N costs what page 1 does.
//
// Each filter is an equality on an indexed column ((subject|username|person|agent|intent|route,
// time_ms), (request_id)) or a range on (time_ms), so the planner walks one index newest first and
// stops after limit + 1 rows. `user` matches three columns: an OR across them would defeat the
// indexes (and sort every one of the person's events), so it is a UNION of three indexed branches,
// each limited, merged and limited again.
import type { AuditEvent } from './event.ts';
import type { AuditPage, AuditQuery } from './record.ts';

export type SqlDialect = 'sqlite' | 'postgres';

export interface BuiltQuery {
  sql: string;
  params: unknown[];
  /** The page size; the SQL fetches one row more to know whether there is a next page. */
  limit: number;
}

/** A filter or cursor that cannot be run: the caller's mistake (CLI exit 2, API 400). */
export class AuditQueryError extends Error {}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
const MAX_TEXT = 512;
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export interface CursorPosition {
  timeMs: number;
  writer: string;
  seq: number;
}

/** The position of the last row of a page, as an opaque base64url token. */
export function encodeCursor(p: CursorPosition): string {
  return Buffer.from(JSON.stringify({ t: p.timeMs, w: p.writer, s: p.seq }), 'utf8').toString('base64url');
}

/** The position in a cursor; AuditQueryError when it is not one this module made. */
export function decodeCursor(cursor: string): CursorPosition {
  const bad = (): never => {
    throw new AuditQueryError('cursor is not valid (pass the "next" of a previous page unchanged)');
  };
  if (cursor.length === 0 || cursor.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(cursor)) bad();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return bad();
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad();
  const { t, w, s } = value as Record<string, unknown>;
  if (Object.keys(value).length !== 3) bad();
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0) bad();
  if (typeof w !== 'string' || w.length === 0 || w.length > MAX_TEXT) bad();
  if (typeof s !== 'number' || !Number.isSafeInteger(s) || s < 1) bad();
  return { timeMs: t as number, writer: w as string, seq: s as number };
}

const DURATION = /^(\d+)(s|m|h|d|w)$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `1h`, `7d`, `30m`, ... before `now`, or an ISO 8601 time; undefined when it is neither. */
export function parseSince(text: string, now: number = Date.now()): number | undefined {
  const m = DURATION.exec(text.trim());
  if (m !== null) return now - Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  return parseTime(text);
}

/** An ISO 8601 date or date-time (a bare date is UTC midnight); undefined otherwise. */
export function parseTime(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) return undefined;
  const ms = Date.parse(text.trim());
  return Number.isFinite(ms) ? ms : undefined;
}

/** The problem with a filter, or undefined when buildQuery can run it. */
export function queryProblem(filter: AuditQuery): string | undefined {
  for (const key of ['user', 'agent', 'kind', 'intent', 'route', 'requestId', 'type'] as const) {
    const v = filter[key];
    if (v !== undefined && (typeof v !== 'string' || v.length === 0 || v.length > MAX_TEXT)) return `${key} must be 1-${MAX_TEXT} characters`;
  }
  if (filter.status !== undefined && (!Number.isInteger(filter.status) || filter.status < 100 || filter.status > 599)) return 'status must be an HTTP status (100-599)';
  for (const key of ['sinceMs', 'untilMs'] as const) {
    const v = filter[key];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) return `${key} must be a time in epoch milliseconds`;
  }
  if (filter.limit !== undefined && (!Number.isInteger(filter.limit) || filter.limit < 1 || filter.limit > MAX_LIMIT)) return `limit must be 1-${MAX_LIMIT}`;
  return undefined;
}

class Params {
  readonly values: unknown[] = [];
  readonly dialect: SqlDialect;
  constructor(dialect: SqlDialect) {
    this.dialect = dialect;
  }
  add(value: unknown): string {
    this.values.push(value);
    return this.dialect === 'postgres' ? `$${this.values.length}` : '?';
  }
}

const COLUMNS = 'json, time_ms, writer, seq';
const ORDER = 'ORDER BY time_ms DESC, writer DESC, seq DESC';
const DENIED = "(allow = FALSE OR (status IN (401, 403) AND (code LIKE 'authn.%' OR code LIKE 'authz.%')))";

const EQUALITIES: [keyof AuditQuery, string][] = [['agent', 'agent'], ['kind', 'kind'], ['intent', 'intent'], ['route', 'route'], ['requestId', 'request_id'], ['type', 'type'], ['status', 'status']];
/** Indexed columns that are usually less selective than a person (but not a request id). */
const BROADER = new Set(['agent', 'intent', 'route']);

/**
 * The conditions on everything but `user` (shared by every branch of the user UNION). In a user
 * branch on SQLite, which plans without statistics, `+column` keeps the broader indexes out of the
 * choice so the person's own (column, time_ms) index is walked; PostgreSQL chooses by statistics.
 */
function conditions(filter: AuditQuery, cursor: CursorPosition | undefined, p: Params, userBranch = false): string[] {
  const where: string[] = [];
  for (const [key, column] of EQUALITIES) {
    const v = filter[key];
    const demote = userBranch && p.dialect === 'sqlite' && BROADER.has(column);
    if (v !== undefined) where.push(`${demote ? '+' : ''}${column} = ${p.add(v)}`);
  }
  if (filter.denied === true) where.push(DENIED);
  if (filter.sinceMs !== undefined) where.push(`time_ms >= ${p.add(filter.sinceMs)}`);
  if (filter.untilMs !== undefined) where.push(`time_ms < ${p.add(filter.untilMs)}`);
  if (cursor !== undefined) {
    // Expanded rather than a row comparison, so `time_ms <= ?` is a range on the index.
    const t = cursor.timeMs;
    where.push(`time_ms <= ${p.add(t)}`);
    where.push(`(time_ms < ${p.add(t)} OR writer < ${p.add(cursor.writer)} OR (writer = ${p.add(cursor.writer)} AND seq < ${p.add(cursor.seq)}))`);
  }
  return where;
}

function select(table: string, where: string[], limitParam: string): string {
  const clause = where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`;
  return `SELECT ${COLUMNS} FROM ${table}${clause} ${ORDER} LIMIT ${limitParam}`;
}

/** The parameterized SELECT of one page (newest first); AuditQueryError for a bad filter or cursor. */
export function buildQuery(dialect: SqlDialect, table: string, filter: AuditQuery): BuiltQuery {
  if (!TABLE_NAME.test(table)) throw new Error(`audit table name "${table}" is not a plain SQL identifier`);
  const problem = queryProblem(filter);
  if (problem !== undefined) throw new AuditQueryError(problem);
  const limit = filter.limit ?? DEFAULT_LIMIT;
  const cursor = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor);
  const p = new Params(dialect);
  if (filter.user === undefined) {
    const where = conditions(filter, cursor, p);
    return { sql: select(table, where, p.add(limit + 1)), params: p.values, limit };
  }
  const branches = ['subject', 'username', 'person'].map((column, i) => {
    const where = [`${column} = ${p.add(filter.user)}`, ...conditions(filter, cursor, p, true)];
    return `SELECT ${COLUMNS} FROM (${select(table, where, p.add(limit + 1))}) AS b${i}`;
  });
  // UNION (not ALL): a row whose subject and username are both the user is one event.
  const sql = `SELECT ${COLUMNS} FROM (${branches.join(' UNION ')}) AS u ${ORDER} LIMIT ${p.add(limit + 1)}`;
  return { sql, params: p.values, limit };
}

/** A row of the query: PostgreSQL returns BIGINT as a string, node:sqlite as a number or bigint. */
export interface QueryRow {
  json: unknown;
  time_ms: unknown;
  writer: unknown;
  seq: unknown;
}

/** The page from the rows of a built query: at most `limit` events, and a cursor when there are more. */
export function pageFromRows(rows: readonly QueryRow[], limit: number): AuditPage {
  const kept = rows.slice(0, limit);
  const events = kept.map((r) => JSON.parse(String(r.json)) as AuditEvent);
  const last = kept.at(-1);
  if (rows.length <= limit || last === undefined) return { events };
  return { events, next: encodeCursor({ timeMs: Number(last.time_ms), writer: String(last.writer), seq: Number(last.seq) }) };
}

/** Runs a filter on a store through its own `all(sql, params)`: the whole of a store's query(). */
export async function runQuery(
  dialect: SqlDialect,
  table: string,
  filter: AuditQuery,
  all: (sql: string, params: unknown[]) => Promise<readonly QueryRow[]> | readonly QueryRow[],
): Promise<AuditPage> {
  const { sql, params, limit } = buildQuery(dialect, table, filter);
  return pageFromRows(await all(sql, params), limit);
}
