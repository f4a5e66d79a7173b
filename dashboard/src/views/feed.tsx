// The live feed: every request as the audit log records it, newest first, filterable by person,
// agent and denials, pausable (new events wait in a buffer and are shown on resume).
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { getJson, query } from '../api.ts';
import { clockTime, decisionText, exchangeCaller, milliseconds, statusClass, whoLabel } from '../format.ts';
import { openStream } from '../live-stream.ts';
import type { FeedFilters, StreamState } from '../live-stream.ts';
import { personHref } from '../router.ts';
import type { AuditPage, RequestEvent } from '../types.ts';

export const MAX_ROWS = 500;
const BACKFILL = 50;
const FILTER_DELAY_MS = 400;

/** Adds events not already shown, keeps the newest MAX_ROWS, newest first. */
function merge(rows: RequestEvent[], incoming: RequestEvent[], sort: boolean): RequestEvent[] {
  const seen = new Set(rows.map((r) => r.id));
  const fresh = incoming.filter((e) => !seen.has(e.id) && (seen.add(e.id), true));
  if (fresh.length === 0) return rows;
  const all = [...fresh, ...rows];
  if (sort) all.sort((a, b) => b.time.localeCompare(a.time));
  return all.slice(0, MAX_ROWS);
}

function FeedRow({ e }: { e: RequestEvent }) {
  const decision = decisionText(e);
  const who = e.who;
  const exchanger = exchangeCaller(e);
  return (
    <tr data-testid="feed-row" data-request-id={e.id} class={decision === 'deny' || e.outcome.status === 401 || e.outcome.status === 403 ? 'row-denied' : undefined}>
      <td class="mono nowrap" data-testid="feed-time" title={e.time}>
        {clockTime(e.time)}
      </td>
      <td class="nowrap">
        {exchanger !== undefined ? (
          <a data-testid="feed-who" href={personHref(exchanger.agent)} title="token exchange: the agent asked for a delegated token">
            {exchanger.label}
          </a>
        ) : who === null || who.kind === 'anonymous' ? (
          <span class="muted" data-testid="feed-who">
            anonymous
          </span>
        ) : (
          <a data-testid="feed-who" href={personHref(who.subject)} title={`${who.subject} · ${who.issuer}`}>
            {whoLabel(who)}
          </a>
        )}
      </td>
      <td data-testid="feed-kind">
        <span class={`kind kind-${exchanger !== undefined ? 'agent' : (who?.kind ?? 'none')}`}>{exchanger !== undefined ? 'exchange' : (who?.kind ?? '-')}</span>
      </td>
      <td class="path-cell">
        <span class="method">{e.what.method}</span>
        <span class="mono" data-testid="feed-path" title={e.what.route === undefined ? e.what.path : `route ${e.what.route}`}>
          {e.what.path}
        </span>
      </td>
      <td class="mono" data-testid="feed-intent">
        {e.what.intent ?? '-'}
      </td>
      <td>
        <span data-testid="feed-decision" class={`decision decision-${decision === '-' ? 'none' : decision}`} title={e.decision?.reason ?? e.outcome.code}>
          {decision}
        </span>
      </td>
      <td class={`num ${statusClass(e.outcome.status)}`} data-testid="feed-status-code" title={e.outcome.code}>
        {e.outcome.status}
      </td>
      <td class="num nowrap" data-testid="feed-latency">
        {milliseconds(e.outcome.durationMs)}
      </td>
    </tr>
  );
}

function FilterInput(props: { testid: string; label: string; placeholder: string; value: string; onCommit(value: string): void }) {
  const [text, setText] = useState(props.value);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const commit = (value: string): void => {
    clearTimeout(timer.current);
    props.onCommit(value.trim());
  };
  return (
    <label class="filter">
      <span>{props.label}</span>
      <input
        type="text"
        data-testid={props.testid}
        placeholder={props.placeholder}
        value={text}
        spellcheck={false}
        onInput={(e) => {
          const value = e.currentTarget.value;
          setText(value);
          clearTimeout(timer.current);
          timer.current = setTimeout(() => props.onCommit(value.trim()), FILTER_DELAY_MS);
        }}
        onKeyDown={(e) => e.key === 'Enter' && commit(e.currentTarget.value)}
        onBlur={(e) => commit(e.currentTarget.value)}
      />
    </label>
  );
}

