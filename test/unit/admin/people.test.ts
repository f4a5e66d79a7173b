// GET /api/people/<user> without a listener: who the trail says the person is, and the agents acting
// for them (grants, and agents seen in the trail), from fake stores.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import type { AuditEvent, AuditWho } from '../../../src/audit/event.ts';
import type { AuditQuery } from '../../../src/audit/record.ts';
import type { AgentGrant, AgentGrantStore, RevocationStore } from '../../../src/credentials/types.ts';
import { parseInput } from '../../../src/admin/explain.ts';
import { peopleEndpoint, personView } from '../../../src/admin/people.ts';

const T0 = Date.UTC(2026, 0, 1);
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const bob: AuditWho = { subject: 'u-bob', issuer: 'http://idp', provider: 'dev', kind: 'user', method: 'jwt', roles: ['customer'], username: 'bob' };
const assistant: AuditWho = { subject: 'assistant', issuer: 'http://idp', provider: 'dev', kind: 'agent', method: 'jwt', roles: ['agent'], onBehalfOf: { subject: 'u-bob', kind: 'user', username: 'bob' } };

function event(who: AuditWho, seconds: number, intent?: string): AuditEvent {
  return {
    v: 1,
    type: 'request',
    id: `r-${seconds}`,
    time: at(seconds),
    stage: 'dev',
    who,
    what: { method: 'GET', host: 'h', path: '/orders', ...(intent === undefined ? {} : { intent }) },
    decision: null,
    outcome: { status: 200, code: 'ok', durationMs: 1, bytesIn: 0, bytesOut: 0 },
    client: { ip: '127.0.0.1' },
  };
}

const grant = (agent: string, expiresAt?: number): AgentGrant => ({ issuer: 'http://idp', subject: 'u-bob', agent, createdAt: T0, createdBy: 'self', ...(expiresAt === undefined ? {} : { expiresAt }) });

test('a person: subject and username from the trail, kinds, last seen, and agents from grants and the trail', () => {
  const events = [event(assistant, 30, 'orders:read'), event(bob, 20), event(assistant, 10, 'orders:create')];
  const view = personView('bob', events, [grant('assistant'), grant('planner', T0 - 1)], T0 + 60_000);
  assert.equal(view.subject, 'u-bob');
  assert.equal(view.username, 'bob');
  assert.deepEqual(view.kinds, ['user']);
  assert.equal(view.lastSeen, at(30));
  assert.deepEqual(view.agents, [
    { agent: 'assistant', grant: { createdAt: at(0), expiresAt: null, createdBy: 'self', expired: false }, lastSeen: at(30), intents: ['orders:create', 'orders:read'] },
    { agent: 'planner', grant: { createdAt: at(0), expiresAt: new Date(T0 - 1).toISOString(), createdBy: 'self', expired: true }, lastSeen: null, intents: [] },
  ]);
});

test('an agent seen acting without a grant is listed with grant null; an unknown user is empty', () => {
  const view = personView('u-bob', [event(assistant, 5, 'orders:read')], [], T0);
  assert.deepEqual(view.agents, [{ agent: 'assistant', grant: null, lastSeen: at(5), intents: ['orders:read'] }]);
  assert.deepEqual(personView('nobody', [], [], T0), { user: 'nobody', subject: null, username: null, kinds: [], lastSeen: null, agents: [] });
  assert.deepEqual(personView('assistant', [event(assistant, 5)], [], T0).kinds, ['agent']);
});

test('the endpoint asks the trail for the user and the grant store for their subject', async () => {
  const asked: { query?: AuditQuery; grants?: unknown } = {};
  const trail = {
    query: (q: AuditQuery) => {
      asked.query = q;
      return Promise.resolve({ events: [event(bob, 1)] });
    },
  };
  const grants = {
    list: (f: unknown) => {
      asked.grants = f;
      return Promise.resolve([grant('assistant')]);
    },
  } as unknown as AgentGrantStore;
  const ctx = { req: { url: '/api/people/bob' }, requestId: 'r', deps: { log: pino({ level: 'silent' }) } };
  const reply = await peopleEndpoint(ctx, trail, { grants, revocations: {} as RevocationStore }, T0);
  assert.equal(reply.status, 200, reply.body);
  assert.deepEqual(asked.query, { user: 'bob', limit: 1000 });
  assert.deepEqual(asked.grants, { subject: 'u-bob' });
  assert.equal((JSON.parse(reply.body) as { agents: unknown[] }).agents.length, 1);
  const bad = await peopleEndpoint({ ...ctx, req: { url: '/api/people/%E0' } }, trail, undefined, T0);
  assert.equal(bad.status, 400);
  const failing = { query: () => Promise.reject(new Error('down')) };
  assert.equal((await peopleEndpoint(ctx, failing, undefined, T0)).status, 503);
});

test('POST /api/explain takes an agent acting for a person, and resource attributes', () => {
  assert.deepEqual(parseInput({ agent: 'assistant', for: 'bob', method: 'GET', path: '/orders' }), { who: { agent: 'assistant', for: 'bob' }, method: 'GET', path: '/orders' });
  assert.deepEqual(parseInput({ as: 'bob', method: 'GET', path: '/orders/1', resource: { owner: 'bob', tags: ['a', 'b'] } }), {
    who: { as: 'bob' },
    method: 'GET',
    path: '/orders/1',
    resource: { given: { owner: 'bob', tags: ['a', 'b'] } },
  });
  const problem = (input: unknown): string => {
    const parsed = parseInput(input);
    return typeof parsed === 'string' ? parsed : assert.fail('expected a problem');
  };
  assert.match(problem({ as: 'bob', for: 'alice', method: 'GET', path: '/' }), /"for" names the person/);
  assert.match(problem({ as: 'bob', agent: 'assistant', method: 'GET', path: '/' }), /exactly one/);
  assert.match(problem({ as: 'bob', method: 'GET', path: '/', resource: { owner: 1 } }), /"resource" must be/);
});
