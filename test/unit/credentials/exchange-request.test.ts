// Token exchange requests: form parsing (duplicates refused), parameter checks, client
// authentication by secret (Basic or post) and the failed-attempt limiter.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FailureLimiter, authenticateClient, parseBasic, secretsEqual } from '../../../src/credentials/exchange/client-auth.ts';
import { isFormContentType, parseExchange, parseForm } from '../../../src/credentials/exchange/request.ts';
import type { ExchangeRequest } from '../../../src/credentials/exchange/request.ts';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const AT = 'urn:ietf:params:oauth:token-type:access_token';

function parse(body: string) {
  const form = parseForm(body);
  if (!form.ok) return form;
  return parseExchange(form.value);
}

test('a well-formed exchange parses, scope split and deduplicated, resource taken as audience', () => {
  const r = parse(new URLSearchParams({ grant_type: GRANT, subject_token: 't', subject_token_type: AT, scope: 'orders:read  orders:read orders:create', resource: 'cortex-gateway' }).toString());
  assert.ok(r.ok);
  assert.deepEqual(r.value.scope, ['orders:read', 'orders:create']);
  assert.equal(r.value.audience, 'cortex-gateway');
});

test('refusals: duplicates, a missing or wrong grant type, token types, an empty scope', () => {
  const cases: [string, string][] = [
    [`grant_type=${GRANT}&grant_type=${GRANT}&subject_token=t&subject_token_type=${AT}`, 'invalid_request'],
    [`subject_token=t&subject_token_type=${AT}`, 'invalid_request'],
    [`grant_type=password&subject_token=t&subject_token_type=${AT}`, 'unsupported_grant_type'],
    [`grant_type=${GRANT}&subject_token_type=${AT}`, 'invalid_request'],
    [`grant_type=${GRANT}&subject_token=t&subject_token_type=urn:ietf:params:oauth:token-type:refresh_token`, 'invalid_request'],
    [`grant_type=${GRANT}&subject_token=t&subject_token_type=${AT}&requested_token_type=urn:ietf:params:oauth:token-type:refresh_token`, 'invalid_request'],
    [`grant_type=${GRANT}&subject_token=t&subject_token_type=${AT}&actor_token=a`, 'invalid_request'],
    [`grant_type=${GRANT}&subject_token=t&subject_token_type=${AT}&scope=+`, 'invalid_request'],
  ];
  for (const [body, error] of cases) {
    const r = parse(body.replaceAll(':', '%3A'));
    assert.equal(r.ok, false, body);
    if (!r.ok) assert.equal(r.error.error, error, body);
  }
});

test('only application/x-www-form-urlencoded bodies', () => {
  assert.equal(isFormContentType('application/x-www-form-urlencoded; charset=UTF-8'), true);
  assert.equal(isFormContentType('application/json'), false);
  assert.equal(isFormContentType(undefined), false);
});

test('Basic credentials are form-decoded (RFC 6749 §2.3.1); secrets compare over digests', () => {
  assert.deepEqual(parseBasic('Basic ' + Buffer.from('my%20agent:p%3Ass').toString('base64')), { id: 'my agent', secret: 'p:ss' });
  assert.equal(parseBasic('Bearer abc'), undefined);
  assert.equal(secretsEqual('same-secret', 'same-secret'), true);
  assert.equal(secretsEqual('same-secret', 'other-secret-longer'), false);
});

const clients = { assistant: { secret: 'assistant-secret-0123' }, robot: { provider: 'dev' } };
const req = (o: Partial<ExchangeRequest> = {}): ExchangeRequest => ({ subjectToken: 't', scope: undefined, audience: undefined, actorToken: undefined, clientId: undefined, clientSecret: undefined, ...o });
const noActor = () => Promise.resolve({ ok: false as const });
const basic = (id: string, secret: string) => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');

test('client authentication: Basic, post, a wrong secret, an unknown client, two methods at once', async () => {
  assert.deepEqual(await authenticateClient(basic('assistant', 'assistant-secret-0123'), req(), clients, noActor), { ok: true, clientId: 'assistant', method: 'client_secret_basic' });
  assert.deepEqual(await authenticateClient(undefined, req({ clientId: 'assistant', clientSecret: 'assistant-secret-0123' }), clients, noActor), { ok: true, clientId: 'assistant', method: 'client_secret_post' });
  const wrong = await authenticateClient(basic('assistant', 'nope'), req(), clients, noActor);
  assert.equal(wrong.ok, false);
  if (!wrong.ok) {
    assert.equal(wrong.error.error, 'invalid_client');
    assert.equal(wrong.error.status, 401);
    assert.match(wrong.error.headers?.['www-authenticate'] ?? '', /^Basic/);
  }
  const unknown = await authenticateClient(basic('nobody', 'x'), req(), clients, noActor);
  assert.equal(!unknown.ok && unknown.error.error, 'invalid_client');
  const robotBySecret = await authenticateClient(basic('robot', 'anything'), req(), clients, noActor);
  assert.equal(!robotBySecret.ok && robotBySecret.error.error, 'invalid_client', 'a client without a secret cannot use one');
  const both = await authenticateClient(basic('assistant', 'assistant-secret-0123'), req({ clientSecret: 'x' }), clients, noActor);
  assert.equal(!both.ok && both.error.error, 'invalid_request');
  const none = await authenticateClient(undefined, req(), clients, noActor);
  assert.equal(!none.ok && none.error.error, 'invalid_client');
});

test('client authentication by actor token: the client\'s own token from its configured provider only', async () => {
  const actor = (clientId: string, provider: string, forItself = true) => () => Promise.resolve({ ok: true as const, clientId, provider, forItself });
  assert.deepEqual(await authenticateClient(undefined, req({ actorToken: 'a' }), clients, actor('robot', 'dev')), { ok: true, clientId: 'robot', method: 'actor_token' });
  const otherProvider = await authenticateClient(undefined, req({ actorToken: 'a' }), clients, actor('robot', 'elsewhere'));
  assert.equal(!otherProvider.ok && otherProvider.error.error, 'invalid_client');
  const forSomeone = await authenticateClient(undefined, req({ actorToken: 'a' }), clients, actor('robot', 'dev', false));
  assert.equal(!forSomeone.ok && forSomeone.error.error, 'invalid_client', 'a token acting for a person does not authenticate the client');
  const secretClient = await authenticateClient(undefined, req({ actorToken: 'a' }), clients, actor('assistant', 'dev'));
  assert.equal(!secretClient.ok && secretClient.error.error, 'invalid_client');
});

test('the failure limiter: capacity failures, then refusals until a token refills; per client', () => {
  const l = new FailureLimiter({ capacity: 3, refillMs: 1_000 });
  for (let i = 0; i < 3; i++) {
    assert.equal(l.allows('a', 0), true);
    l.fail('a', 0);
  }
  assert.equal(l.allows('a', 0), false);
  assert.equal(l.allows('b', 0), true);
  assert.equal(l.allows('a', 1_000), true);
});
