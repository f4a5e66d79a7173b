// A person's or an agent's page: what they called and when, what they were refused and why, and
// which agents act for them (their delegation grants, and agents seen acting for them).
import { ApiError, getJson, query } from '../api.ts';
import { ago, clockTime, dateTime, decisionText, denialReason, milliseconds, statusClass } from '../format.ts';
import { personHref } from '../router.ts';
import type { AuditPage, Person, PersonAgent, RequestEvent } from '../types.ts';
import { usePoll } from '../use-poll.ts';

const LIMIT = 50;
const REFRESH_MS = 5_000;

interface PersonData {
  person: Person | undefined;
  calls: RequestEvent[];
  denials: RequestEvent[];
}

async function loadPerson(user: string): Promise<PersonData> {
  const audit = (denied: boolean): Promise<AuditPage> => getJson<AuditPage>(`/api/audit${query({ user, type: 'request', denied, limit: LIMIT })}`);
  const [person, calls, denials] = await Promise.all([
    getJson<Person>(`/api/people/${encodeURIComponent(user)}`).catch((err: unknown) => {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }),
    audit(false),
    audit(true),
  ]);
  return { person, calls: calls.events, denials: denials.events };
}

function dayAndTime(iso: string): string {
  return new Date(iso).toDateString() === new Date().toDateString() ? clockTime(iso) : dateTime(iso);
}

/** The people an agent acted for, from its calls. */
function actedFor(calls: RequestEvent[]): string[] {
  const people = new Set<string>();
  for (const e of calls) if (e.who?.onBehalfOf !== undefined) people.add(e.who.onBehalfOf.subject);
  return [...people].sort();
}

function AgentItem({ a }: { a: PersonAgent }) {
  const intents = a.intents ?? a.grant?.intents ?? [];
  return (
    <li class="agent-item" data-testid="person-agent">
      <div class="agent-head">
        <a class="mono strong" href={personHref(a.agent)}>
          {a.agent}
        </a>
        {a.grant === null ? (
          <span class="tag tag-warn">no grant on record</span>
        ) : a.grant.expired === true ? (
          <span class="tag tag-warn">grant expired</span>
        ) : (
          <span class="tag tag-ok">granted {a.grant.createdAt === null ? '' : ago(a.grant.createdAt)}</span>
        )}
      </div>
      <div class="chips">
        {intents.length === 0 ? <span class="muted small">no intents used yet</span> : intents.map((i) => <span key={i} class="chip mono">{i}</span>)}
      </div>
      <div class="muted small">
        last seen {ago(a.lastSeen)}
        {a.grant?.expiresAt !== undefined && a.grant.expiresAt !== null ? ` · grant expires ${dateTime(a.grant.expiresAt)}` : ''}
      </div>
    </li>
  );
}

/** The time and request cells of a call; `viaAgent` marks calls an agent made for the person. */
function WhenAndWhat({ e, viaAgent }: { e: RequestEvent; viaAgent: boolean }) {
  return (
    <>
      <td class="mono nowrap" title={e.time}>
        {dayAndTime(e.time)}
      </td>
      <td class="path-cell">
        <span class="method">{e.what.method}</span>
        <span class="mono">{e.what.path}</span>
        {viaAgent && e.who?.kind === 'agent' && <span class="tag tag-agent">via {e.who.subject}</span>}
      </td>
    </>
  );
}

