// Starts each runnable example in examples/verify/ as its own process (the framework for real)
// against a local JWKS server, and calls it over HTTP.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { makeKey, mint, startJwksServer, type JwksServer, type TestKey } from '../../unit/verify/jwks-fixture.ts';

const EXAMPLES = resolve(dirname(fileURLToPath(import.meta.url)), '../../../examples/verify');
const FRAMEWORKS = ['node-http', 'express', 'fastify', 'hono'] as const;

let key: TestKey;
let jwks: JwksServer;
before(async () => {
  key = await makeKey('ES256');
  jwks = await startJwksServer([key]);
});
after(() => jwks.close());

async function startExample(name: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [resolve(EXAMPLES, `${name}.ts`)], {
    env: { ...process.env, PORT: '0', CORTEX_ISSUER: jwks.issuer, CORTEX_AUDIENCE: 'orders' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const url = await new Promise<string>((resolveUrl, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening (http:\/\/\S+)/.exec(out);
      if (match !== null) resolveUrl(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}: ${err}`)));
  });
  return { url, child };
}

async function get(url: string, headers: Record<string, string> | string[] = {}) {
  const res = await request(`${url}/orders?x=1`, { headers });
  const text = await res.body.text();
  return { status: res.statusCode, type: String(res.headers['content-type']), body: JSON.parse(text) as Record<string, unknown> };
}

for (const name of FRAMEWORKS) {
  describe(`examples/verify/${name}.ts`, () => {
    let example: { url: string; child: ChildProcess };
    before(async () => {
      example = await startExample(name);
    });
    after(async () => {
      const exited = once(example.child, 'exit');
      example.child.kill('SIGTERM');
      await exited;
    });

    test('a valid assertion reaches the handler, which sees the caller', async () => {
      const token = await mint(key, { issuer: jwks.issuer, claims: { sub: 'bob', roles: ['support'] } });
      const res = await get(example.url, { 'cortex-assertion': token });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const caller = res.body.caller as Record<string, unknown>;
      assert.equal(caller.subject, 'bob');
      assert.deepEqual(caller.roles, ['support']);
      assert.equal(caller.kind, 'user');
    });

    test('no assertion, a forged one, a wrong audience or two headers: 401 problem+json', async () => {
      const forged = await mint(key, { issuer: jwks.issuer, header: { jwk: key.publicJwk } });
      const billing = await mint(key, { issuer: jwks.issuer, audience: 'billing' });
      const valid = await mint(key, { issuer: jwks.issuer });
      const cases: Array<[Record<string, string> | string[], string]> = [
        [{}, 'assertion.missing'],
        [{ authorization: `Bearer ${valid}` }, 'assertion.missing'],
        [{ 'cortex-assertion': forged }, 'assertion.malformed'],
        [{ 'cortex-assertion': billing }, 'assertion.wrong_audience'],
        [['cortex-assertion', valid, 'cortex-assertion', valid], 'assertion.duplicate'],
      ];
      for (const [headers, code] of cases) {
        const res = await get(example.url, headers);
        assert.equal(res.status, 401, code);
        assert.match(res.type, /^application\/problem\+json/);
        assert.equal(res.body.code, code);
        assert.equal(res.body.status, 401);
      }
    });
  });
}
