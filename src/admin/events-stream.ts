// GET /api/events: the audit trail live, as Server-Sent Events. Each record the AuditLog chains is
// offered to every open stream synchronously, so a stream only filters and queues: a slow reader
// gets a bounded backlog, then an `event: dropped` with how many it missed, and never slows the
// gateway or grows its memory. Filters: ?user=&agent=&route=&decision=allow|deny&kind=&type=.
import type { ServerResponse } from 'node:http';
import type { AuditEvent } from '../audit/event.ts';
import type { ChainedRecord } from '../audit/record.ts';
import { problemReply } from './replies.ts';
import type { AdminReply } from './replies.ts';

export const EVENTS_PATH = '/api/events';
const HEARTBEAT_MS = 15_000;
const RETRY_MS = 2_000;
/** The backlog a stream keeps while its reader is slow, in events and bytes; past either, events are dropped (and counted). */
export const BACKLOG_EVENTS = 1_000;
export const BACKLOG_BYTES = 1024 * 1024;

/** How the admin listener hands a stream the audit records: subscribe, get the unsubscribe. */
export type AuditSubscribe = (listener: (record: ChainedRecord) => void) => () => void;

export interface EventFilter {
  user?: string;
  agent?: string;
  route?: string;
  decision?: 'allow' | 'deny';
  kind?: string;
  type?: 'request' | 'system';
}

export interface EventsRequest {
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly query: URLSearchParams;
  /** Aborted when the admin listener closes: every stream ends then. */
  readonly closing?: AbortSignal;
}

const PARAMS = ['user', 'agent', 'route', 'decision', 'kind', 'type'] as const;

export function eventFilterFrom(query: URLSearchParams): { ok: true; filter: EventFilter } | { ok: false; problem: string } {
  const filter: EventFilter = {};
  const seen = new Set<string>();
  for (const name of query.keys()) {
    if (!(PARAMS as readonly string[]).includes(name)) return { ok: false, problem: `unknown parameter "${name}"` };
    if (seen.has(name)) return { ok: false, problem: `parameter "${name}" given twice` };
    seen.add(name);
  }
  for (const name of ['user', 'agent', 'route', 'kind'] as const) {
    const v = query.get(name);
    if (v !== null && v !== '') filter[name] = v;
  }
  const decision = query.get('decision');
  if (decision !== null) {
    if (decision !== 'allow' && decision !== 'deny') return { ok: false, problem: 'decision must be allow or deny' };
    filter.decision = decision;
  }
  const type = query.get('type');
  if (type !== null) {
    if (type !== 'request' && type !== 'system') return { ok: false, problem: 'type must be request or system' };
    filter.type = type;
  }
  return { ok: true, filter };
}

/** The agent of an event: the caller when it is one, else the agent of a token exchange. */
function agentOf(e: AuditEvent): string | undefined {
  if (e.who?.kind === 'agent') return e.who.subject;
  return e.type === 'request' ? e.exchange?.agent : undefined;
}

/** Whether `e` concerns `user`: its subject or username, or the person an agent acts for. */
function concerns(e: AuditEvent, user: string): boolean {
  const who = e.who;
  if (who === null) return false;
  if (who.subject === user || who.username === user) return true;
  const p = who.onBehalfOf;
  if (p !== undefined && (p.subject === user || p.username === user)) return true;
  return e.type === 'request' && e.exchange?.person?.subject === user;
}

/** As /api/audit's `denied`: a decision to deny, or an authentication or authorization refusal (401/403 authn.*, authz.*). */
export function isDenied(e: AuditEvent): boolean {
  if (e.type === 'request' && e.decision?.allow === false) return true;
  const { status, code } = e.outcome;
  return (status === 401 || status === 403) && (code.startsWith('authn.') || code.startsWith('authz.'));
}

export function matches(e: AuditEvent, f: EventFilter): boolean {
  if (f.type !== undefined && e.type !== f.type) return false;
  if (f.user !== undefined && !concerns(e, f.user)) return false;
  if (f.agent !== undefined && agentOf(e) !== f.agent) return false;
  if (f.kind !== undefined && e.who?.kind !== f.kind) return false;
  if (f.route !== undefined && (e.type !== 'request' || e.what.route !== f.route)) return false;
  if (f.decision !== undefined && isDenied(e) !== (f.decision === 'deny')) return false;
  return true;
}

/** One SSE message for a chained record. The JSON is the one the chain hashed (one line, no newline). */
export function sseMessage(record: ChainedRecord): string {
  return `id: ${record.writer}:${record.seq}\nevent: audit\ndata: ${record.json}\n\n`;
}

/** Writes to a response, holding a bounded backlog while the socket is full. */
class BoundedWriter {
  readonly #res: ServerResponse;
  #backlog: string[] = [];
  #backlogBytes = 0;
  #dropped = 0;

  constructor(res: ServerResponse) {
    this.#res = res;
    res.on('drain', () => this.#flush());
  }

  send(frame: string): void {
    if (this.#res.writableEnded || this.#res.destroyed) return;
    if (!this.#res.writableNeedDrain && this.#backlog.length === 0 && this.#dropped === 0) {
      this.#res.write(frame);
      return;
    }
    const bytes = Buffer.byteLength(frame);
    if (this.#dropped > 0 || this.#backlog.length >= BACKLOG_EVENTS || this.#backlogBytes + bytes > BACKLOG_BYTES) {
      this.#dropped++;
      return;
    }
    this.#backlog.push(frame);
    this.#backlogBytes += bytes;
  }

  /** A heartbeat only when the socket is idle: a backlog already shows the stream is alive. */
  heartbeat(): void {
    if (!this.#res.writableNeedDrain && this.#backlog.length === 0) this.#res.write(': heartbeat\n\n');
  }

  #flush(): void {
    while (this.#backlog.length > 0) {
      const frame = this.#backlog.shift() as string;
      this.#backlogBytes -= Buffer.byteLength(frame);
      if (!this.#res.write(frame)) return;
    }
    if (this.#dropped > 0) {
      const count = this.#dropped;
      this.#dropped = 0;
      this.#res.write(`event: dropped\ndata: ${JSON.stringify({ count })}\n\n`);
    }
  }
}

export function eventsEndpoint(ctx: EventsRequest, subscribe: AuditSubscribe | undefined): AdminReply | 'handled' {
  if (subscribe === undefined) return problemReply('admin.not_found', ctx.requestId, 'The audit log is not open.');
  const parsed = eventFilterFrom(ctx.query);
  if (!parsed.ok) return problemReply('request.malformed', ctx.requestId, `Cannot stream events: ${parsed.problem}.`);
  const { res } = ctx;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
    // The stream is the connection's last response: ending it (the listener closing) frees the socket at once.
    connection: 'close',
  });
  res.write(`retry: ${RETRY_MS}\n: cortex audit events\n\n`);
  const writer = new BoundedWriter(res);
  const filter = parsed.filter;
  const unsubscribe = subscribe((record) => {
    if (matches(record.event, filter)) writer.send(sseMessage(record));
  });
  const heartbeat = setInterval(() => writer.heartbeat(), HEARTBEAT_MS);
  heartbeat.unref();
  const end = (): void => {
    clearInterval(heartbeat);
    unsubscribe();
    ctx.closing?.removeEventListener('abort', end);
    if (!res.writableEnded) res.end();
  };
  res.once('close', end);
  if (ctx.closing?.aborted === true) end();
  else ctx.closing?.addEventListener('abort', end, { once: true });
  return 'handled';
}
