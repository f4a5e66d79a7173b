// Routes and intents: each route's intent and who holds it in each stage, stage cells that differ
// from the others highlighted, and the intent changes of imported operations awaiting approval.
import { getJson } from '../api.ts';
import { differingStages } from '../stage-diff.ts';
import type { Grantee, RouteView, StageGrants } from '../types.ts';
import { usePoll } from '../use-poll.ts';

const STAGE_ORDER = ['dev', 'staging', 'prod'];

function stagesOf(routes: RouteView[]): string[] {
  const found = new Set<string>();
  for (const r of routes) for (const s of Object.keys(r.grants ?? {})) found.add(s);
  return [...found].sort((a, b) => (STAGE_ORDER.indexOf(a) + 1 || 99) - (STAGE_ORDER.indexOf(b) + 1 || 99));
}

function granteeText(g: Grantee): string {
  return `${g.name}`;
}

function isPublic(r: RouteView): boolean {
  return r.auth !== undefined && (r.auth.length === 0 || r.auth.includes('none'));
}

function GrantCell({ route, stage, grants, differs }: { route: RouteView; stage: string; grants: StageGrants | undefined; differs: boolean }) {
  const cls = `stage-cell${differs ? ' differs' : ''}`;
  if (grants === undefined) {
    return (
      <td class={cls} data-testid="route-stage" data-stage={stage}>
        {route.grants === undefined ? "Cortex's own endpoint" : '-'}
      </td>
    );
  }
  if ('unavailable' in grants) {
    return (
      <td class={`${cls} unavailable`} data-testid="route-stage" data-stage={stage} title={grants.unavailable}>
        config does not load
      </td>
    );
  }
  const intentChanged = grants.intent !== (route.intent ?? null);
  return (
    <td class={cls} data-testid="route-stage" data-stage={stage}>
      {intentChanged && <div class="mono small stage-intent">intent {grants.intent ?? 'none'}</div>}
      {!grants.policy ? (
        <span class="muted small">no policy: any authenticated caller</span>
      ) : grants.intent === null ? (
        isPublic(route) ? <span class="muted small">public: no intent needed</span> : <span class="text-deny small">no intent: refused to everyone</span>
      ) : grants.roles.length === 0 ? (
        <span class="text-deny small">no role holds it</span>
      ) : (
        <div class="chips">
          {grants.roles.map((r) => (
            <span key={r} class="chip role">
              {r}
            </span>
          ))}
        </div>
      )}
      {grants.policy && (grants.groups.length > 0 || grants.services.length > 0 || grants.agents.length > 0) && (
        <div class="holders small muted">
          {grants.groups.length > 0 && <div>groups: {grants.groups.map(granteeText).join(', ')}</div>}
          {grants.services.length > 0 && <div>services: {grants.services.map(granteeText).join(', ')}</div>}
          {grants.agents.length > 0 && <div>agents: {grants.agents.map(granteeText).join(', ')}</div>}
        </div>
      )}
    </td>
  );
}

function matchText(r: RouteView): string {
  const m = r.match;
  if (m === undefined) return '';
  const methods = m.methods === undefined || m.methods.length === 0 ? 'ANY' : m.methods.join(' ');
  return `${methods} ${m.path ?? (m.pathPrefix === undefined ? '' : `${m.pathPrefix}*`)}`;
}

function intentText(s: { intent: string | null; tags: string[] }): string {
  return `${s.intent ?? 'no intent'}${s.tags.length > 0 ? ` [${s.tags.join(', ')}]` : ''}`;
}

export function RoutesView() {
  const { data, error, loading } = usePoll(() => getJson<{ routes: RouteView[] }>('/api/routes'), undefined, []);
  // Cortex's own endpoints (login, JWKS, token exchange) carry no grants: they go last.
  const routes = [...(data?.routes ?? [])].sort((a, b) => Number(a.grants === undefined) - Number(b.grants === undefined));
  const stages = stagesOf(routes);
  const pending = routes.filter((r) => r.pending !== null && r.pending !== undefined);
  const differing = routes.filter((r) => r.differs === true).length;
  return (
    <section class="page">
      <header class="page-head">
        <div>
          <h1>Routes &amp; intents</h1>
          <p class="muted">Which roles hold each route's intent in each stage. Highlighted cells differ from the other stages.</p>
        </div>
        <div class="stat-tiles">
          <div class="tile">
            <div class="tile-value">{routes.length}</div>
            <div class="tile-label">routes</div>
          </div>
          <div class="tile">
            <div class={`tile-value ${differing > 0 ? 'text-warn' : ''}`}>{differing}</div>
            <div class="tile-label">differ by stage</div>
          </div>
          <div class="tile">
            <div class={`tile-value ${pending.length > 0 ? 'text-warn' : ''}`}>{pending.length}</div>
            <div class="tile-label">pending changes</div>
          </div>
        </div>
      </header>
      {error !== undefined && <div class="banner error">{error}</div>}
      {pending.length > 0 && (
        <div class="card">
          <h2>Intent changes awaiting approval</h2>
          <table class="table compact">
            <thead>
              <tr>
                <th>Route</th>
                <th>API operation</th>
                <th>Approved</th>
                <th>Proposed</th>
              </tr>
            </thead>
            <tbody>
              {pending.map((r) => (
                <tr key={r.id} data-testid="pending-change" data-route={r.id}>
                  <td class="mono">{r.id}</td>
                  <td class="mono">
                    {r.pending?.api} · {r.pending?.operation}
                  </td>
                  <td class="mono">{r.pending === null || r.pending === undefined ? '' : intentText(r.pending.approved)}</td>
                  <td class="mono text-warn">{r.pending === null || r.pending === undefined ? '' : intentText(r.pending.proposed)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div class="table-wrap">
        <table class="table routes">
          <thead>
            <tr>
              <th>Route</th>
              <th>Match</th>
              <th>Intent</th>
              {stages.map((s) => (
                <th key={s}>{s}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {routes.map((r) => {
              const differs = r.differs === true && r.grants !== undefined ? differingStages(r.grants) : new Set<string>();
              return (
                <tr key={r.id} data-testid="route-row" data-route={r.id} class={r.grants === undefined ? 'row-builtin' : r.differs === true ? 'row-differs' : undefined}>
                  <td>
                    <div class="mono strong">{r.id}</div>
                    <div class="muted small">
                      {r.grants === undefined ? 'built in' : `→ ${r.upstream}`}
                      {r.importedFrom !== null && r.importedFrom !== undefined ? ` · from ${r.importedFrom}` : ''}
                      {r.policyMode === 'shadow' ? ' · shadow' : ''}
                    </div>
                  </td>
                  <td class="mono small nowrap">{matchText(r)}</td>
                  <td class="mono">{r.intent ?? <span class="muted">none</span>}</td>
                  {stages.map((s) => (
                    <GrantCell key={s} route={r} stage={s} grants={r.grants?.[s]} differs={differs.has(s)} />
                  ))}
                </tr>
              );
            })}
          </tbody>
        </table>
        {routes.length === 0 && !loading && <div class="empty">No routes.</div>}
      </div>
    </section>
  );
}
