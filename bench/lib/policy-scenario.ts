// The `policy` scenario: ~1,000 policies (grants for ~100 team roles and a hand-written file with
// ownership forbids), 20 routes with intents (orders-read with an attribute source the bench
// upstream answers), 1,000 users' real tokens from the dev IdP carrying their personas' roles, and a
// request file that spreads them over the routes. Before the load: the in-process microbench
// (uncached decision latencies). After Cortex's last load: its decision-cache hit rate from /metrics.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { fingerprint } from '../../src/identity/claims-identity.ts';
import { compilePolicies } from '../../src/policy/engine.ts';
import { jwtSubject, startBenchIdp, writeTokens } from './idp.ts';
import { runPolicyMicrobench } from './policy-microbench.ts';
import { handwrittenCedar, pathFor, policyWorld, rolesOf, ROUTES, subjectOf, USERS } from './policy-mix.ts';
import type { Prepared, ScenarioContext } from '../scenarios.ts';

const PROVIDER = 'bench-idp';
const POLICY_FILE = 'policies.cedar';

export function policyConfig(base: Record<string, unknown>, ctx: ScenarioContext): Record<string, unknown> {
  const id = ctx.identity;
  if (id === undefined) throw new Error('policy scenario: prepare() did not start the identity provider');
  const world = policyWorld();
  const routes = Object.fromEntries(
    ROUTES.map((r) => [
      r.id,
      {
        match: { methods: [r.method], path: r.template },
        upstream: 'origin',
        auth: 'bearer',
        intent: r.intent,
        tags: r.tags,
        ...(r.ownership ? { resource: { attributes: { url: `${ctx.upstreamUrl}/lookup/orders/{id}`, pick: { owner: 'owner' } } } } : {}),
      },
    ]),
  );
  return {
    ...base,
    // The tokens' groups claim carries the roles as they are named.
    identity: { providers: { [PROVIDER]: { issuer: id.issuer, audiences: [id.audience], roles: { keepUnmapped: true } } } },
    routes,
    policy: { mode: 'enforce', grants: world.input.grants, files: [join(ctx.dir, POLICY_FILE)], agents: { forbidTags: ['destructive'] } },
  };
}

/** "token METHOD /path" lines: every (user, route) pair the policies allow, the order interleaved. */
function requestLines(tokens: readonly string[], issuer: string): string[] {
  const world = policyWorld();
  const c = compilePolicies({ ...world.input, resourceAttributes: world.resourceAttributes });
  if (!c.ok) throw new Error(`policy scenario: ${c.problems.join('; ')}`);
  const lines: string[] = [];
  try {
    for (let k = 0; k < ROUTES.length; k++) {
      for (let i = 0; i < USERS; i++) {
        const route = ROUTES[(i + k) % ROUTES.length]!;
        const subject = subjectOf(i);
        const roles = rolesOf(i, world.teams);
        const path = pathFor(route, i);
        const identity = {
          subject, issuer, provider: PROVIDER, kind: 'user' as const, method: 'jwt' as const, roles, claims: {},
          fingerprint: fingerprint(issuer, subject, '', 'jwt'),
        };
        const d = c.engine.decide({
          identity, intent: route.intent, routeId: route.id, tags: route.tags, params: { id: path.split('/')[2] },
          ...(route.ownership ? { resourceAttributes: { owner: subject } } : {}),
          stage: 'dev', clientIp: '127.0.0.1', nowMs: Date.now(),
        });
        if (d.allow) lines.push(`${tokens[i]!} ${route.method} ${path}`);
      }
    }
  } finally {
    c.engine.dispose();
  }
  return lines;
}

export async function preparePolicy(ctx: ScenarioContext): Promise<Prepared> {
  const micro = runPolicyMicrobench();
  const world = policyWorld();
  writeFileSync(join(ctx.dir, POLICY_FILE), handwrittenCedar());
  const idp = await startBenchIdp();
  try {
    const subjects = Array.from({ length: USERS }, (_, i) => subjectOf(i));
    const minted = await idp.mint(subjects, 16, (sub) => ({ groups: rolesOf(Number(sub.slice(5)), world.teams) }));
    if (new Set(minted.tokens.map(jwtSubject)).size !== USERS) throw new Error('policy scenario: the tokens do not name 1,000 users');
    ctx.identity = { issuer: idp.issuer, audience: idp.audience };
    const lines = requestLines(minted.tokens, idp.issuer);
    const tokensFile = join(ctx.dir, 'requests.txt');
    writeTokens(tokensFile, lines);
    const us = (x: number): string => `${x.toFixed(1)} µs`;
    const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
    const notes = [
      `Policies: ${world.policyCount.toLocaleString('en-US')} (grants for ${Object.keys(world.input.grants).length} roles, ` +
        `${world.teams} of them team roles, and the hand-written file bench/lib/policy-mix.ts writes); 20 routes (5 resources × ` +
        'read, list, create, update), orders-read with an attribute source the bench upstream answers (`/lookup/orders/{id}` → ' +
        '`{"owner": id}`, cached 5 s per URL).',
      `Traffic: ${USERS.toLocaleString('en-US')} users' dev-IdP tokens (roles from 100 personas in the \`groups\` claim), ` +
        `${lines.length.toLocaleString('en-US')} request lines ("token METHOD /path"): every (user, route) pair the policies ` +
        'allow, interleaved, customers reading their own orders. Only allowed requests are sent (wrk counts a 403 as an error); ' +
        'denials are in the microbench mix below.',
      `Uncached decisions, in process (bench/policy-decisions.ts: ${micro.requests.toLocaleString('en-US')} requests of ` +
        `1,000 users × 20 routes incl. agents, services and other people's orders, ${pct(micro.allowShare)} allowed): ` +
        micro.timings.map((t) => `${t.label} p50 ${us(t.p50Us)} / p99 ${us(t.p99Us)}`).join('; ') +
        `. The fast path answered ${pct(micro.fastShare)} of them without calling Cedar.`,
      `A Cedar call's fixed cost (empty policy set): p50 ${us(micro.validation.withUs)} with \`validateRequest\`, ` +
        `${us(micro.validation.withoutUs)} without. Decision-cache hit rate on that mix sent 10 times: ${pct(micro.cacheHitRate)}.`,
    ];
    const beforeCortexStops = async (): Promise<void> => {
      const res = await request(`http://127.0.0.1:${ctx.adminPort}/metrics`);
      const text = await res.body.text();
      const count = (result: string): number => {
        const m = new RegExp(`^cortex_decision_cache_lookups_total\\{result="${result}"\\} (\\S+)$`, 'm').exec(text);
        return m ? Number(m[1]) : NaN;
      };
      const hits = count('hit');
      const misses = count('miss');
      notes.push(
        `Decision cache during the run (admin /metrics after Cortex's last load): ${hits.toLocaleString('en-US')} hits, ` +
          `${misses.toLocaleString('en-US')} misses: hit rate ${pct(hits / (hits + misses))}.`,
      );
    };
    return { tokensFile, sanityToken: minted.tokens[99], notes, beforeCortexStops, close: () => idp.close() };
  } catch (err) {
    await idp.close();
    throw err;
  }
}
