// The in-process policy microbench: the policy world of policy-mix.ts compiled three ways (one
// Cedar set for everything, as before the split; one set per intent; per-intent sets with the fast
// path), the same traffic mix of uncached decisions through each, timed one decision at a time.
// Every variant must give the same decision for every request, or the bench fails.
import { preparsePolicySet, preparseSchema, statefulIsAuthorized } from '@cedar-policy/cedar-wasm/nodejs';
import { fingerprint } from '../../src/identity/claims-identity.ts';
import type { Identity } from '../../src/gateway/types.ts';
import { withDecisionCache } from '../../src/policy/decision-cache.ts';
import { compilePolicies, toCedar } from '../../src/policy/engine.ts';
import type { DecisionRequest, EngineInput, EngineOptions, PolicyDecision, PolicyEngine } from '../../src/policy/engine.ts';
import { FastPaths } from '../../src/policy/fast-paths.ts';
import { generatePolicies, parseFiles } from '../../src/policy/policies.ts';
import { analyzePolicy } from '../../src/policy/policy-inputs.ts';
import { PolicySplit } from '../../src/policy/policy-split.ts';
import { buildCatalog } from '../../src/policy/schema.ts';
import { pathFor, policyWorld, rolesOf, ROUTES, subjectOf, USERS } from './policy-mix.ts';
import type { PolicyWorld } from './policy-mix.ts';

const ISSUER = 'https://bench-idp.example';

function who(kind: Identity['kind'], subject: string, roles: string[], onBehalfOf?: Identity): Identity {
  const method = 'jwt';
  return { subject, issuer: ISSUER, provider: 'bench-idp', kind, onBehalfOf, method, roles, claims: {}, fingerprint: fingerprint(ISSUER, subject, onBehalfOf?.subject ?? '', method) };
}

/** A seeded generator, so every run sends the same mix. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The mix: 1,000 users over the 20 routes (90% people, 5% agents acting for them, 5% services), a third of order reads for someone else's order. */
export function trafficMix(world: PolicyWorld, n: number, seed = 7): DecisionRequest[] {
  const rnd = random(seed);
  const users = Array.from({ length: USERS }, (_, i) => who('user', subjectOf(i), rolesOf(i, world.teams)));
  const out: DecisionRequest[] = [];
  for (let k = 0; k < n; k++) {
    const i = Math.floor(rnd() * USERS);
    const route = ROUTES[Math.floor(rnd() * ROUTES.length)]!;
    const pick = rnd();
    const res = route.intent.split(':')[0]!;
    const identity =
      pick < 0.05 ? who('agent', 'assistant', [rolesOf(i * 13, world.teams)[0]!], users[i]) : pick < 0.1 ? who('service', `svc-${i % 7}`, [`svc-${res}`]) : users[i]!;
    const own = rnd() < 0.67;
    const path = pathFor(route, i, own);
    const id = route.template.includes('{id}') ? path.slice(path.lastIndexOf('/') + 1) : undefined;
    out.push({
      identity,
      intent: route.intent,
      routeId: route.id,
      tags: route.tags,
      params: id === undefined ? {} : { id },
      ...(route.ownership ? { resourceAttributes: { owner: subjectOf(own ? i : (i + 1) % USERS) } } : {}),
      stage: 'bench',
      clientIp: '127.0.0.1',
      nowMs: 1_760_000_000_000 + k,
    });
  }
  return out;
}

export interface Timing {
  label: string;
  p50Us: number;
  p99Us: number;
  meanUs: number;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}

function timeEach<T>(label: string, reqs: readonly T[], decide: (r: T) => unknown): Timing {
  for (const r of reqs.slice(0, 500)) decide(r); // warm-up: lazy sets, compiled predicates, JIT
  const lat = new Float64Array(reqs.length);
  let total = 0;
  for (let k = 0; k < reqs.length; k++) {
    const t0 = process.hrtime.bigint();
    decide(reqs[k]!);
    const us = Number(process.hrtime.bigint() - t0) / 1000;
    lat[k] = us;
    total += us;
  }
  lat.sort();
  return { label, p50Us: percentile(lat, 50), p99Us: percentile(lat, 99), meanUs: total / reqs.length };
}

