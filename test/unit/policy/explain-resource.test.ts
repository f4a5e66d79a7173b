// Resource attributes given to explain: typed by the route's attribute source (a set from a comma
// list), names the route does not give ignored with a note, agents named for a dev person.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileWorld } from '../../../src/cli/explain.ts';
import { loadConfig } from '../../../src/config/load.ts';
import { explain } from '../../../src/policy/explain.ts';
import type { Explanation, ExplainRequest, ExplainWorld } from '../../../src/policy/explain.ts';
import { parseResourceArgs } from '../../../src/policy/explain-resource.ts';

const CONFIG = `version: 1
stage: dev
upstreams: { docs: { url: "http://127.0.0.1:9903" } }
routes:
  doc-read:
    match: { methods: [GET], path: "/docs/{id}" }
    upstream: docs
    intent: "docs:read"
    resource: { attributes: { url: "http://127.0.0.1:9903/docs/{id}", pick: { owner: owner, teams: { field: teams, type: set } } } }
  doc-list: { match: { methods: [GET], path: "/docs" }, upstream: docs, intent: "docs:read" }
identity:
  providers:
    dev:
      issuer: http://127.0.0.1:9902
      audiences: [docs]
      roles: { claim: groups, map: { customers: [reader] } }
      agents: { helper: { roles: [agent] } }
policy:
  grants: { reader: ["docs:read"], agent: ["docs:read"] }
`;

function world(): ExplainWorld {
  const loaded = loadConfig({ file: 'docs.yaml', text: CONFIG, env: {} });
  assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.errors));
  const problems: string[] = [];
  const w = compileWorld(loaded.config, loaded.stage, problems);
  assert.deepEqual(problems, []);
  assert.ok(w);
  return w;
}
const W = world();

function run(req: ExplainRequest): Explanation {
  const r = explain(W, req);
  assert.ok(r.ok, !r.ok ? r.problem : '');
  return r.explanation;
}

test('a set-typed attribute is given as a comma list; a name the route does not give is ignored with a note', () => {
  const given = parseResourceArgs(['owner=bob', 'teams=blue, red,blue', 'colour=green']);
  assert.ok(given.ok);
  const e = run({ who: { as: 'bob' }, method: 'GET', path: '/docs/7', resource: { given: given.given } });
  assert.deepEqual(e.resource, { source: 'given', attributes: { owner: 'bob', teams: ['blue', 'red'] } });
  assert.ok(e.notes.some((n) => n.startsWith('the resource attribute colour is not one the route')));
  assert.equal(e.decision, 'allow');
});

test('a route with no attribute source says the given attributes are not used', () => {
  const e = run({ who: { as: 'bob' }, method: 'GET', path: '/docs', resource: { given: { owner: 'bob' } } });
  assert.equal(e.resource, undefined);
  assert.ok(e.notes.includes('this route has no attribute source: the given resource attributes are not used'));
});

test('an agent named for a dev person acts for that person; without one it acts for no one', () => {
  const forBob = run({ who: { agent: 'helper', for: 'bob' }, method: 'GET', path: '/docs' });
  assert.equal(forBob.identity?.kind, 'agent');
  assert.deepEqual(forBob.identity?.actingFor, { subject: 'bob', roles: ['reader'] });
  const alone = run({ who: { agent: 'helper' }, method: 'GET', path: '/docs' });
  assert.equal(alone.identity?.subject, 'helper');
  assert.equal(alone.identity?.actingFor, undefined);
  assert.deepEqual(alone.policies, ['agent:agent:docs:read']);
  assert.deepEqual(explain(W, { who: { agent: 'helper', for: 'zed' }, method: 'GET', path: '/docs' }), {
    ok: false,
    problem: '"zed" is not a dev person (alice, bob, carol, or user-0001 ...); use a claims file or a token for anyone else',
  });
});

test('--resource arguments must be NAME=VALUE', () => {
  assert.deepEqual(parseResourceArgs(['=x']), { ok: false, problem: '--resource takes NAME=VALUE (e.g. owner=bob), not "=x"' });
});
