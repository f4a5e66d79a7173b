// A trail to query: generated request events written through a store's writeBatch (SQLite or
// PostgreSQL, the columns and indexes of RecordColumns in record.ts), and the filters to ask of it.
import type { AuditEvent, RequestAuditEvent } from '../../../src/audit/event.ts';
import type { AuditQuery, ChainedRecord, DurableAuditStore } from '../../../src/audit/record.ts';

/** Writes records through the store's writeBatch, `batch` at a time (one transaction each). */
export async function fillStore(store: DurableAuditStore, records: Iterable<ChainedRecord>, batch = 10_000): Promise<number> {
  let chunk: ChainedRecord[] = [];
  let n = 0;
  for (const r of records) {
    chunk.push(r);
    if (chunk.length === batch) {
      await store.writeBatch(chunk);
      n += chunk.length;
      chunk = [];
    }
  }
  await store.writeBatch(chunk);
  return n + chunk.length;
}

export interface EventSpec {
  id: string;
  timeMs: number;
  subject?: string;
  username?: string;
  kind?: string;
  /** The person an agent acts for. */
  person?: string;
  method?: string;
  path?: string;
  route?: string;
  intent?: string;
  allow?: boolean;
  status?: number;
  code?: string;
}

export function requestEvent(s: EventSpec): RequestAuditEvent {
  const who: RequestAuditEvent['who'] =
    s.subject === undefined ? null : { subject: s.subject, issuer: 'https://idp.test', provider: 'idp', kind: s.kind ?? 'user', method: 'bearer', roles: [] };
  if (who !== null && s.username !== undefined) who.username = s.username;
  if (who !== null && s.person !== undefined) who.onBehalfOf = { subject: s.person, kind: 'user' };
  const what: RequestAuditEvent['what'] = { method: s.method ?? 'GET', host: 'api.test', path: s.path ?? '/orders' };
  if (s.route !== undefined) what.route = s.route;
  if (s.intent !== undefined) what.intent = s.intent;
  return {
    v: 1,
    type: 'request',
    id: s.id,
    time: new Date(s.timeMs).toISOString(),
    stage: 'dev',
    who,
    what,
    decision: s.allow === undefined ? null : { allow: s.allow, mode: 'enforce', policyIds: [], reason: s.allow ? 'permit' : 'forbid' },
    outcome: { status: s.status ?? 200, code: s.code ?? 'ok', durationMs: 1, bytesIn: 0, bytesOut: 0 },
    client: { ip: '127.0.0.1' },
  };
}

/** A record of the writer's chain (the hashes are placeholders: queries never read them). */
export function recordOf(writer: string, seq: number, event: AuditEvent): ChainedRecord {
  return { writer, seq, prevHash: `p${seq - 1}`, hash: `h${seq}`, json: JSON.stringify(event), event };
}

const PEOPLE = Array.from({ length: 200 }, (_, i) => `user${i}`);
const AGENTS = Array.from({ length: 10 }, (_, i) => `agent${i}`);
const INTENTS = ['orders:read', 'orders:create', 'orders:delete', 'invoices:read', 'invoices:pay', 'users:read'];
const ROUTES = ['orders', 'invoices', 'users', 'health'];

/**
 * `count` events over the `spanMs` before `endMs`, three writers interleaved: people (sub-<name>,
 * username <name>), agents acting for them (one in five), anonymous probes, one in twenty denied.
 */
export function* generatedRecords(count: number, endMs: number, spanMs: number): Generator<ChainedRecord> {
  const seqs = [0, 0, 0];
  let state = 0x2545f491;
  // mulberry32: a seeded, repeatable spread of people over events.
  const random = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = 0; i < count; i += 1) {
    const w = i % 3;
    seqs[w] = (seqs[w] as number) + 1;
    const person = PEOPLE[Math.floor(random() * PEOPLE.length)] as string;
    const agent = i % 5 === 0 ? (AGENTS[(i / 5) % AGENTS.length] as string) : undefined;
    const anonymous = i % 50 === 49;
    const denied = random() < 0.05;
    const spec: EventSpec = {
      id: `r${i}`,
      timeMs: endMs - spanMs + Math.floor((i * spanMs) / count),
      route: ROUTES[i % ROUTES.length],
      intent: INTENTS[(i * 31) % INTENTS.length],
      method: i % 11 === 0 ? 'DELETE' : 'GET',
      path: `/orders/${i % 1000}`,
      allow: !denied,
      status: denied ? 403 : 200,
      code: denied ? 'authz.denied' : 'ok',
    };
    if (!anonymous) {
      if (agent !== undefined) Object.assign(spec, { subject: agent, kind: 'agent', person: `sub-${person}` });
      else Object.assign(spec, { subject: `sub-${person}`, username: person, kind: 'user' });
    }
    yield recordOf(`writer-${w}`, seqs[w], requestEvent(spec));
  }
}

/** The filters a trail must answer from an index, by name (the integration test and bench/audit-query.ts). */
export function indexedQueries(nowMs: number): [string, AuditQuery][] {
  const hour = nowMs - 3_600_000;
  const week = nowMs - 7 * 86_400_000;
  return [
    ['newest 100', {}],
    ['since 1h', { sinceMs: hour }],
    ['user (timeline)', { user: 'user42' }],
    ['user since 1h', { user: 'user42', sinceMs: hour }],
    ['user denied since 7d', { user: 'user42', denied: true, sinceMs: week }],
    ['user, limit 50', { user: 'user42', limit: 50 }],
    ['user + intent since 7d', { user: 'user42', intent: 'orders:delete', sinceMs: week }],
    ['agent since 7d', { agent: 'agent3', sinceMs: week }],
    ['intent orders:delete this week', { intent: 'orders:delete', sinceMs: week }],
    ['route since 1h', { route: 'invoices', sinceMs: hour }],
    ['route + status 403, all time', { route: 'invoices', status: 403 }],
    ['request id', { requestId: 'r4242' }],
    ['denied since 1h', { denied: true, sinceMs: hour }],
    ['kind agent since 1h', { kind: 'agent', sinceMs: hour }],
  ];
}