export interface MicrobenchResult {
  policies: number;
  requests: number;
  timings: Timing[];
  /** Share of the mix answered by the fast path (no Cedar call). */
  fastShare: number;
  allowShare: number;
  /** Decision-cache hit rate over the mix sent ten times through one cache (10 × requests decisions). */
  cacheHitRate: number;
  /** A Cedar call on an empty set (its fixed cost) with and without validateRequest. */
  validation: { withUs: number; withoutUs: number };
}

function allPolicies(input: EngineInput): ReturnType<typeof generatePolicies> {
  return [...generatePolicies(input, buildCatalog(input).catalog), ...parseFiles(input.files).policies];
}

/** The share of the mix the fast path answers (the rest goes to Cedar). */
function fastShare(input: EngineInput, reqs: readonly DecisionRequest[]): number {
  const { catalog } = buildCatalog(input);
  const all = allPolicies(input);
  const split = new PolicySplit('bench-fast-share', all, all.map((p) => analyzePolicy(p.text)), catalog);
  const fast = new FastPaths(all, split, input.resourceAttributes);
  const answered = reqs.filter((r) => fast.decide(r, catalog.intents.get(r.intent) ?? []) !== undefined).length;
  split.dispose();
  return answered / reqs.length;
}

/** A Cedar call's fixed cost (an empty policy set), with and without validateRequest (p50 of each, µs). */
function validationCost(schema: string, input: EngineInput, reqs: readonly DecisionRequest[]): { withUs: number; withoutUs: number } {
  const id = 'bench-validation';
  preparseSchema(id, schema);
  preparsePolicySet(id, { staticPolicies: {} });
  const { catalog } = buildCatalog(input);
  const calls = reqs.slice(0, 4000).map((r) => toCedar(r, catalog.intents.get(r.intent) ?? []));
  const run = (validateRequest: boolean): number =>
    timeEach('', calls, (c) => statefulIsAuthorized({ ...c, preparsedPolicySetId: id, preparsedSchemaName: id, validateRequest })).p50Us;
  const result = { withUs: run(true), withoutUs: run(false) };
  preparsePolicySet(id, { staticPolicies: {} });
  preparseSchema(id, '');
  return result;
}

const same = (a: PolicyDecision, b: PolicyDecision): boolean =>
  a.allow === b.allow && a.reason === b.reason && a.policyIds.join('\n') === b.policyIds.join('\n');

export function runPolicyMicrobench(requests = 8000): MicrobenchResult {
  const world = policyWorld();
  const input = { ...world.input, resourceAttributes: world.resourceAttributes };
  const variants: { label: string; options: EngineOptions }[] = [
    { label: 'one Cedar set (before)', options: { split: false, fastPath: false } },
    { label: 'per-intent Cedar sets', options: { fastPath: false } },
    { label: 'per-intent sets + fast path', options: {} },
  ];
  const engines: PolicyEngine[] = variants.map((v) => {
    const c = compilePolicies(input, v.options);
    if (!c.ok) throw new Error(`policy bench: compile failed: ${c.problems.join('; ')}`);
    return c.engine;
  });
  try {
    const reqs = trafficMix(world, requests);
    const reference = reqs.map((r) => engines[0]!.decide(r));
    engines.slice(1).forEach((e, v) =>
      reqs.forEach((r, k) => {
        const d = e.decide(r);
        if (!same(d, reference[k]!) || d.reason === 'authz.policy_error') {
          throw new Error(`policy bench: ${variants[v + 1]!.label} decided ${JSON.stringify(d)} where the whole set decided ${JSON.stringify(reference[k])}`);
        }
      }),
    );
    // The whole set is slow enough that a quarter of the mix gives its figures.
    const timings = variants.map((v, i) => timeEach(v.label, i === 0 ? reqs.slice(0, Math.ceil(reqs.length / 4)) : reqs, (r) => engines[i]!.decide(r)));

    const cached = withDecisionCache(engines[2]!, { policies: world.input });
    for (let round = 0; round < 10; round++) for (const r of reqs) cached.decide(r);
    const s = cached.stats();
    return {
      policies: world.policyCount,
      requests: reqs.length,
      timings,
      fastShare: fastShare(input, reqs),
      allowShare: reference.filter((d) => d.allow).length / reqs.length,
      cacheHitRate: s.hits / (s.hits + s.misses),
      validation: validationCost(engines[0]!.schema, input, reqs),
    };
  } finally {
    for (const e of engines) e.dispose();
  }
}
