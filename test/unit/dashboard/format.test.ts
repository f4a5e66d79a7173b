// The dashboard's pure helpers (dashboard/src/): what the live feed and the routes view show.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decisionText, denialReason, exchangeCaller, resourceAttributes, whoLabel } from '../../../dashboard/src/format.ts';
import { differingStages } from '../../../dashboard/src/stage-diff.ts';
import type { RequestEvent, StageGrants } from '../../../dashboard/src/types.ts';

function event(over: Partial<RequestEvent>): RequestEvent {
  return {
    v: 1,
    type: 'request',
    id: 'r1',
    time: '2026-11-26T05:00:00.000Z',
    stage: 'dev',
    who: null,
    what: { method: 'GET', host: 'localhost', path: '/orders' },
    decision: null,
    outcome: { status: 200, code: 'ok', durationMs: 3, bytesIn: 0, bytesOut: 2 },
    client: { ip: '127.0.0.1' },
    ...over,
  } as RequestEvent;
}

const bob = { subject: 'bob', issuer: 'http://idp', provider: 'dev', kind: 'user', method: 'bearer', roles: ['customer'], username: 'bob' };

test('who a row names: a person by username, an agent for its person, nobody as anonymous', () => {
  assert.equal(whoLabel(null), 'anonymous');
  assert.equal(whoLabel(bob), 'bob');
  assert.equal(whoLabel({ ...bob, subject: 'assistant', kind: 'agent', username: undefined, onBehalfOf: { subject: 'bob', kind: 'user' } }), 'assistant for bob');
});

test('a token exchange is named by the agent and the person its exchange object gives', () => {
  const exchange = event({ what: { method: 'POST', host: 'localhost', path: '/.cortex/token' }, exchange: { agent: 'assistant', person: { issuer: 'http://idp', subject: 'bob' } } });
  assert.deepEqual(exchangeCaller(exchange), { agent: 'assistant', label: 'assistant for bob' });
  assert.equal(exchangeCaller(event({})), undefined);
  assert.equal(exchangeCaller(event({ who: bob, exchange: { agent: 'assistant' } })), undefined, 'a caller the gateway identified is shown as such');
});

test('decision and denial reason: the policy reason, else the reason code', () => {
  assert.equal(decisionText(event({})), '-');
  const denied = event({ decision: { allow: false, mode: 'enforce', policyIds: ['p'], reason: 'authz.denied' }, outcome: { status: 403, code: 'authz.denied', durationMs: 1 } });
  assert.equal(decisionText(denied), 'deny');
  assert.equal(denialReason(denied), 'authz.denied');
  const unauthenticated = event({ outcome: { status: 401, code: 'authn.missing_credentials', durationMs: 1 } });
  assert.equal(denialReason(unauthenticated), 'authn.missing_credentials');
});

test('resource attributes typed in the explainer: name=value pairs, | for a set, junk ignored', () => {
  assert.equal(resourceAttributes(''), undefined);
  assert.equal(resourceAttributes('no-equals, =x'), undefined);
  assert.deepEqual(resourceAttributes(' owner = bob , tags=a|b '), { owner: 'bob', tags: ['a', 'b'] });
});

test('the stage cells to highlight: those not holding the most common grants', () => {
  const same: StageGrants = { intent: 'orders:read', policy: true, roles: ['customer'], groups: [], services: [], agents: [] };
  const wider: StageGrants = { ...same, roles: ['customer', 'support'] };
  assert.deepEqual([...differingStages({ dev: same, staging: same, prod: same })], []);
  assert.deepEqual([...differingStages({ dev: wider, staging: same, prod: same })], ['dev']);
  assert.deepEqual([...differingStages({ dev: wider, prod: same })].sort(), ['dev', 'prod'], 'two stages that disagree are both marked');
  assert.deepEqual([...differingStages({ dev: same, prod: { unavailable: 'config does not load' } })], [], 'a stage whose config does not load is left out');
});
