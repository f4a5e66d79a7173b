// API keys through a real gateway (SQLite store): a good key reaches the upstream with its identity
// audited; revoked, expired, forged and malformed keys are refused with 401 and never forwarded;
// the key itself never shows up in the audit trail, the problem bodies or the upstream request.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { issueApiKey, newKeyId } from '../../../src/identity/api-keys/keys.ts';
import { openSqliteApiKeyStore } from '../../../src/identity/api-keys/sqlite-store.ts';
import type { ApiKeyStore } from '../../../src/identity/api-keys/keys.ts';
import { assertProblem, auditFor, header, send } from '../../helpers/gateway-checks.ts';
import type { Reply } from '../../helpers/gateway-checks.ts';
import { HMAC_SECRET, startKeyGateway } from './kit.ts';
import type { KeyGateway } from './kit.ts';

describe('API keys through the gateway (SQLite)', () => {
  let dir: string;
  let kg: KeyGateway;
  let store: ApiKeyStore;
  const used: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cortex-keys-gw-'));
    const path = join(dir, 'keys.db');
    kg = await startKeyGateway({ type: 'sqlite', path });
    // What `cortex api-keys` does: its own connection to the gateway's file.
    store = openSqliteApiKeyStore(path);
  });
  after(async () => {
    await store.close();
    await kg.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function issue(opts: { roles?: string[]; kind?: 'service' | 'user'; subject?: string; expiresInSeconds?: number; now?: number } = {}): Promise<string> {
    const { key } = await issueApiKey(store, HMAC_SECRET, { kind: opts.kind ?? 'service', subject: opts.subject ?? 'billing', roles: opts.roles ?? ['reader'], ...(opts.expiresInSeconds ? { expiresInSeconds: opts.expiresInSeconds } : {}) }, opts.now);
    used.push(key);
    return key;
  }

  async function refused(headers: Record<string, string>, code: string, label: string): Promise<Reply> {
    const before = kg.upstream.requests.length;
    const r = await send(`${kg.gw.url}/svc/data`, { headers });
    assertProblem(r, 401, code, label);
    assert.equal(kg.upstream.requests.length, before, `${label}: nothing reached the upstream`);
    return r;
  }

  test('a key in x-api-key or Authorization: Bearer reaches the upstream as its service, audited as api_key', async () => {
    const key = await issue({ roles: ['reader', 'billing-admin'] });
    const ways: Record<string, string>[] = [{ 'x-api-key': key }, { authorization: `Bearer ${key}` }];
    for (const headers of ways) {
      const r = await send(`${kg.gw.url}/svc/data`, { headers });
      assert.equal(r.status, 200, r.body);
      const event = await auditFor(kg.gw, String(header(r, 'x-request-id')), 'ok');
      assert.equal(event.who?.method, 'api_key');
      assert.equal(event.who?.kind, 'service');
      assert.equal(event.who?.subject, 'billing');
      assert.equal(event.who?.provider, 'api-keys');
      assert.deepEqual(event.who?.roles, ['billing-admin', 'reader']);
      assert.equal(event.who?.keyId, key.slice(4, 16));
      const forwarded = kg.upstream.requests.at(-1);
      assert.equal(forwarded?.headers['x-api-key'], undefined, 'the key is not forwarded');
      assert.equal(forwarded?.headers.authorization, undefined, 'the key is not forwarded');
    }
  });

  test('a user key authenticates as that user', async () => {
    const key = await issue({ kind: 'user', subject: 'alice', roles: ['support'] });
    const r = await send(`${kg.gw.url}/svc/me`, { headers: { 'x-api-key': key } });
    assert.equal(r.status, 200);
    const event = await auditFor(kg.gw, String(header(r, 'x-request-id')), 'ok');
    assert.equal(event.who?.kind, 'user');
    assert.equal(event.who?.subject, 'alice');
  });

  test('a revoked key is refused on the very next request', async () => {
    const key = await issue();
    assert.equal((await send(`${kg.gw.url}/svc/data`, { headers: { 'x-api-key': key } })).status, 200);
    assert.equal(await store.revoke(key.slice(4, 16), Date.now()), 'revoked');
    await refused({ 'x-api-key': key }, 'authn.api_key_revoked', 'revoked');
  });

  test('an expired key is refused as expired', async () => {
    const key = await issue({ expiresInSeconds: 60, now: Date.now() - 3_600_000 });
    await refused({ 'x-api-key': key }, 'authn.api_key_expired', 'expired');
  });

  test('forged keys of the right shape are invalid: a real id with a random secret, and a random id', async () => {
    const real = await issue();
    const keyId = real.slice(4, 16);
    await refused({ 'x-api-key': `ctx_${keyId}_${randomBytes(32).toString('base64url')}` }, 'authn.api_key_invalid', 'random secret');
    await refused({ 'x-api-key': `ctx_${newKeyId()}_${randomBytes(32).toString('base64url')}` }, 'authn.api_key_invalid', 'random id');
    await refused({ authorization: `Bearer ctx_${keyId}_${randomBytes(32).toString('base64url')}` }, 'authn.api_key_invalid', 'bearer, random secret');
    const revokedForgery = await issue();
    await store.revoke(revokedForgery.slice(4, 16), Date.now());
    await refused({ 'x-api-key': `ctx_${revokedForgery.slice(4, 16)}_${randomBytes(32).toString('base64url')}` }, 'authn.api_key_invalid', 'a forgery never learns that a key was revoked');
  });

  test('malformed values are 401, never 500', async () => {
    const real = await issue();
    const cases: [string, string][] = [
      ['too short', real.slice(0, -1)],
      ['too long', `${real}A`],
      ['wrong prefix', `ctk_${real.slice(4)}`],
      ['upper-case id', `ctx_${real.slice(4, 16).toUpperCase()}${real.slice(16)}`],
      ['extra characters', `${real} trailing`],
      ['empty', ''],
      ['10 KB', `ctx_${'a'.repeat(10_240)}`],
      ['non-ASCII', `ctx_${'é'.repeat(12)}_${real.slice(-43)}`],
    ];
    for (const [label, value] of cases) await refused({ 'x-api-key': value }, 'authn.api_key_invalid', label);
    await refused({ authorization: `Bearer ctx_${'b'.repeat(10_240)}` }, 'authn.api_key_invalid', 'bearer 10 KB');
  });

  test('no key (nor its secret) ever appears in the audit trail or a problem body', async () => {
    const key = await issue();
    const r = await refused({ 'x-api-key': `${key}x` }, 'authn.api_key_invalid', 'leak check');
    const events = JSON.stringify(await kg.gw.audit());
    for (const k of used) {
      assert.ok(!events.includes(k.slice(-43)), 'no secret in audit events');
      assert.ok(!r.body.includes(k.slice(-43)), 'no secret in the problem body');
    }
    const missing = await send(`${kg.gw.url}/svc/data`);
    assertProblem(missing, 401, 'authn.missing');
  });
});
