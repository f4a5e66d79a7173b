import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../../src/config/load.ts';
import { errorsOf, summary, VALID, yaml } from './fixtures.ts';

test('a file with many mistakes reports every one, with its path and line', () => {
  const text = yaml`
    version: 2
    auht:
      issuer: x
    gateway:
      listen:
        port: http
    upstreams:
      orders:
        url: ftp://orders
        conections: 4
    routes:
      orders-list:
        match: { path: orders }
        upstream: orders
      bad route:
        match: { path: /x }
        upstream: orders
    log:
      level: loud
  `;
  const problems = errorsOf(text);
  const byPath = new Map(problems.map((p) => [p.path, p]));
  const expected: [string, number, RegExp][] = [
    ['version', 1, /expected 1/],
    ['auht', 2, /unknown key "auht"/],
    ['gateway.listen.port', 6, /expected number/],
    ['upstreams.orders.url', 9, /.+/],
    ['upstreams.orders.conections', 10, /unknown key "conections"; did you mean "connections"\?/],
    ['routes.orders-list.match.path', 13, /must start with \//],
    ['routes["bad route"]', 15, /invalid name "bad route"/],
    ['log.level', 19, /expected one of/],
  ];
  for (const [path, line, message] of expected) {
    const problem = byPath.get(path);
    assert.ok(problem, `no problem at ${path} in\n${summary(problems).join('\n')}`);
    assert.equal(problem.line, line, path);
    assert.match(problem.message, message, path);
  }
  assert.equal(problems.length, expected.length, summary(problems).join('\n'));
});

test('problems are sorted by line', () => {
  const problems = errorsOf(yaml`
    log: { level: loud }
    version: 1
    gateway: { listen: { port: -1 } }
  `);
  assert.deepEqual(problems.map((p) => p.line), [1, 3]);
});

test('a typo in a key is an error, not ignored, and close keys are suggested', () => {
  const text = VALID.replace('  orders-list:\n    match:', '  orders-list:\n    mtach:');
  const problems = errorsOf(text);
  assert.ok(problems.some((p) => p.path === 'routes.orders-list.mtach' && /did you mean "match"/.test(p.message)), summary(problems).join('\n'));
  assert.deepEqual(errorsOf(`${VALID}auth:\n  issuer: x\n`).map((p) => [p.path, p.message]), [['auth', 'unknown key "auth"']]);
});

test('a missing required key is reported on the object that lacks it', () => {
  const problems = errorsOf(VALID.replace('    upstream: orders\n    rewrite', '    rewrite'));
  assert.deepEqual(summary(problems), ['routes.orders-read.upstream @18: required (string)']);
  assert.deepEqual(summary(errorsOf('gateway: {}\n')), ['version @-: required (1)']);
});

test('YAML syntax errors carry their line, one per line however much the parser complains', () => {
  assert.deepEqual(summary(errorsOf('version: 1\nlog:\n  level: a: b\n')), [' @3: Nested mappings are not allowed in compact mappings']);
  // An unquoted ${...} inside a flow map is a YAML error that the parser reports token by token.
  const problems = errorsOf('version: 1\ngateway: {a: ${P}, b: 2}\nlog: [\n');
  assert.ok(problems.length >= 2);
  assert.ok(problems.every((p) => p.path === '' && typeof p.line === 'number'));
  assert.equal(new Set(problems.map((p) => p.line)).size, problems.length);
  assert.equal(problems[0]?.line, 2);
  assert.match(problems[0]?.message ?? '', /quote values that contain \$\{\.\.\.\}/);
});

test('duplicate keys are an error at their path', () => {
  const problems = errorsOf('version: 1\nlog:\n  level: info\n  level: debug\n');
  assert.deepEqual(summary(problems), ['log.level @4: duplicate key (first at line 3)']);
});

test('an empty file, a non-mapping and an unreadable file are reported', () => {
  assert.deepEqual(summary(errorsOf('')), [' @-: the file is empty']);
  assert.deepEqual(summary(errorsOf('- a\n- b\n')), [' @1: the top level must be a mapping of keys to values']);
  const missing = loadConfig({ file: '/nonexistent/cortex.yaml' });
  assert.deepEqual(missing, { ok: false, errors: [{ path: '', message: 'cannot read /nonexistent/cortex.yaml (ENOENT)' }] });
});

test('__proto__ keys and self-referencing aliases are refused', () => {
  assert.deepEqual(summary(errorsOf(`${VALID}__proto__: { polluted: true }\n`)), ['__proto__ @25: the key __proto__ is not allowed']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  const problems = errorsOf(`${VALID}log: &a { level: *a }\n`);
  assert.match(problems[0]?.message ?? '', /refers to a node that contains it/);
});

test('aliases expand like the values they name', () => {
  const text = yaml`
    version: 1
    upstreams:
      orders: &orders { url: "http://127.0.0.1:1" }
      billing: *orders
    routes:
      a: { match: { path: /a }, upstream: orders, auth: none }
      b: { match: { path: /b }, upstream: billing, auth: none }
  `;
  const result = loadConfig({ text, env: {} });
  assert.ok(result.ok);
  assert.equal(result.config.upstreams.billing?.url, 'http://127.0.0.1:1');
});
