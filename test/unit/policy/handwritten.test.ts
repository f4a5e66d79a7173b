// Hand-written Cedar beside the grants: public routes, MFA for destructive intents in prod,
// ownership through path parameters; files that must fail the compile, naming the file; and
// evaluation errors, which deny (Cedar alone skips an erroring policy, so a forbid would fail open).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAuthorized } from '@cedar-policy/cedar-wasm/nodejs';
import { toCedar } from '../../../src/policy/engine.ts';
import { assertTable, compileOk, compileProblems, INTENTS, person, request, service } from './fixtures.ts';
import { ANONYMOUS } from '../../../src/identity/claims-identity.ts';

test('anonymous is denied by default, even on an intent every role holds', (t) => {
  const engine = compileOk(t, { grants: { everyone: ['*'] } });
  assertTable(engine, [
    ['anonymous', ANONYMOUS, 'health:read', false, []],
    ['anonymous', ANONYMOUS, 'orders:read', false, []],
  ]);
});

test('a hand-written permit opens one intent to anonymous callers', (t) => {
  const text = '@id("public-health")\npermit(principal is Anonymous, action == Action::"health:read", resource);\n';
  const engine = compileOk(t, { files: [{ path: 'policies/public.cedar', text }] });
  assertTable(engine, [
    ['anonymous', ANONYMOUS, 'health:read', true, ['public-health']],
    ['anonymous', ANONYMOUS, 'orders:read', false, []],
  ]);
});

test('MFA for destructive intents in prod: a context forbid', (t) => {
  const text = [
    '@id("prod-destructive-needs-mfa")',
    'forbid(principal, action in Action::"tag:destructive", resource)',
    'when { context.stage == "prod" && !context.mfa };',
  ].join('\n');
  const engine = compileOk(t, { files: [{ path: 'mfa.cedar', text }] });
  const pwd = person('alice', ['admin'], { claims: { amr: ['pwd'] } });
  const otp = person('alice', ['admin'], { claims: { amr: ['pwd', 'otp'] } });
  const hwk = person('alice', ['admin'], { claims: { amr: 'hwk' } });
  assertTable(engine, [
    ['prod, password only', pwd, 'orders:delete', false, ['prod-destructive-needs-mfa']],
    ['prod, password only, not destructive', pwd, 'orders:read', true, ['grant:admin:*']],
    ['prod, otp', otp, 'orders:delete', true, ['grant:admin:*']],
    ['prod, hardware key', hwk, 'orders:delete', true, ['grant:admin:*']],
  ], { stage: 'prod' });
  assertTable(engine, [['staging, password only', pwd, 'orders:delete', true, ['grant:admin:*']]], { stage: 'staging' });
});

test('ownership through a path parameter: a customer reads orders under their own user only', (t) => {
  const text = [
    '// The route is /users/{user}/orders/{id}.',
    '@id("customers-own-orders")',
    'forbid(principal in Role::"customer", action == Action::"orders:read", resource)',
    'unless { resource.hasTag("user") && resource.getTag("user") == principal.subject };',
  ].join('\n');
  const engine = compileOk(t, { files: [{ path: 'own.cedar', text }] });
  const bob = person('bob', ['customer']);
  assertTable(engine, [['own', bob, 'orders:read', true, ['grant:customer:orders:read']]], { params: { user: 'bob', id: '42' } });
  assertTable(engine, [['another', bob, 'orders:read', false, ['customers-own-orders']]], { params: { user: 'carol', id: '43' } });
  assertTable(engine, [['no parameter', bob, 'orders:read', false, ['customers-own-orders']]], { params: { user: undefined } });
  assertTable(engine, [['support', person('carol', ['support']), 'orders:read', true]], { params: { user: 'bob' } });
});

test('hand-written policies read the context: client address, method, kind and time', (t) => {
  const text = [
    '@id("services-from-inside")',
    'forbid(principal is Service, action, resource) unless { context.clientIp like "10.*" && context.method == "mtls" };',
    '@id("no-new-orders-after-2030")',
    'forbid(principal, action == Action::"orders:create", resource) when { context.time >= 1893456000 && context.kind == "user" };',
  ].join('\n');
  const engine = compileOk(t, { files: [{ path: 'ctx.cedar', text }] });
  const mtls = service('reporter', ['reporting'], { method: 'mtls' });
  assertTable(engine, [['inside, mtls', mtls, 'orders:list', true]], { clientIp: '10.1.2.3' });
  assertTable(engine, [['outside', mtls, 'orders:list', false, ['services-from-inside']]], { clientIp: '192.0.2.1' });
  assertTable(engine, [['jwt', service('reporter', ['reporting']), 'orders:list', false, ['services-from-inside']]], { clientIp: '10.1.2.3' });
  const bob = person('bob', ['customer']);
  assertTable(engine, [['2025', bob, 'orders:create', true]]);
  assertTable(engine, [['2031', bob, 'orders:create', false, ['no-new-orders-after-2030']]], { nowMs: Date.UTC(2031, 0, 1) });
});

