// Agents: at most the intersection of the agent's grants and the person's; only their own grants
// with no person; never an intent with a forbidden tag, whoever they act for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agent, assertTable, compileOk, person, request } from './fixtures.ts';

const bob = person('bob', ['customer']);
const alice = person('alice', ['admin']);

test('an agent acting for bob is allowed only the intents both hold', (t) => {
  const engine = compileOk(t);
  const forBob = agent('assistant', ['assistant'], bob);
  assertTable(engine, [
    ['both hold', forBob, 'orders:read', true, ['agent:assistant:orders:*&person:admin,assistant,customer,support']],
    ['both hold', forBob, 'orders:create', true, ['agent:assistant:orders:*&person:admin,assistant,customer']],
    ['agent only', forBob, 'orders:list', false, []],
    ['agent only', forBob, 'customers:read', false, []],
    ['bob only (agent lacks it)', agent('narrow', ['reporting'], bob), 'orders:create', false, []],
    ['neither', forBob, 'admin:config:write', false, []],
  ]);
});

test('an agent acting for a person whose roles cover more gets no more than its own grants', (t) => {
  const engine = compileOk(t);
  const forAlice = agent('assistant', ['assistant'], alice);
  assertTable(engine, [
    ['alice has *', forAlice, 'orders:list', true],
    ['alice has *', forAlice, 'customers:read', true],
    ['agent lacks it', forAlice, 'admin:config:write', false, []],
    ['agent lacks it', forAlice, 'health:read', false, []],
  ]);
});

test("an agent's role never acts as a user grant: an admin-role agent for bob gets bob's limits", (t) => {
  const engine = compileOk(t);
  const adminAgent = agent('root-bot', ['admin'], bob);
  assertTable(engine, [
    ['bob holds it', adminAgent, 'orders:read', true],
    ['bob lacks it', adminAgent, 'orders:list', false, []],
    ['bob lacks it', adminAgent, 'admin:config:write', false, []],
  ]);
});

test('an agent with no person gets only its own grants', (t) => {
  const engine = compileOk(t);
  const alone = agent('assistant', ['assistant']);
  assertTable(engine, [
    ['own grant', alone, 'orders:list', true, ['agent:assistant:orders:*']],
    ['own grant', alone, 'customers:read', true, ['agent:assistant:customers:read']],
    ['not granted', alone, 'admin:config:write', false, []],
    ['not granted', alone, 'health:read', false, []],
    ['no roles', agent('nobody', []), 'orders:read', false, []],
  ]);
});

test('agents are forbidden destructive intents even when the agent and the person both hold them', (t) => {
  const engine = compileOk(t);
  const forAlice = agent('root-bot', ['admin'], alice);
  assertTable(engine, [
    ['both hold *', forAlice, 'orders:delete', false, ['agent-forbid:destructive']],
    ['both hold *', forAlice, 'customers:export', false, ['agent-forbid:destructive']],
    ['alone', agent('root-bot', ['admin']), 'orders:delete', false, ['agent-forbid:destructive']],
    ['not destructive', forAlice, 'customers:read', true],
  ]);
  // A person with the same roles is not affected.
  assertTable(engine, [['person', alice, 'orders:delete', true, ['grant:admin:*']]]);
});

test('forbidden tags come from config: with none, a destructive intent both hold is allowed', (t) => {
  const engine = compileOk(t, { agentForbidTags: [] });
  assertTable(engine, [['no forbid', agent('root-bot', ['admin'], alice), 'orders:delete', true]]);
  const pii = compileOk(t, { agentForbidTags: ['pii'] });
  assertTable(pii, [
    ['pii forbidden', agent('assistant', ['assistant'], alice), 'customers:read', false, ['agent-forbid:pii']],
    ['pii forbidden', agent('assistant', ['assistant']), 'orders:delete', true],
  ]);
});

test('a hand-written policy can limit agents by the person they act for', (t) => {
  const engine = compileOk(t, {
    files: [
      {
        path: 'agents.cedar',
        text: [
          '@id("agents-only-for-customers")',
          'forbid(principal is Agent, action, resource)',
          'when { context has actingFor && !(context.actingFor in Role::"customer") };',
        ].join('\n'),
      },
    ],
  });
  assertTable(engine, [
    ['for bob', agent('assistant', ['assistant'], bob), 'orders:read', true],
    ['for alice', agent('assistant', ['assistant'], alice), 'orders:read', false, ['agents-only-for-customers']],
  ]);
  const d = engine.decide(request(agent('assistant', ['assistant'], person('carol', ['support'])), 'orders:read'));
  assert.deepEqual(d.policyIds, ['agents-only-for-customers']);
});