export function LiveFeed() {
  const [filters, setFilters] = useState<FeedFilters>({ user: '', agent: '', deniedOnly: false });
  const [rows, setRows] = useState<RequestEvent[]>([]);
  const [state, setState] = useState<StreamState>('connecting');
  const [paused, setPaused] = useState(false);
  const [buffered, setBuffered] = useState<RequestEvent[]>([]);
  const pausedRef = useRef(false);

  const update = useCallback((patch: Partial<FeedFilters>) => {
    setFilters((f) => {
      const next = { ...f, ...patch };
      return next.user === f.user && next.agent === f.agent && next.deniedOnly === f.deniedOnly ? f : next;
    });
  }, []);

  useEffect(() => {
    setRows([]);
    setBuffered([]);
    // A back-fill still in flight when the filters change belongs to the old filters: dropped.
    let current = true;
    const backfill = (): void => {
      const q = query({ type: 'request', user: filters.user, agent: filters.agent, denied: filters.deniedOnly, limit: BACKFILL });
      getJson<AuditPage>(`/api/audit${q}`)
        .then((page) => {
          if (!current) return;
          const events = page.events.filter((e) => e.type === 'request');
          // A reconnect while paused must not move the table: what it missed waits with the rest.
          if (pausedRef.current) setBuffered((b) => merge(b, events, true));
          else setRows((r) => merge(r, events, true));
        })
        .catch(() => {
          // no queryable audit sink: the feed shows live events only
        });
    };
    const close = openStream(filters, {
      onState: setState,
      onOpen: backfill,
      onEvent: (e) => {
        if (pausedRef.current) setBuffered((b) => merge(b, [e], false));
        else setRows((r) => merge(r, [e], false));
      },
    });
    return () => {
      current = false;
      close();
    };
  }, [filters]);

  const togglePause = (): void => {
    const next = !paused;
    pausedRef.current = next;
    setPaused(next);
    if (!next) {
      setRows((r) => merge(r, buffered, false));
      setBuffered([]);
    }
  };

  const shownState = paused ? 'paused' : state === 'connecting' ? 'reconnecting' : state;
  return (
    <section class="page">
      <header class="page-head">
        <div>
          <h1>Live feed</h1>
          <p class="muted">Every request through the gateway as it completes: who, what, and what Cortex decided.</p>
        </div>
        <div class="feed-state">
          <span class={`pill pill-${shownState}`} data-testid="feed-status">
            {shownState}
          </span>
          <button type="button" class="button" data-testid="feed-pause" onClick={togglePause}>
            {paused ? 'Resume' : 'Pause'}
          </button>
        </div>
      </header>
      <div class="toolbar">
        <FilterInput testid="feed-filter-user" label="Person" placeholder="any person" value={filters.user} onCommit={(user) => update({ user })} />
        <FilterInput testid="feed-filter-agent" label="Agent" placeholder="any agent" value={filters.agent} onCommit={(agent) => update({ agent })} />
        <label class="check">
          <input type="checkbox" data-testid="feed-denied-only" checked={filters.deniedOnly} onChange={(e) => update({ deniedOnly: e.currentTarget.checked })} />
          <span>Denied only</span>
        </label>
        <span class="toolbar-spacer" />
        {paused && (
          <span class="buffered">
            <span data-testid="feed-buffered">{buffered.length}</span> new while paused
          </span>
        )}
        <span class="muted small">{rows.length} shown</span>
      </div>
      <div class="table-wrap">
        <table class="table feed">
          <thead>
            <tr>
              <th>Time</th>
              <th>Who</th>
              <th>Kind</th>
              <th>Request</th>
              <th>Intent</th>
              <th>Decision</th>
              <th class="num">Status</th>
              <th class="num">Latency</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <FeedRow key={e.id} e={e} />
            ))}
          </tbody>
        </table>
        {rows.length === 0 && <div class="empty">Waiting for requests… send one through the gateway and it appears here.</div>}
      </div>
    </section>
  );
}
