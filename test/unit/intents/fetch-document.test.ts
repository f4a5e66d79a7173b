import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fetchApiDocument, MAX_DOCUMENT_BYTES } from '../../../src/intents/document.ts';
import { apiConfig, ORDERS_30, ORDERS_31_YAML } from './fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'cortex-doc-'));
const JSON_TEXT = JSON.stringify(ORDERS_30);
const server = createServer((req, res) => {
  switch (req.url) {
    case '/openapi.json':
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON_TEXT);
      return;
    case '/openapi.yaml':
      res.writeHead(200, { 'content-type': 'application/yaml' }).end(ORDERS_31_YAML);
      return;
    case '/broken':
      res.writeHead(500).end('oops');
      return;
    case '/slow':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"openapi":');
      return; // never ends: the fetch times out
    case '/huge': {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, ' ');
      for (let i = 0; i < 6; i++) res.write(chunk);
      res.end('{}');
      return;
    }
    case '/swagger':
      res.writeHead(200).end(JSON.stringify({ swagger: '2.0', paths: {} }));
      return;
    default:
      res.writeHead(404).end();
  }
});
let base = '';

before(async () => {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
  rmSync(dir, { recursive: true, force: true });
});

function urlConfig(path: string, fetchTimeoutMs = 5000) {
  return apiConfig({ spec: { url: `${base}${path}` }, fetchTimeoutMs });
}

test('200 with JSON: the operations, a SHA-256 digest of the bytes and the fetch time', async () => {
  const result = await fetchApiDocument('orders', urlConfig('/openapi.json'), { now: 1234 });
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.document.api, 'orders');
  assert.equal(result.document.operations.length, 5);
  assert.match(result.document.digest, /^[0-9a-f]{64}$/);
  assert.equal(result.document.fetchedAt, 1234);
  const again = await fetchApiDocument('orders', urlConfig('/openapi.json'));
  assert.ok(again.ok);
  assert.equal(again.document.digest, result.document.digest);
});

test('200 with YAML (OpenAPI 3.1): read the same way, with its problems', async () => {
  const result = await fetchApiDocument('orders', urlConfig('/openapi.yaml'));
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.document.operations.length, 5);
  assert.equal(result.document.problems.length, 3);
});

test('a non-2xx answer, a timeout, a document too large and a non-OpenAPI document are failures', async () => {
  const cases = [
    [urlConfig('/broken'), /answered 500/],
    [urlConfig('/missing'), /answered 404/],
    [urlConfig('/slow', 200), /no answer within 200 ms/],
    [urlConfig('/huge'), new RegExp(`larger than ${MAX_DOCUMENT_BYTES} bytes`)],
    [urlConfig('/swagger'), /not an OpenAPI 3\.x document/],
  ] as const;
  for (const [cfg, why] of cases) {
    const result = await fetchApiDocument('orders', cfg);
    assert.ok(!result.ok, cfg.spec.url);
    assert.match(result.problem, why);
    assert.match(result.problem, /^apis\.orders: /);
  }
});

test('an aborted fetch is a failure', async () => {
  const controller = new AbortController();
  controller.abort();
  const result = await fetchApiDocument('orders', urlConfig('/openapi.json'), { signal: controller.signal });
  assert.ok(!result.ok);
});

test('a file: JSON or YAML; a missing file and one that is not YAML are failures', async () => {
  const yamlFile = join(dir, 'orders.yaml');
  writeFileSync(yamlFile, ORDERS_31_YAML);
  const read = await fetchApiDocument('orders', apiConfig({ spec: { file: yamlFile } }));
  assert.ok(read.ok);
  assert.deepEqual(read.document.operations.map((o) => o.key).slice(0, 2), ['GET /orders', 'PUT /orders/{id}']);
  const missing = await fetchApiDocument('orders', apiConfig({ spec: { file: join(dir, 'nope.yaml') } }));
  assert.ok(!missing.ok);
  assert.match(missing.problem, /cannot be read \(ENOENT\)/);
  const garbage = join(dir, 'garbage.yaml');
  writeFileSync(garbage, 'openapi: [unclosed\n');
  const bad = await fetchApiDocument('orders', apiConfig({ spec: { file: garbage } }));
  assert.ok(!bad.ok);
  assert.match(bad.problem, /is not JSON or YAML/);
});

test('YAML as a flow mapping and an unquoted openapi: 3.1 are read; openapi: 2.0 or 3.x.y.z is not OpenAPI 3', async () => {
  const file = join(dir, 'flow.yaml');
  for (const [text, ok] of [
    ['{openapi: 3.1, paths: {/a: {get: {x-cortex-intent: "a:read"}}}}', true],
    ['openapi: 3.0\npaths: {}\n', true],
    ['openapi: 2.0\npaths: {}\n', false],
    ['openapi: "3.0.0.1"\n', false],
    ['just text\n', false],
  ] as const) {
    writeFileSync(file, text);
    const result = await fetchApiDocument('orders', apiConfig({ spec: { file } }));
    assert.equal(result.ok, ok, text);
  }
});