test('a policy that fails validation fails the compile, naming its file and line', () => {
  const attr = compileProblems({ files: [{ path: 'bad-attr.cedar', text: '\npermit(principal, action, resource)\nwhen { resource.owner == "bob" };' }] });
  assert.equal(attr.length, 1);
  assert.match(attr[0] ?? '', /^bad-attr\.cedar:2: .*attribute `owner`/);
  const type = compileProblems({ files: [{ path: 'bad-type.cedar', text: '@id("customers")\npermit(principal is Customer, action, resource);' }] });
  assert.match(type.join('\n'), /^bad-type\.cedar:1: policy customers: .*Customer/);
  const action = compileProblems({ files: [{ path: 'bad-action.cedar', text: 'permit(principal, action == Action::"orders:archive", resource);' }] });
  assert.match(action.join('\n'), /^bad-action\.cedar:1: .*orders:archive/);
  const unsafe = compileProblems({ files: [{ path: 'unsafe.cedar', text: 'permit(principal, action, resource) when { context.actingFor.subject == "bob" };' }] });
  assert.match(unsafe.join('\n'), /^unsafe\.cedar:1: .*actingFor/);
});

test('a syntax error fails the compile with the file and line', () => {
  const problems = compileProblems({
    files: [
      { path: 'ok.cedar', text: 'permit(principal is Anonymous, action == Action::"health:read", resource);' },
      { path: 'broken.cedar', text: '// first\npermit(principal, action resource);' },
    ],
  });
  assert.equal(problems.length, 1);
  assert.match(problems[0] ?? '', /^broken\.cedar:2: /);
});

test('ids must be unique across generated and hand-written policies, and tag: intents are reserved', () => {
  const dup = compileProblems({ files: [{ path: 'spoof.cedar', text: '@id("grant:admin:*")\npermit(principal, action, resource);' }] });
  assert.deepEqual(dup, ["spoof.cedar: policy id 'grant:admin:*' is already used by a generated policy"]);
  const reserved = compileProblems({ intents: new Map([['tag:destructive', []]]) });
  assert.match(reserved.join('\n'), /tag:destructive.*reserved/);
});

test('policies without an @id are named by file and line', (t) => {
  const engine = compileOk(t, { files: [{ path: 'p.cedar', text: '\n\npermit(principal is Anonymous, action == Action::"health:read", resource);' }] });
  assert.deepEqual(engine.decide(request(ANONYMOUS, 'health:read')).policyIds, ['p.cedar:3']);
});

// Passes strict validation (types are right) but overflows at run time: time (~1.7e9) × 1e10 > 2^63.
const OVERFLOWING_FORBID = [
  '@id("forbid-that-errors")',
  'forbid(principal, action in Action::"tag:destructive", resource)',
  'when { context.time * 10000000000 > 0 };',
].join('\n');

test('an erroring forbid denies with authz.policy_error, where Cedar alone would have allowed', (t) => {
  const files = [{ path: 'overflow.cedar', text: OVERFLOWING_FORBID }];
  const engine = compileOk(t, { files });
  const req = request(person('alice', ['admin']), 'orders:delete');

  const decision = engine.decide(req);
  assert.equal(decision.allow, false);
  assert.equal(decision.reason, 'authz.policy_error');
  assert.deepEqual(decision.policyIds, ['forbid-that-errors']);
  assert.equal(decision.errors.length, 1);
  assert.match(decision.errors[0] ?? '', /^forbid-that-errors: .*overflow/);

  const raw = isAuthorized({
    ...toCedar(req, INTENTS.get('orders:delete') ?? []),
    policies: { staticPolicies: `${engine.generatedPolicies}\n${OVERFLOWING_FORBID}` },
    schema: engine.schema,
    validateRequest: true,
  });
  assert.equal(raw.type, 'success');
  if (raw.type === 'success') {
    assert.equal(raw.response.decision, 'allow');
    // Parsed from one text, the policies get Cedar's positional ids (policy0, ...), not their @id.
    assert.equal(raw.response.diagnostics.reason.length, 1);
    assert.equal(raw.response.diagnostics.errors.length, 1);
    assert.match(raw.response.diagnostics.errors[0]?.error.message ?? '', /overflow/);
  }
});

test('the erroring policy only matters where it applies: other intents are decided normally', (t) => {
  const engine = compileOk(t, { files: [{ path: 'overflow.cedar', text: OVERFLOWING_FORBID }] });
  const d = engine.decide(request(person('alice', ['admin']), 'orders:read'));
  assert.deepEqual(d, { allow: true, policyIds: ['grant:admin:*'], reason: 'ok', errors: [] });
});

test('an erroring permit also denies, even when another permit allows', (t) => {
  const text = '@id("permit-that-errors")\npermit(principal, action, resource) when { context.time * 10000000000 > 0 };';
  const engine = compileOk(t, { files: [{ path: 'p.cedar', text }] });
  const d = engine.decide(request(person('bob', ['customer']), 'orders:read'));
  assert.deepEqual([d.allow, d.reason, d.policyIds], [false, 'authz.policy_error', ['permit-that-errors']]);
});