export function PersonPage({ user }: { user: string }) {
  const { data, error, loading } = usePoll(() => loadPerson(user), REFRESH_MS, [user]);
  const person = data?.person;
  const calls = data?.calls ?? [];
  const denials = data?.denials ?? [];
  const isAgent = person?.kinds.includes('agent') === true || calls.some((e) => e.who?.kind === 'agent' && e.who.subject === user);
  const principals = isAgent ? actedFor(calls) : [];
  return (
    <section class="page">
      <header class="page-head">
        <div>
          <div class="crumbs">
            <a href="#/">Live feed</a> / {isAgent ? 'agent' : 'person'}
          </div>
          <h1 data-testid="person-name">{person?.username ?? user}</h1>
          <p class="muted">
            {person?.subject !== undefined && person.subject !== null && <span class="mono">{person.subject}</span>}
            {person !== undefined && person.kinds.length > 0 && <span> · {person.kinds.join(', ')}</span>}
            <span> · last seen {ago(person?.lastSeen ?? calls[0]?.time)}</span>
          </p>
        </div>
        <div class="stat-tiles">
          <div class="tile">
            <div class="tile-value">{calls.length === LIMIT ? `${LIMIT}+` : calls.length}</div>
            <div class="tile-label">recent calls</div>
          </div>
          <div class="tile">
            <div class={`tile-value ${denials.length > 0 ? 'text-deny' : ''}`}>{denials.length === LIMIT ? `${LIMIT}+` : denials.length}</div>
            <div class="tile-label">denials</div>
          </div>
        </div>
      </header>
      {error !== undefined && <div class="banner error">{error}</div>}
      {loading && data === undefined && <div class="empty">Loading…</div>}
      <div class="grid-2">
        <div class="card span-2">
          <h2>Recent calls</h2>
          <table class="table compact">
            <thead>
              <tr>
                <th>Time</th>
                <th>Request</th>
                <th>Intent</th>
                {isAgent && <th>For</th>}
                <th>Decision</th>
                <th class="num">Status</th>
                <th class="num">Latency</th>
              </tr>
            </thead>
            <tbody>
              {calls.map((e) => (
                <tr key={e.id} data-testid="person-call" data-request-id={e.id}>
                  <WhenAndWhat e={e} viaAgent={!isAgent} />
                  <td class="mono">{e.what.intent ?? '-'}</td>
                  {isAgent && <td>{e.who?.onBehalfOf?.subject ?? '-'}</td>}
                  <td>
                    <span class={`decision decision-${decisionText(e) === '-' ? 'none' : decisionText(e)}`}>{decisionText(e)}</span>
                  </td>
                  <td class={`num ${statusClass(e.outcome.status)}`}>{e.outcome.status}</td>
                  <td class="num nowrap">{milliseconds(e.outcome.durationMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {calls.length === 0 && !loading && <div class="empty">No calls by {user} in the audit trail.</div>}
        </div>
        <div class="card">
          <h2>Denied, and why</h2>
          <table class="table compact">
            <thead>
              <tr>
                <th>Time</th>
                <th>Request</th>
                <th>Reason</th>
              </tr>
            </thead>
            <tbody>
              {denials.map((e) => (
                <tr key={e.id} data-testid="person-denial" data-request-id={e.id}>
                  <WhenAndWhat e={e} viaAgent={!isAgent} />
                  <td>
                    <span class="reason">{denialReason(e)}</span>
                    {e.decision !== null && e.decision.policyIds.length > 0 && <span class="muted small mono"> · {e.decision.policyIds.join(', ')}</span>}
                    {e.decision?.mode === 'shadow' && <span class="tag tag-warn">shadow</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {denials.length === 0 && !loading && <div class="empty">Nothing denied.</div>}
        </div>
        <div class="card">
          {isAgent ? (
            <>
              <h2>Acts for</h2>
              {principals.length === 0 ? (
                <div class="empty">No one, in the recent trail.</div>
              ) : (
                <ul class="plain-list">
                  {principals.map((p) => (
                    <li key={p}>
                      <a href={personHref(p)}>{p}</a>
                    </li>
                  ))}
                </ul>
              )}
            </>
          ) : (
            <>
              <h2>Agents acting for {person?.username ?? user}</h2>
              {person === undefined ? (
                <div class="empty">The people endpoint is not available on this gateway.</div>
              ) : person.agents.length === 0 ? (
                <div class="empty">No agent acts for {person.username ?? user}.</div>
              ) : (
                <ul class="agent-list">
                  {person.agents.map((a) => (
                    <AgentItem key={a.agent} a={a} />
                  ))}
                </ul>
              )}
            </>
          )}
        </div>
      </div>
    </section>
  );
}
