// Two real IdPs behind one gateway: each token is attributed to the issuer that signed it, a route
// can narrow the accepted providers, and the same `sub` at two issuers is two different callers.
// Then the kinds of caller one IdP produces: a person, a service, an agent acting for a person, and
// the anonymous identity of a public route.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditWho } from '../../../src/audit/event.ts';
import { assertProblem, auditFor, header, send } from '../../helpers/gateway-checks.ts';
import type { Reply } from '../../helpers/gateway-checks.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { bearer, providerYaml, startIdentityGateway } from '../../helpers/identity.ts';
import type { IdentityGateway } from '../../helpers/identity.ts';
import { startTestIdp } from '../../helpers/idp.ts';
import type { TestIdp } from '../../helpers/idp.ts';

function get(gw: TestGateway, path: string, token?: string): Promise<Reply> {
  return send(`${gw.url}${path}`, token === undefined ? {} : { headers: bearer(token) });
}

/** The audit `who` of a request that must have gone through (200, outcome ok). */
async function whoOf(gw: TestGateway, reply: Reply): Promise<AuditWho> {
  assert.equal(reply.status, 200, reply.body);
  const event = await auditFor(gw, header(reply, 'x-request-id') as string, 'ok');
  assert.ok(event.who, 'an authenticated request has an audit who');
  return event.who;
}

async function refusedWith(gw: TestGateway, reply: Reply, code: string): Promise<void> {
  const id = assertProblem(reply, 401, code);
  assert.match(String(header(reply, 'www-authenticate')), /^Bearer realm="cortex", error="invalid_token"/);
  await auditFor(gw, id, code);
}

describe('two issuers at once', () => {
  let a: TestIdp;
  let b: TestIdp;
  let g: IdentityGateway;

  before(async () => {
    a = await startTestIdp();
    b = await startTestIdp();
    g = await startIdentityGateway(
      [providerYaml('a', a), providerYaml('b', b)].join('\n'),
      ['  only-a: { match: { prefix: /only-a/ }, upstream: up, bearer: { providers: [a] } }', '  api: { match: { prefix: /api/ }, upstream: up }'].join('\n'),
    );
  });
  after(async () => {
    await g?.close();
    await a?.close();
    await b?.close();
  });

  test('a token from each IdP is accepted, and the audit names the provider and issuer that signed it', async () => {
    assert.notEqual(a.issuer, b.issuer);
    const fromA = await whoOf(g.gw, await get(g.gw, '/api/orders', await a.tokenFor({ sub: 'alice' })));
    const fromB = await whoOf(g.gw, await get(g.gw, '/api/orders', await b.tokenFor({ sub: 'bob' })));
    assert.deepEqual([fromA.provider, fromA.issuer, fromA.subject], ['a', a.issuer, 'alice']);
    assert.deepEqual([fromB.provider, fromB.issuer, fromB.subject], ['b', b.issuer, 'bob']);
    assert.equal(g.upstream.requests.length, 2, 'both requests reached the upstream');
  });

  test("a route limited to provider a refuses IdP b's token, fresh or already cached", async () => {
    const tokenA = await a.tokenFor({ sub: 'alice' });
    const who = await whoOf(g.gw, await get(g.gw, '/only-a/report', tokenA));
    assert.equal(who.provider, 'a');

    const fresh = await b.tokenFor({ sub: 'alice' });
    await refusedWith(g.gw, await get(g.gw, '/only-a/report', fresh), 'authn.unknown_issuer');

    // Accepted (and so cached) on the route open to both providers first: the cache must not widen /only-a/.
    const cached = await b.tokenFor({ sub: 'alice' });
    assert.equal((await whoOf(g.gw, await get(g.gw, '/api/orders', cached))).provider, 'b');
    await refusedWith(g.gw, await get(g.gw, '/only-a/report', cached), 'authn.unknown_issuer');
  });

  test('the same sub from the two issuers is two callers: different fingerprints, stable per issuer', async () => {
    const aliceA1 = await whoOf(g.gw, await get(g.gw, '/api/x', await a.tokenFor({ sub: 'alice' })));
    const aliceA2 = await whoOf(g.gw, await get(g.gw, '/api/x', await a.tokenFor({ sub: 'alice' })));
    const aliceB = await whoOf(g.gw, await get(g.gw, '/api/x', await b.tokenFor({ sub: 'alice' })));
    assert.equal(aliceA1.subject, aliceB.subject);
    assert.ok(aliceA1.fingerprint && aliceB.fingerprint);
    assert.equal(aliceA1.fingerprint, aliceA2.fingerprint, 'two tokens of one person at one issuer');
    assert.notEqual(aliceA1.fingerprint, aliceB.fingerprint, 'one sub at two issuers');
    assert.notEqual(aliceA1.keyId, aliceB.keyId, 'each IdP signs with its own key');
  });
});

describe('kinds of caller', () => {
  let idp: TestIdp;
  let g: IdentityGateway;

  before(async () => {
    idp = await startTestIdp();
    g = await startIdentityGateway(
      providerYaml('dev', idp, [
        'roles: { claim: groups, map: { admins: [admin], customers: [customer] } }',
        'services: { reporting: { roles: [reporting] } }',
        'agents: { assistant: { roles: [agent] } }',
      ]),
      ['  public: { match: { prefix: /public/ }, upstream: up, auth: none }', '  api: { match: { prefix: /api/ }, upstream: up }'].join('\n'),
    );
  });
  after(async () => {
    await g?.close();
    await idp?.close();
  });

  test('a person: kind user, roles from the group mapping', async () => {
    const who = await whoOf(g.gw, await get(g.gw, '/api/me', await idp.tokenFor({ sub: 'alice' })));
    assert.equal(who.kind, 'user');
    assert.equal(who.subject, 'alice');
    assert.equal(who.method, 'jwt');
    assert.deepEqual(who.roles, ['admin']);
    assert.equal(who.onBehalfOf, undefined);
  });

  test('a client-credentials token: kind service, the client as subject, roles from services', async () => {
    const who = await whoOf(g.gw, await get(g.gw, '/api/reports', await idp.serviceToken({ clientId: 'reporting' })));
    assert.equal(who.kind, 'service');
    assert.equal(who.subject, 'reporting');
    assert.deepEqual(who.roles, ['reporting']);
    assert.equal(who.onBehalfOf, undefined);
  });

  test("an agent token for bob: kind agent, the agent as subject, bob behind it, the agent's own roles", async () => {
    const who = await whoOf(g.gw, await get(g.gw, '/api/orders', await idp.tokenFor({ sub: 'bob', actor: 'assistant' })));
    assert.equal(who.kind, 'agent');
    assert.equal(who.subject, 'assistant');
    assert.deepEqual(who.onBehalfOf, { subject: 'bob', kind: 'user', username: 'bob' });
    assert.deepEqual(who.roles, ['agent'], "bob's customer role is not the agent's");
    const bob = await whoOf(g.gw, await get(g.gw, '/api/orders', await idp.tokenFor({ sub: 'bob' })));
    assert.notEqual(who.fingerprint, bob.fingerprint, 'the agent for bob is not bob');
  });

  test('an auth: none route gives the anonymous identity, with or without a token', async () => {
    const none = await whoOf(g.gw, await get(g.gw, '/public/status'));
    assert.equal(none.kind, 'anonymous');
    assert.equal(none.subject, 'anonymous');
    assert.deepEqual(none.roles, []);
    const withToken = await whoOf(g.gw, await get(g.gw, '/public/status', await idp.tokenFor({ sub: 'alice' })));
    assert.equal(withToken.kind, 'anonymous', 'a public route does not authenticate');
  });
});
