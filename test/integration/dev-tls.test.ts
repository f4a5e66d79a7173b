// `cortex dev --tls` as a newcomer runs it: a generated local CA, and the demo served over HTTPS
// with HTTP/1.1 and HTTP/2 (chosen by ALPN), trusted through that CA alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import { tmpdir } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { join, resolve } from 'node:path';

const BIN = resolve(import.meta.dirname, '../../bin/cortex.js');

async function until<T>(what: string, fn: () => T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function getHttp1(url: string, ca: Buffer, token: string): Promise<{ status: number; alpn: string | false | null; body: string }> {
  // Offers only http/1.1 by ALPN, as HTTP/1.1-only clients (curl --http1.1, wrk) do.
  const agent = new https.Agent({ ca, ALPNProtocols: ['http/1.1'], keepAlive: false });
  return new Promise((resolvePromise, reject) => {
    const req = https.get(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const socket = res.socket as TLSSocket;
        resolvePromise({ status: res.statusCode ?? 0, alpn: socket.alpnProtocol, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

function getHttp2(origin: string, path: string, ca: Buffer, token: string): Promise<{ status: number; alpn: string | undefined; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const session = http2.connect(origin, { ca });
    session.on('error', reject);
    const stream = session.request({ ':method': 'GET', ':path': path, authorization: `Bearer ${token}` });
    let status = 0;
    const chunks: Buffer[] = [];
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', reject);
    stream.on('end', () => {
      const alpn = session.alpnProtocol;
      session.close();
      resolvePromise({ status, alpn, body: Buffer.concat(chunks).toString('utf8') });
    });
  });
}

test('cortex dev --tls generates a local CA and serves the demo over HTTPS, HTTP/1.1 and HTTP/2', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'cortex-dev-tls-'));
  const start = (): ChildProcess =>
    spawn(process.execPath, [BIN, 'dev', '--tls', '--port', '0', '--admin-port', '0', '--orders-port', '0', '--idp-port', '0'], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CORTEX_LOG_LEVEL: 'warn' },
    });
  let child = start();
  let stdout = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  try {
    const stateFile = join(cwd, '.cortex/dev/state.json');
    const state = await until('the dev state file', () =>
      existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as { gatewayUrl: string }) : undefined,
    );
    assert.match(state.gatewayUrl, /^https:\/\/localhost:\d+$/);
    const tlsDir = join(cwd, '.cortex/dev/tls');
    for (const key of ['key.pem', 'ca-key.pem']) assert.equal(statSync(join(tlsDir, key)).mode & 0o777, 0o600, `${key} is mode 0600`);
    const ca = readFileSync(join(tlsDir, 'ca.pem'));
    await until('the banner', () => (stdout.includes('Ctrl-C') ? true : undefined));
    assert.ok(stdout.includes(`curl --cacert .cortex/dev/tls/ca.pem -H "authorization: Bearer $(npx cortex dev token --as alice)" ${state.gatewayUrl}/orders`), stdout);
    assert.ok(stdout.includes(`curl --http2 --cacert .cortex/dev/tls/ca.pem`), stdout);
    const token = () => execFileSync(process.execPath, [BIN, 'dev', 'token', '--as', 'alice'], { cwd, encoding: 'utf8' }).trim();
    const aliceToken = token();

    const h1 = await getHttp1(`${state.gatewayUrl}/orders`, ca, aliceToken);
    assert.equal(h1.status, 200);
    assert.equal(h1.alpn, 'http/1.1');
    assert.ok((JSON.parse(h1.body) as { orders: unknown[] }).orders.length > 0);

    const h2 = await getHttp2(state.gatewayUrl, '/orders', ca, aliceToken);
    assert.equal(h2.status, 200);
    assert.equal(h2.alpn, 'h2', 'ALPN chose HTTP/2');
    assert.ok((JSON.parse(h2.body) as { orders: unknown[] }).orders.length > 0);

    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0, 'SIGTERM stops cortex dev --tls cleanly');

    // A second run reuses the CA: clients that trust it keep working.
    const caBefore = ca.toString();
    rmSync(stateFile);
    child = start();
    const again = await until('the dev state file again', () =>
      existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as { gatewayUrl: string }) : undefined,
    );
    assert.equal(readFileSync(join(tlsDir, 'ca.pem'), 'utf8'), caBefore, 'the CA is reused');
    assert.equal((await getHttp2(again.gatewayUrl, '/orders', ca, token())).status, 200);
  } finally {
    child.kill('SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
  }
});
