import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { isSecretHeader, loggerOptions, scrubText } from '../../../src/telemetry/logger.ts';

function capture(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { log: pino(loggerOptions('debug'), stream), lines };
}

void test('URLs under their usual keys lose the values of credential parameters, and keep everything else', () => {
  const { log, lines } = capture();
  log.info({ url: '/.cortex/callback?code=C0DE-SECRET&state=ST4TE-SECRET&lang=en', tokenUrl: 'https://idp/token?client_secret=CS-SECRET' }, 'callback');
  const rec = JSON.parse(lines[0] ?? '{}') as Record<string, string>;
  assert.equal(rec.url, '/.cortex/callback?code=[redacted]&state=[redacted]&lang=en');
  assert.equal(rec.tokenUrl, 'https://idp/token?client_secret=[redacted]');
});

void test('headers maps: the fixed credential headers and any key-, token- or assertion-named header', () => {
  const { log, lines } = capture();
  log.info({ headers: { 'x-team-key': 'K-SECRET', 'cortex-assertion': 'A-SECRET', 'x-vendor-token': 'T-SECRET', accept: 'text/html' } }, 'h');
  log.info({ req: { url: '/x?api_key=Q-SECRET', headers: { authorization: 'Bearer B-SECRET', 'x-request-id': 'r1' } } }, 'r');
  const text = lines.join('');
  assert.ok(!text.includes('SECRET'), text);
  assert.ok(text.includes('"accept":"text/html"') && text.includes('"x-request-id":"r1"'), text);
  assert.equal(isSecretHeader('x-api-key'), true);
  assert.equal(isSecretHeader('x-request-id'), false);
  assert.equal(isSecretHeader('keep-alive'), false);
});

void test('errors and messages: URLs and bearer tokens quoted in them are scrubbed', () => {
  const { log, lines } = capture();
  log.error({ err: new Error('fetch http://up/cb?access_token=AT-SECRET failed') }, 'sent Authorization: Bearer BT-SECRET to http://x/?token=TK-SECRET');
  const text = lines.join('');
  assert.ok(!text.includes('SECRET'), text);
  assert.ok(text.includes('access_token=[redacted]') && text.includes('Bearer [redacted]'), text);
});

void test('form fields: client secrets, token-exchange tokens and authorization codes in a body', () => {
  const { log, lines } = capture();
  log.info({ body: { grant_type: 'authorization_code', code: 'AC-SECRET', client_secret: 'CS-SECRET', subject_token: 'ST-SECRET' }, code: 'authz.denied' }, 'form');
  const rec = JSON.parse(lines[0] ?? '{}') as { body: Record<string, string>; code: string };
  assert.deepEqual(rec.body, { grant_type: 'authorization_code', code: '[redacted]', client_secret: '[redacted]', subject_token: '[redacted]' });
  assert.equal(rec.code, 'authz.denied', 'a reason code stays readable');
});

void test('scrubText leaves text without credentials as it was', () => {
  const text = 'GET /orders?page=2&sort=asc returned 200';
  assert.equal(scrubText(text), text);
  assert.equal(scrubText('see https://a/b#id_token=X1&x=2'), 'see https://a/b#id_token=[redacted]&x=2');
});
