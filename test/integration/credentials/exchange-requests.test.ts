// What /.cortex/token does with requests that are not well-formed exchanges: the wrong method,
// content type, duplicate parameters, a huge body, bytes on a raw socket. Always an answer, never 500.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rawRequest } from '../../helpers/raw-http.ts';
import { ACCESS, ASSISTANT_SECRET, EXCHANGE, startExchangeWorld } from './exchange-setup.ts';
import type { ExchangeWorld } from './exchange-setup.ts';

const BASIC = 'Basic ' + Buffer.from(`assistant:${ASSISTANT_SECRET}`).toString('base64');

function raw(port: number, body: string, headers: Record<string, string> = {}): string {
  const lines = [
    'POST /.cortex/token HTTP/1.1',
    'Host: 127.0.0.1',
    `Authorization: ${BASIC}`,
    'Connection: close',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries({ 'Content-Type': 'application/x-www-form-urlencoded', ...headers }).map(([k, v]) => `${k}: ${v}`),
  ];
  void port;
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

describe('token endpoint: malformed requests', () => {
  let w: ExchangeWorld;
  before(async () => {
    w = await startExchangeWorld();
  });
  after(async () => {
    await w.close();
  });

  test('GET is 405 with Allow: POST', async () => {
    const res = await fetch(`${w.gw.url}/.cortex/token`);
    assert.equal(res.status, 405);
    assert.match(res.headers.get('allow') ?? '', /POST/);
    await res.arrayBuffer();
  });

  test('a duplicate parameter is invalid_request', async () => {
    const body = `grant_type=${encodeURIComponent(EXCHANGE)}&subject_token=a.b.c&subject_token=d.e.f&subject_token_type=${encodeURIComponent(ACCESS)}`;
    const res = await rawRequest(w.gw.port, raw(w.gw.port, body));
    assert.equal(res.status, 400);
    assert.equal((JSON.parse(res.body) as { error: string }).error, 'invalid_request');
    assert.match(res.headers['cache-control'] ?? '', /no-store/);
  });

  test('a JSON body is invalid_request', async () => {
    const res = await rawRequest(w.gw.port, raw(w.gw.port, '{"grant_type":"x"}', { 'Content-Type': 'application/json' }));
    assert.equal(res.status, 400);
    assert.equal((JSON.parse(res.body) as { error: string }).error, 'invalid_request');
  });

  test('a body over the limit is refused before it is read (413), a chunked one over it is invalid_request', async () => {
    const big = `grant_type=${'x'.repeat(70_000)}`;
    const declared = await rawRequest(w.gw.port, raw(w.gw.port, big));
    assert.equal(declared.status, 413);
    const chunk = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
    const chunked = [
      'POST /.cortex/token HTTP/1.1',
      'Host: 127.0.0.1',
      'Connection: close',
      'Transfer-Encoding: chunked',
      'Content-Type: application/x-www-form-urlencoded',
      '',
      chunk(big.slice(0, 40_000)) + chunk(big.slice(40_000)) + '0\r\n\r\n',
    ].join('\r\n');
    const res = await rawRequest(w.gw.port, chunked);
    assert.ok(res.status === 400 || res.status === 413, `status ${res.status}`);
  });

  test('missing parameters, a wrong token type, garbage: 400 each, never 500', async () => {
    const bodies = [
      '',
      'grant_type=',
      `grant_type=${encodeURIComponent(EXCHANGE)}`,
      `grant_type=${encodeURIComponent(EXCHANGE)}&subject_token=x&subject_token_type=urn:ietf:params:oauth:token-type:id_token`,
      `grant_type=${encodeURIComponent(EXCHANGE)}&subject_token=%zz&subject_token_type=${encodeURIComponent(ACCESS)}`,
      `grant_type=${encodeURIComponent(EXCHANGE)}&subject_token=not-a-token&subject_token_type=${encodeURIComponent(ACCESS)}`,
      `grant_type=${encodeURIComponent(EXCHANGE)}&subject_token=a.b.c&subject_token_type=${encodeURIComponent(ACCESS)}&scope=%22bad%22`,
      '\u0000\u0001&&&==',
    ];
    for (const body of bodies) {
      const res = await rawRequest(w.gw.port, raw(w.gw.port, body));
      assert.equal(res.status, 400, `${JSON.stringify(body)} → ${res.status} ${res.body}`);
      const parsed = JSON.parse(res.body) as { error: string };
      assert.ok(['invalid_request', 'invalid_grant', 'unsupported_grant_type'].includes(parsed.error), parsed.error);
    }
  });

  test('failed client authentications are limited per client id', async () => {
    const form = { grant_type: EXCHANGE, subject_token: 'a.b.c', subject_token_type: ACCESS };
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await w.post(form, { client: 'reporting', secret: 'wrong-secret-000000000' })).status);
    assert.deepEqual(statuses.slice(0, 10), Array(10).fill(401));
    const limited = await w.post(form, { client: 'reporting', secret: 'wrong-secret-000000000' });
    assert.equal(limited.status, 401);
    assert.match(limited.body.error_description as string, /Too many failed/);
    const other = await w.post(form);
    assert.equal(other.body.error, 'invalid_grant', 'another client is not limited');
  });
});
