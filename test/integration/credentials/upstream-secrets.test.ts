// Upstream secrets, static: a header from the environment or from a file, through the real gateway
// to a real upstream. A file that changes is used by the next requests with no restart; a client
// never chooses the header; a reload keeps the watcher; no value ever reaches the log.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestGateway } from '../../helpers/gateway.ts';
import type { TestGateway } from '../../helpers/gateway.ts';
import { startUpstream } from '../../helpers/upstream.ts';
import type { TestUpstream } from '../../helpers/upstream.ts';
import { startLoggedGateway } from './upstream-secrets-log.ts';

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The header the upstream received on the last request. */
function lastHeader(upstream: TestUpstream, name: string): string | string[] | undefined {
  return upstream.requests.at(-1)?.headers[name];
}

const config = (url: string, credentials: string, extraRoute = '') => `
upstreams:
  api:
    url: "${url}"
    credentials: ${credentials}
routes:
  r: { match: { prefix: / }, upstream: api, auth: none }
${extraRoute}`;

describe('a static header from the environment', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  before(async () => {
    upstream = await startUpstream();
    gw = await startTestGateway(config(upstream.url, '{ type: header, name: X-Api-Key, prefix: "Key ", secret: { value: "${UPSTREAM_API_KEY}" } }'), {
      env: { UPSTREAM_API_KEY: 'env-key-4b1d' },
    });
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  void test('reaches the upstream with its prefix', async () => {
    const res = await fetch(`${gw.url}/orders`);
    assert.equal(res.status, 200);
    assert.equal(lastHeader(upstream, 'x-api-key'), 'Key env-key-4b1d');
  });

  void test('replaces a value the client sent for the same header, whatever its case', async () => {
    const res = await fetch(`${gw.url}/orders`, { headers: { 'X-API-KEY': 'client-chosen' } });
    assert.equal(res.status, 200);
    const seen = upstream.requests.at(-1);
    assert.equal(seen?.headers['x-api-key'], 'Key env-key-4b1d');
    assert.equal(seen?.rawHeaders.filter((h) => h.toLowerCase() === 'x-api-key').length, 1);
    assert.ok(!seen?.rawHeaders.includes('client-chosen'));
  });
});

describe('a header from a file that rotates', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let secretFile: string;
  before(async () => {
    upstream = await startUpstream();
    gw = await startTestGateway('');
    secretFile = join(gw.dir, 'upstream-token');
    writeFileSync(secretFile, 'file-token-one\n');
    const result = gw.rewrite(config(upstream.url, `{ type: header, prefix: "Bearer ", secret: { file: ${JSON.stringify(secretFile)} } }`));
    assert.equal(result.ok, true, JSON.stringify(result));
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  void test('the file value is sent; the client\'s own Authorization never reaches the upstream', async () => {
    const res = await fetch(`${gw.url}/a`, { headers: { authorization: 'Bearer client-token' } });
    assert.equal(res.status, 200);
    assert.equal(lastHeader(upstream, 'authorization'), 'Bearer file-token-one');
  });

  void test('a changed file is used by the next requests, with no restart or reload', async () => {
    const generation = gw.runtime.gateway.current().generation;
    writeFileSync(join(gw.dir, '.upstream-token.tmp'), 'file-token-two\n');
    renameSync(join(gw.dir, '.upstream-token.tmp'), secretFile);
    await until(async () => {
      await (await fetch(`${gw.url}/b`)).arrayBuffer();
      return lastHeader(upstream, 'authorization') === 'Bearer file-token-two';
    }, 'the new file value at the upstream');
    assert.equal(gw.runtime.gateway.current().generation, generation, 'no reload happened');
  });

  void test('a reload that keeps the credentials keeps the watcher: later changes are still seen', async () => {
    const result = gw.rewrite(
      config(upstream.url, `{ type: header, prefix: "Bearer ", secret: { file: ${JSON.stringify(secretFile)} } }`, '  other: { match: { prefix: /other/ }, upstream: api, auth: none }'),
    );
    assert.equal(result.ok, true, JSON.stringify(result));
    writeFileSync(secretFile, 'file-token-three\n');
    await until(async () => {
      await (await fetch(`${gw.url}/other/x`)).arrayBuffer();
      return lastHeader(upstream, 'authorization') === 'Bearer file-token-three';
    }, 'the value written after the reload');
  });

  void test('a secret file missing at reload rejects the reload; the old config keeps serving', async () => {
    const result = gw.rewrite(config(upstream.url, `{ type: header, secret: { file: ${JSON.stringify(join(gw.dir, 'no-such-file'))} } }`));
    assert.equal(result.ok, false);
    assert.match(JSON.stringify(result), /credentials\.secret: file .* holds no usable secret/);
    const res = await fetch(`${gw.url}/c`);
    assert.equal(res.status, 200);
    assert.equal(lastHeader(upstream, 'authorization'), 'Bearer file-token-three');
  });
});

void test('no secret value, old or new, ever appears in the log', async () => {
  const upstream = await startUpstream();
  const gw = await startLoggedGateway('');
  try {
    const file = join(gw.dir, 'key');
    writeFileSync(file, 'logged-old-value-9f2c\n');
    const result = gw.rewrite(
      `upstreams:\n  api:\n    url: "${upstream.url}"\n    credentials: { type: header, name: x-api-key, secret: { file: ${JSON.stringify(file)} } }\nroutes:\n  r: { match: { prefix: / }, upstream: api, auth: none }`,
    );
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.equal((await fetch(`${gw.url}/x`, { headers: { 'x-api-key': 'client-value-7e1a' } })).status, 200);
    writeFileSync(file, '');
    await until(() => gw.lines.some((l) => l.includes('the secret file is empty; keeping the last value')), 'the empty-file warning');
    writeFileSync(file, 'logged-new-value-31ab\n');
    await until(() => gw.lines.some((l) => l.includes('credential for upstream api refreshed (file changed)')), 'the refresh line');
    await (await fetch(`${gw.url}/y`)).arrayBuffer();
    assert.equal(lastHeader(upstream, 'x-api-key'), 'logged-new-value-31ab');
    assert.ok(gw.lines.length > 3, 'the log was captured');
    for (const line of gw.lines) {
      for (const secret of ['logged-old-value-9f2c', 'logged-new-value-31ab', 'client-value-7e1a']) assert.ok(!line.includes(secret), `a log line holds a secret: ${line}`);
    }
  } finally {
    await gw.close();
    await upstream.close();
  }
});
