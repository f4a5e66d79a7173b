// GET /api/routes: every route the running gateway serves, with its intent and who holds that
// intent in each stage (roles, and the IdP groups, services and agents that get those roles through
// each stage's claim-to-role mapping), and the intent change awaiting approval for its operation.
// The running stage is read from the running snapshot; the other stages from the same config source.
import type { LoadResult } from '../config/load.ts';
import { STAGES } from '../config/schema.ts';
import type { Config, RouteConfig, Stage } from '../config/schema.ts';
import type { Snapshot } from '../gateway/snapshot.ts';
import { joinPrefix } from '../intents/expand.ts';
import type { PendingChange } from '../intents/types.ts';
import { holders } from '../policy/explain.ts';
import { diffGrantees } from '../policy/stage-diff.ts';
import type { GranteeKind } from '../policy/stage-diff.ts';

/** What the Gateway hands the admin API for the policy-side views (its adminView().policyView). */
export interface PolicyViewSource {
  readonly snapshot: Snapshot;
  /** The routes of the config as loaded, before the imported APIs were expanded into it. */
  readonly baseRoutes: Readonly<Record<string, RouteConfig>>;
  /** Intent changes of imported operations awaiting approval (ApiRuntime.pending()). */
  readonly pending: readonly PendingChange[];
  /** The gateway's config source (file or text) loaded at a stage. */
  configAt(stage: Stage): LoadResult;
}

export interface Grantee {
  provider: string;
  name: string;
}

export type StageGrants =
  | { intent: string | null; policy: true; roles: string[]; groups: Grantee[]; services: Grantee[]; agents: Grantee[] }
  /** The stage has no policy section: any authenticated caller may use every route there. */
  | { intent: string | null; policy: false }
  | { unavailable: string };

type Holdings = Map<string, Record<GranteeKind, Grantee[]>>;

interface StageView {
  config: Config | undefined;
  problem?: string;
  /** intent → who holds it (through stage-diff.ts's per-grantee computation). */
  holdings: Holdings;
}

/**
 * Each grantee's concrete intents in `config`, by stage-diff.ts's computation: the diff from the
 * same config with no grants to it is exactly what each group, service and agent holds. Routes the
 * config lacks (imported operations, found only in the running snapshot) are added so their
 * intents are expanded against the grants' wildcards too.
 */
function holdingsOf(config: Config, extraRoutes: Readonly<Record<string, RouteConfig>>): Holdings {
  const out: Holdings = new Map();
  if (config.policy === undefined) return out;
  const routes = { ...extraRoutes, ...config.routes };
  const withRoutes: Config = { ...config, routes };
  const none: Config = { ...withRoutes, policy: { ...config.policy, grants: {} } };
  for (const change of diffGrantees({ label: 'none', config: none }, { label: 'stage', config: withRoutes })) {
    for (const intent of change.gained) {
      const entry = out.get(intent) ?? { group: [], service: [], agent: [] };
      entry[change.kind].push({ provider: change.provider, name: change.name });
      out.set(intent, entry);
    }
  }
  return out;
}

function stageView(source: PolicyViewSource, stage: Stage): StageView {
  const running = source.snapshot;
  if (stage === running.stage) return { config: running.config, holdings: holdingsOf(running.config, {}) };
  const loaded = source.configAt(stage);
  if (!loaded.ok) {
    const first = loaded.errors[0];
    return { config: undefined, problem: `the config does not load at stage ${stage}${first ? ` (${first.path}: ${first.message})` : ''}`, holdings: new Map() };
  }
  return { config: loaded.config, holdings: holdingsOf(loaded.config, running.config.routes) };
}

function grantsAt(view: StageView, id: string, running: RouteConfig): StageGrants {
  if (view.config === undefined) return { unavailable: view.problem ?? 'the config does not load' };
  const intent = (view.config.routes[id] ?? running).intent ?? null;
  const policy = view.config.policy;
  if (policy === undefined) return { intent, policy: false };
  const held = intent === null ? undefined : view.holdings.get(intent);
  return {
    intent,
    policy: true,
    roles: intent === null ? [] : holders(policy.grants, intent),
    groups: held?.group ?? [],
    services: held?.service ?? [],
    agents: held?.agent ?? [],
  };
}

/** The API an imported route came from: the longest api name its id starts with (expand.ts names them `<api>.<operation>`). */
function importedFrom(id: string, source: PolicyViewSource): string | undefined {
  if (Object.hasOwn(source.baseRoutes, id)) return undefined;
  const apis = Object.keys(source.snapshot.config.apis).filter((api) => id.startsWith(`${api}.`));
  return apis.sort((a, b) => b.length - a.length)[0];
}

function pendingFor(rc: RouteConfig, api: string | undefined, source: PolicyViewSource): PendingChange | undefined {
  if (api === undefined || rc.match.path === undefined) return undefined;
  const prefix = source.snapshot.config.apis[api]?.prefix ?? '/';
  return source.pending.find((p) => {
    if (p.api !== api) return false;
    const space = p.key.indexOf(' ');
    const method = p.key.slice(0, space);
    return rc.match.methods?.some((m) => m === method) === true && joinPrefix(prefix, p.key.slice(space + 1)) === rc.match.path;
  });
}

/** The stages' grants differ: another intent, other roles, or other grantees (a stage that does not load is left out). */
function differs(grants: Record<Stage, StageGrants>): boolean {
  const shown = Object.values(grants)
    .filter((g) => !('unavailable' in g))
    .map((g) => JSON.stringify(g));
  return new Set(shown).size > 1;
}

export function routesView(source: PolicyViewSource): unknown[] {
  const { snapshot } = source;
  const cfg = snapshot.config;
  const views = Object.fromEntries(STAGES.map((stage) => [stage, stageView(source, stage)])) as Record<Stage, StageView>;
  return [...snapshot.routes.values()].map((r) => {
    const rc = cfg.routes[r.id];
    if (rc === undefined) return { id: r.id, upstream: r.upstream, filters: r.chain.map((f) => f.name) };
    const api = importedFrom(r.id, source);
    const grants = Object.fromEntries(STAGES.map((stage) => [stage, grantsAt(views[stage], r.id, rc)])) as Record<Stage, StageGrants>;
    const pending = pendingFor(rc, api, source);
    return {
      id: r.id,
      upstream: r.upstream,
      match: rc.match,
      filters: r.chain.map((f) => f.name),
      auth: typeof rc.auth === 'string' ? [rc.auth] : [...rc.auth],
      intent: rc.intent ?? null,
      tags: [...rc.tags],
      policyMode: cfg.policy === undefined ? null : (rc.policyMode ?? cfg.policy.mode),
      attributeSource: rc.resource?.attributes.url ?? null,
      importedFrom: api ?? null,
      grants,
      differs: differs(grants),
      pending: pending === undefined ? null : { api: pending.api, operation: pending.key, approved: pending.approved, proposed: pending.proposed },
    };
  });
}
