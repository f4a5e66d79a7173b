// GET /api/audit: the trail's query API (behind the admin token), with the filters of `cortex
// audit`: ?user=&agent=&kind=&intent=&route=&status=&requestId=&denied=&since=&until=&limit=&cursor=
// → { events, next } newest first, and a `Link: <...>; rel="next"` header while older pages exist.
import type { Logger } from 'pino';
import { AuditQueryError, parseSince, queryProblem } from '../audit/query-sql.ts';
import type { AuditPage, AuditQuery } from '../audit/record.ts';
import { jsonReply, problemReply } from './replies.ts';
import type { AdminReply } from './replies.ts';

export const AUDIT_PATH = '/api/audit';

/** What the admin API needs of the gateway's query sink (DurableAuditStore has it). */
export interface AuditQuerySource {
  query(filter: AuditQuery): Promise<AuditPage>;
}

export interface AuditRequest {
  readonly requestId: string;
  readonly query: URLSearchParams;
  readonly deps: { readonly log: Logger };
}

const TEXT_PARAMS = ['user', 'agent', 'kind', 'intent', 'route', 'requestId', 'type', 'cursor'] as const;
const KNOWN = new Set<string>([...TEXT_PARAMS, 'status', 'denied', 'since', 'until', 'limit']);

type Parsed = { ok: true; filter: AuditQuery } | { ok: false; problem: string };

/** The filter in a query string; every parameter at most once, none unknown. */
export function auditFilterFrom(params: URLSearchParams, now: number = Date.now()): Parsed {
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (!KNOWN.has(name)) return { ok: false, problem: `unknown parameter "${name}"` };
    if (seen.has(name)) return { ok: false, problem: `parameter "${name}" given twice` };
    seen.add(name);
  }
  const filter: AuditQuery = {};
  for (const name of TEXT_PARAMS) {
    const v = params.get(name);
    if (v !== null) filter[name] = v;
  }
  const status = params.get('status');
  if (status !== null) {
    if (!/^\d{3}$/.test(status)) return { ok: false, problem: 'status must be an HTTP status' };
    filter.status = Number(status);
  }
  const denied = params.get('denied');
  if (denied !== null) {
    if (denied !== 'true' && denied !== 'false' && denied !== '') return { ok: false, problem: 'denied must be true or false' };
    if (denied !== 'false') filter.denied = true;
  }
  for (const [name, key] of [['since', 'sinceMs'], ['until', 'untilMs']] as const) {
    const v = params.get(name);
    if (v === null) continue;
    const ms = parseSince(v, now);
    if (ms === undefined) return { ok: false, problem: `${name} must be a duration (30m, 1h, 7d) or an ISO time` };
    filter[key] = ms;
  }
  const limit = params.get('limit');
  if (limit !== null) {
    if (!/^\d{1,7}$/.test(limit)) return { ok: false, problem: 'limit must be a number' };
    filter.limit = Number(limit);
  }
  const problem = queryProblem(filter);
  return problem === undefined ? { ok: true, filter } : { ok: false, problem };
}

/** The link to the next page: the same query with `cursor` replaced. */
function nextLink(params: URLSearchParams, next: string): string {
  const q = new URLSearchParams(params);
  q.set('cursor', next);
  return `<${AUDIT_PATH}?${q.toString()}>; rel="next"`;
}

export async function auditEndpoint(ctx: AuditRequest, source: AuditQuerySource | undefined): Promise<AdminReply> {
  if (source === undefined) return problemReply('admin.not_found', ctx.requestId, 'No queryable audit sink is configured (audit.sinks: sqlite or postgres).');
  const parsed = auditFilterFrom(ctx.query);
  if (!parsed.ok) return problemReply('request.malformed', ctx.requestId, `Cannot query the audit trail: ${parsed.problem}.`);
  let page: AuditPage;
  try {
    page = await source.query(parsed.filter);
  } catch (err) {
    if (err instanceof AuditQueryError) return problemReply('request.malformed', ctx.requestId, `Cannot query the audit trail: ${err.message}.`);
    ctx.deps.log.error({ err: (err as Error).message }, 'audit query failed');
    return problemReply('admin.audit_unavailable', ctx.requestId, 'The audit store could not be queried.');
  }
  const reply = jsonReply(200, { events: page.events, next: page.next ?? null });
  if (page.next !== undefined) reply.headers = { link: nextLink(ctx.query, page.next) };
  return reply;
}
