import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, isSecretParam, redactUrl } from '../../../src/telemetry/logger.ts';

function tempFile(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'cortex-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'logs', 'cortex.log');
}

function records(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

void test('credentials are redacted at the top level, one level down and in headers maps', (t) => {
  const path = tempFile(t);
  const log = createLogger({ level: 'info', name: 'cortex', destination: path });
  log.info(
    {
      authorization: 'Bearer TOP-SECRET-1',
      cookie: 'sid=TOP-SECRET-2',
      token: 'TOP-SECRET-3',
      req: {
        method: 'GET',
        headers: {
          authorization: 'Bearer TOP-SECRET-4',
          cookie: 'sid=TOP-SECRET-5',
          'proxy-authorization': 'Basic TOP-SECRET-6',
          'x-api-key': 'TOP-SECRET-7',
          'user-agent': 'curl/8',
        },
      },
      res: { headers: { 'set-cookie': ['sid=TOP-SECRET-8'] } },
      session: { accessToken: 'TOP-SECRET-9', refreshToken: 'TOP-SECRET-10', password: 'TOP-SECRET-11', secret: 'TOP-SECRET-12' },
      user: { token: 'TOP-SECRET-13', name: 'alice' },
    },
    'request',
  );
  const text = readFileSync(path, 'utf8');
  assert.ok(!text.includes('TOP-SECRET'), text);

  const [rec] = records(path);
  assert.ok(rec);
  assert.equal(rec.msg, 'request');
  assert.equal(rec.name, 'cortex');
  assert.equal(rec.authorization, '[redacted]');
  assert.equal(rec.cookie, '[redacted]');
  assert.equal(rec.token, '[redacted]');
  const req = rec.req as { method: string; headers: Record<string, unknown> };
  assert.equal(req.method, 'GET');
  assert.deepEqual(req.headers, {
    authorization: '[redacted]',
    cookie: '[redacted]',
    'proxy-authorization': '[redacted]',
    'x-api-key': '[redacted]',
    'user-agent': 'curl/8',
  });
  assert.deepEqual((rec.res as { headers: unknown }).headers, { 'set-cookie': '[redacted]' });
  assert.deepEqual(rec.user, { token: '[redacted]', name: 'alice' });
});

void test('the level filters records', (t) => {
  const path = tempFile(t);
  const log = createLogger({ level: 'warn', destination: path });
  log.info('not written');
  log.warn('written');
  assert.deepEqual(
    records(path).map((r) => r.msg),
    ['written'],
  );
});

void test('an unknown level is refused at construction', () => {
  assert.throws(() => createLogger({ level: 'loud', destination: 2 }));
});

void test('redactUrl hides credential-like query values and keeps the rest byte for byte', () => {
  const cases: [string, string][] = [
    ['/orders?page=2&sort=asc', '/orders?page=2&sort=asc'],
    ['/orders', '/orders'],
    ['/cb?code=abc&state=xyz', '/cb?code=[redacted]&state=[redacted]'],
    ['/x?token=t&access_token=a&id_token=i', '/x?token=[redacted]&access_token=[redacted]&id_token=[redacted]'],
    ['/x?api_key=k&key=k2&password=p&secret=s&session=z', '/x?api_key=[redacted]&key=[redacted]&password=[redacted]&secret=[redacted]&session=[redacted]'],
    ['/x?ACCESS_TOKEN=a&Code=c', '/x?ACCESS_TOKEN=[redacted]&Code=[redacted]'],
    ['/x?refresh_token=r&client_secret=s&x-api-key=k', '/x?refresh_token=[redacted]&client_secret=[redacted]&x-api-key=[redacted]'],
    ['/x?acc%65ss_token=a', '/x?acc%65ss_token=[redacted]'], // the name is compared decoded
    ['/x?token=a&token=b', '/x?token=[redacted]&token=[redacted]'],
    ['/x?token=&q=1', '/x?token=&q=1'],
    ['/x?token', '/x?token'],
    ['/x?tokens=1&keyboard=2&codec=3', '/x?tokens=1&keyboard=2&codec=3'],
    ['/x?a=1&&b=2&', '/x?a=1&&b=2&'],
    ['https://idp.example.com/authorize?client_id=c&state=s#frag', 'https://idp.example.com/authorize?client_id=c&state=[redacted]#frag'],
    ['https://app.example.com/cb#access_token=a&token_type=bearer', 'https://app.example.com/cb#access_token=[redacted]&token_type=bearer'],
    ['/x?%zz=1&code=%zz', '/x?%zz=1&code=[redacted]'], // malformed escapes do not throw
    ['/x?password=a=b', '/x?password=[redacted]'],
  ];
  for (const [input, expected] of cases) assert.equal(redactUrl(input), expected, input);
});

void test('isSecretParam matches names case-insensitively and by suffix', () => {
  for (const name of ['token', 'Access_Token', 'STATE', 'code', 'session', 'upload_token', 'db-password', 'aws_secret', 'x_key']) {
    assert.equal(isSecretParam(name), true, name);
  }
  for (const name of ['q', 'page', 'client_id', 'redirect_uri', 'token_type', 'keys', 'passwords_page']) {
    assert.equal(isSecretParam(name), false, name);
  }
});
