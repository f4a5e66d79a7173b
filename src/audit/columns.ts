// The index columns of a stored record (RecordColumns in record.ts), derived from its event in one
// place so SQLite and PostgreSQL store (and the query builders filter on) exactly the same values.
// Events other than requests (admin calls, key rotations, ...) may lack any of who/what/outcome.
// A token exchange (/.cortex/token) names its agent and person in `exchange`: they fill agent and
// person, so `--agent` and `--user` find the exchanges (store-sql.ts backfills rows stored before).
import type { AuditExchange, AuditWho, RequestAuditEvent } from './event.ts';
import type { ChainedRecord, RecordColumns } from './record.ts';

interface LooseEvent {
  type?: string;
  id?: string;
  time?: string;
  who?: AuditWho | null;
  what?: Partial<RequestAuditEvent['what']>;
  decision?: { allow?: boolean } | null;
  outcome?: { status?: number; code?: string };
  exchange?: AuditExchange;
}

export function recordColumns(record: ChainedRecord): RecordColumns {
  const e = record.event as LooseEvent;
  const who = e.who ?? null;
  const what = e.what;
  const timeMs = e.time === undefined ? NaN : Date.parse(e.time);
  return {
    writer: record.writer,
    seq: record.seq,
    hash: record.hash,
    prevHash: record.prevHash,
    timeMs: Number.isFinite(timeMs) ? timeMs : 0,
    type: e.type ?? 'request',
    requestId: e.id ?? '',
    subject: who?.subject ?? null,
    username: who?.username ?? null,
    kind: who?.kind ?? null,
    agent: e.exchange?.agent ?? (who?.kind === 'agent' ? who.subject : null),
    person: e.exchange?.person?.subject ?? who?.onBehalfOf?.subject ?? null,
    intent: what?.intent ?? null,
    route: what?.route ?? null,
    method: what?.method ?? null,
    path: what?.path ?? null,
    status: e.outcome?.status ?? null,
    allow: e.decision?.allow ?? null,
    code: e.outcome?.code ?? null,
    json: record.json,
  };
}
