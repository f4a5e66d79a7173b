// Answers a real provider does not give on demand (another issuer, claims of the wrong type, 5xx,
// malformed JSON, a hang) from a stand-in RFC 7662 server; Google's token-info from a stand-in too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { createRfc7662Introspector } from '../../../src/identity/introspection/rfc7662.ts';
import { GOOGLE_ISSUER, createGoogleTokenInfoIntrospector } from '../../../src/identity/introspection/google-tokeninfo.ts';

const ISSUER = 'https://idp.example';
const log = pino({ level: 'silent' });
const digest = (token: string): string => createHash('sha256').update(token).digest('base64url');
const inAnHour = (): number => Math.floor(Date.now() / 1000) + 3600;

type Reply = (req: IncomingMessage, res: ServerResponse, body: string) => void;
let server: Server;
let base: string;
let reply: Reply = (_req, res) => res.end();
const seen: { method: string; url: string; authorization: string | undefined; body: string }[] = [];

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body });
      reply(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

function json(status: number, payload: unknown): Reply {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
  };
}

function rfc7662(timeoutMs = 2_000) {
  return createRfc7662Introspector({
    issuer: ISSUER,
    endpoint: `${base}/introspect`,
    clientId: 'gateway',
    clientSecret: 's3cret',
    maxCacheSeconds: 60,
    timeoutMs,
    log,
  });
}

async function answerTo(payload: Reply, token = `t-${Math.random()}`, introspector = rfc7662()) {
  reply = payload;
  const answer = await introspector.introspect(token, digest(token));
  introspector.close();
  return answer;
}

test('RFC 7662 stand-in server: client_secret_basic and the token in the form body', async () => {
  seen.length = 0;
  const answer = await answerTo(json(200, { active: true, iss: ISSUER, sub: 'alice', exp: inAnHour() }), 'the-token');
  assert.equal(answer.kind, 'active');
  assert.equal(seen[0]?.method, 'POST');
  assert.equal(seen[0]?.authorization, `Basic ${Buffer.from('gateway:s3cret').toString('base64')}`);
  assert.equal(new URLSearchParams(seen[0]?.body).get('token'), 'the-token');
});

test('RFC 7662 stand-in server: another issuer, wrong claim types or a past exp are inactive', async () => {
  assert.deepEqual(await answerTo(json(200, { active: true, iss: 'https://evil.example', sub: 'a' })), { kind: 'inactive' });
  assert.deepEqual(await answerTo(json(200, { active: true, sub: 7 })), { kind: 'inactive' });
  assert.deepEqual(await answerTo(json(200, { active: true, exp: String(inAnHour()) })), { kind: 'inactive' });
  assert.deepEqual(await answerTo(json(200, { active: true, exp: inAnHour() - 7200 })), { kind: 'inactive' });
  assert.deepEqual(await answerTo(json(200, { active: false })), { kind: 'inactive' });
  assert.equal((await answerTo(json(200, { active: true, sub: 'a' }))).kind, 'active');
});

test('RFC 7662 stand-in server: 5xx, malformed answers and a hang are unavailable', async () => {
  assert.deepEqual(await answerTo(json(503, { error: 'temporarily_unavailable' })), { kind: 'unavailable' });
  assert.deepEqual(await answerTo(json(200, '{not json')), { kind: 'unavailable' });
  assert.deepEqual(await answerTo(json(200, { active: 'yes' })), { kind: 'unavailable' });
  assert.deepEqual(await answerTo(json(200, [1, 2])), { kind: 'unavailable' });
  const started = Date.now();
  assert.deepEqual(await answerTo(() => undefined, 'hang', rfc7662(200)), { kind: 'unavailable' });
  assert.ok(Date.now() - started < 1_500, 'the timeout cut the request short');
});

function google(timeoutMs = 2_000) {
  return createGoogleTokenInfoIntrospector({ issuer: GOOGLE_ISSUER, endpoint: `${base}/tokeninfo`, maxCacheSeconds: 60, timeoutMs, log });
}

