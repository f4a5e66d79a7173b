// `cortex audit [filters]`: who accessed what, when, from the trail's query sink (read-only), newest
// first, one line per event; `cortex audit verify ...` checks the hash chains (audit-verify.ts).
import { parseArgs } from 'node:util';
import type { AuditEvent } from '../audit/event.ts';
import { openQueryStore } from '../audit/open-query-store.ts';
import type { AuditQueryStore } from '../audit/open-query-store.ts';
import { AuditQueryError, MAX_LIMIT, parseSince, queryProblem } from '../audit/query-sql.ts';
import type { AuditQuery } from '../audit/record.ts';
import type { Config } from '../config/schema.ts';
import { loadCliConfig, UsageError } from './cli-config.ts';

export interface AuditIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env?: NodeJS.ProcessEnv;
  /** For tests: the store to read instead of the config's query sink. */
  openStore?: (config: Config) => Promise<AuditQueryStore>;
}

const USAGE = `usage:
  cortex audit [--user U] [--agent A] [--kind K] [--intent I] [--route R] [--status N] [--request-id ID]
               [--denied] [--since 1h|7d|ISO] [--until ISO|1h] [--limit N] [--json] [--config FILE] [--stage S]
  cortex audit verify [...]            check every writer's hash chain against its signed checkpoints
--user matches the subject, the preferred username, or the person an agent acted for. Newest first;
--limit is 1-${MAX_LIMIT} (default 100). Without --config, the cortex dev config is used.`;

const OPTIONS = {
  user: { type: 'string', short: 'u' },
  agent: { type: 'string' },
  kind: { type: 'string' },
  intent: { type: 'string' },
  route: { type: 'string' },
  status: { type: 'string' },
  'request-id': { type: 'string' },
  denied: { type: 'boolean' },
  since: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string', short: 'n' },
  json: { type: 'boolean' },
  config: { type: 'string', short: 'c' },
  stage: { type: 'string', short: 's' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS }>>['values'];

export async function runAudit(argv: string[], io: AuditIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  if (argv[0] === 'verify') {
    return (await import('./audit-verify.ts')).runAuditVerify(argv.slice(1), io);
  }
  let values: Values;
  try {
    values = parseArgs({ args: argv, options: OPTIONS, allowPositionals: false }).values;
  } catch (error) {
    io.stderr.write(`cortex audit: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let store: AuditQueryStore | undefined;
  try {
    const filter = filterFrom(values);
    const cfg = await loadCliConfig('audit', values.config, values.stage, io);
    if (cfg === undefined) return 1;
    store = await (io.openStore ?? openQueryStore)(cfg.config);
    const page = await store.query(filter);
    for (const event of page.events) io.stdout.write(`${values.json ? JSON.stringify(event) : formatEventLine(event)}\n`);
    if (page.events.length === 0) io.stderr.write(`no events match (trail: ${store.label})\n`);
    else if (page.next !== undefined) io.stderr.write(`(older events exist: narrow the filters, or raise --limit up to ${MAX_LIMIT})\n`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof AuditQueryError) {
      io.stderr.write(`cortex audit: ${error.message}\n${USAGE}\n`);
      return 2;
    }
    io.stderr.write(`cortex audit: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await store?.close();
  }
}

/** The query for the command line's filters; UsageError for a value that is not one. */
export function filterFrom(v: Values, now: number = Date.now()): AuditQuery {
  const filter: AuditQuery = {};
  if (v.user !== undefined) filter.user = v.user;
  if (v.agent !== undefined) filter.agent = v.agent;
  if (v.kind !== undefined) filter.kind = v.kind;
  if (v.intent !== undefined) filter.intent = v.intent;
  if (v.route !== undefined) filter.route = v.route;
  if (v['request-id'] !== undefined) filter.requestId = v['request-id'];
  if (v.denied === true) filter.denied = true;
  if (v.status !== undefined) {
    if (!/^\d{3}$/.test(v.status)) throw new UsageError(`--status "${v.status}" is not an HTTP status`);
    filter.status = Number(v.status);
  }
  if (v.since !== undefined) filter.sinceMs = timeArg('--since', v.since, now);
  if (v.until !== undefined) filter.untilMs = timeArg('--until', v.until, now);
  if (v.limit !== undefined) {
    if (!/^\d+$/.test(v.limit)) throw new UsageError(`--limit "${v.limit}" is not a number`);
    filter.limit = Number(v.limit);
  }
  const problem = queryProblem(filter);
  if (problem !== undefined) throw new UsageError(problem);
  return filter;
}

function timeArg(flag: string, text: string, now: number): number {
  const ms = parseSince(text, now);
  if (ms === undefined) throw new UsageError(`${flag} "${text}" is neither a duration (30m, 1h, 7d, 2w) nor an ISO time`);
  return ms;
}

/** Local ISO 8601 time to the second, with the offset: 2026-11-26T03:04:05+01:00. */
export function localIso(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number): string => String(n).padStart(2, '0');
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const zone = `${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${zone}`;
}

/** Who, as a person reads it: `bob (user)`, `orders-bot for alice (agent)`, `-` when nobody was identified. */
export function formatWho(event: AuditEvent): string {
  const who = event.who;
  if (who === null) return '-';
  const name = who.username ?? who.subject;
  const person = who.onBehalfOf;
  const acting = person === undefined ? '' : ` for ${person.username ?? person.subject}`;
  return `${name}${acting} (${who.kind})`;
}

/** One line: time, who, method, path, intent, decision, status (a system event shows its action as the method). */
export function formatEventLine(event: AuditEvent): string {
  const status = (event as { outcome?: { status?: number } }).outcome?.status;
  const when = localIso(Date.parse(event.time));
  if (event.type !== 'request') return [when, formatWho(event), event.type, event.action, '-', '-', status ?? '-'].join('  ');
  const decision = event.decision === null ? '-' : event.decision.allow ? 'allow' : 'deny';
  return [when, formatWho(event), event.what.method, event.what.path, event.what.intent ?? '-', decision, status ?? '-'].join('  ');
}