/** Google's documented answers: 200 with string-typed numbers for a valid token, 400 otherwise. */
const googleTokenInfo: Reply = (req, res) => {
  const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  if (token !== 'ya29.valid') return json(400, { error: 'invalid_token', error_description: 'Invalid Value' })(req, res, '');
  const exp = inAnHour();
  json(200, {
    azp: '1234.apps.googleusercontent.com',
    aud: '1234.apps.googleusercontent.com',
    sub: '110169484474386276334',
    scope: 'openid https://www.googleapis.com/auth/userinfo.email',
    exp: String(exp),
    expires_in: '3599',
    email: 'alice@example.com',
    email_verified: 'true',
    access_type: 'online',
  })(req, res, '');
};

test('google token-info stand-in server (Google is not reachable here): valid token active, invalid inactive', async () => {
  seen.length = 0;
  const answer = await answerTo(googleTokenInfo, 'ya29.valid', google());
  assert.equal(answer.kind, 'active');
  assert.ok(answer.kind === 'active');
  assert.equal(answer.claims.iss, GOOGLE_ISSUER);
  assert.equal(typeof answer.claims.exp, 'number');
  assert.equal(answer.claims.expires_in, 3599);
  assert.equal(answer.claims.email_verified, true);
  assert.equal(answer.claims.sub, '110169484474386276334');
  assert.equal(seen[0]?.method, 'POST');
  assert.equal(seen[0]?.url, '/tokeninfo', 'the token stays out of the URL');

  assert.deepEqual(await answerTo(googleTokenInfo, 'ya29.revoked', google()), { kind: 'inactive' });
});

test('google token-info stand-in server (Google is not reachable here): cached, single flight', async () => {
  reply = googleTokenInfo;
  seen.length = 0;
  const introspector = google();
  const answers = await Promise.all(Array.from({ length: 20 }, () => introspector.introspect('ya29.valid', digest('ya29.valid'))));
  assert.ok(answers.every((a) => a.kind === 'active'));
  await introspector.introspect('ya29.valid', digest('ya29.valid'));
  assert.equal(seen.length, 1);
  introspector.close();
});

test('google token-info stand-in server (Google is not reachable here): 5xx, malformed, bad exp, hang', async () => {
  assert.deepEqual(await answerTo(json(500, { error: 'internal' }), 't', google()), { kind: 'unavailable' });
  assert.deepEqual(await answerTo(json(200, 'oops'), 't', google()), { kind: 'unavailable' });
  assert.deepEqual(await answerTo(json(200, { sub: '1', exp: 'soon' }), 't', google()), { kind: 'inactive' });
  assert.deepEqual(await answerTo(json(200, { sub: '1', exp: String(inAnHour() - 7200) }), 't', google()), { kind: 'inactive' });
  assert.deepEqual(await answerTo(() => undefined, 't', google(200)), { kind: 'unavailable' });
});

test('google token-info refuses plain http to another host', () => {
  assert.throws(
    () => createGoogleTokenInfoIntrospector({ issuer: GOOGLE_ISSUER, endpoint: 'http://oauth2.googleapis.com/tokeninfo', maxCacheSeconds: 60, timeoutMs: 1_000, log }),
    /must use https/,
  );
});

test('the token never reaches the logs', async () => {
  const lines: string[] = [];
  const capture = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  const secretToken = 'ya29.must-not-be-logged';
  for (const introspector of [
    createGoogleTokenInfoIntrospector({ issuer: GOOGLE_ISSUER, endpoint: `${base}/tokeninfo`, maxCacheSeconds: 60, timeoutMs: 1_000, log: capture }),
    createRfc7662Introspector({ issuer: ISSUER, endpoint: `${base}/introspect`, clientId: 'gateway', clientSecret: 's3cret', maxCacheSeconds: 60, timeoutMs: 1_000, log: capture }),
  ]) {
    reply = json(503, { error: 'down' });
    await introspector.introspect(secretToken, digest(secretToken));
    reply = json(200, { active: true, iss: 'https://evil.example', sub: secretToken });
    await introspector.introspect(`${secretToken}2`, digest(`${secretToken}2`));
    introspector.close();
  }
  assert.ok(lines.length >= 3, 'the failures were logged');
  assert.ok(lines.every((l) => !l.includes('must-not-be-logged') && !l.includes('s3cret')));
});
