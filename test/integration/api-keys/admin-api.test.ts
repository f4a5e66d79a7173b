// The admin API handlers for API keys (src/admin/api-keys.ts) over real HTTP, on the store of a
// running gateway: a key created through POST works on the data plane, is listed without its
// secret, and stops working the moment DELETE revokes it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { API_KEYS_PATH, apiKeyItem, apiKeysCollection } from '../../../src/admin/api-keys.ts';
import type { ApiKeyAdmin } from '../../../src/admin/api-keys.ts';
import type { AdminContext, AdminDeps } from '../../../src/admin/endpoints.ts';
import { writeReply } from '../../../src/admin/replies.ts';
import { KEY_PATTERN } from '../../../src/identity/api-keys/keys.ts';
import { assertProblem, send } from '../../helpers/gateway-checks.ts';
import { startKeyGateway } from './kit.ts';
import type { KeyGateway } from './kit.ts';

/** Serves the handlers the way ADMIN_ENDPOINTS does: the collection path and one key below it. */
function serve(admin: ApiKeyAdmin | undefined, deps: AdminDeps): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const ctx: AdminContext = { req, res, deps, requestId: randomUUID(), query: new URLSearchParams() };
    res.setHeader('x-request-id', ctx.requestId);
    const handler = path === API_KEYS_PATH ? apiKeysCollection : apiKeyItem;
    void handler(ctx, admin).then((reply) => writeReply(res, reply));
  });
}

describe('admin API for API keys', () => {
  let dir: string;
  let kg: KeyGateway;
  let server: http.Server;
  let base: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cortex-keys-admin-'));
    kg = await startKeyGateway({ type: 'sqlite', path: join(dir, 'keys.db') });
    const gateway = kg.gw.runtime.gateway;
    const access = gateway['access'];
    assert.ok(access.apiKeys);
    server = serve({ store: access.apiKeys.store, hmacSecret: access.apiKeys.hmacSecret }, gateway.adminView());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}${API_KEYS_PATH}`;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await kg.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('create → use → list (no secret) → revoke → refused', async () => {
    const body = JSON.stringify({ kind: 'service', subject: 'payments', roles: ['payer'], expiresInSeconds: 3600, description: 'CI' });
    const created = await send(base, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(created.status, 201, created.body);
    const record = JSON.parse(created.body) as { key: string; keyId: string; subject: string; roles: string[]; expiresAt: number };
    assert.match(record.key, KEY_PATTERN);
    assert.equal(record.key.slice(4, 16), record.keyId);
    assert.deepEqual(record.roles, ['payer']);
    assert.ok(record.expiresAt > Date.now());

    assert.equal((await send(`${kg.gw.url}/svc/pay`, { headers: { 'x-api-key': record.key } })).status, 200);

    const listed = await send(base);
    assert.equal(listed.status, 200);
    assert.ok(!listed.body.includes(record.key.slice(-43)), 'the list never shows a secret');
    const keys = (JSON.parse(listed.body) as { keys: { keyId: string; subject: string }[] }).keys;
    assert.equal(keys.find((k) => k.keyId === record.keyId)?.subject, 'payments');

    const revoked = await send(`${base}/${record.keyId}`, { method: 'DELETE' });
    assert.equal(revoked.status, 200, revoked.body);
    assert.deepEqual(JSON.parse(revoked.body), { keyId: record.keyId, revoked: true, alreadyRevoked: false });
    assertProblem(await send(`${kg.gw.url}/svc/pay`, { headers: { 'x-api-key': record.key } }), 401, 'authn.api_key_revoked');
    assert.equal((JSON.parse((await send(`${base}/${record.keyId}`, { method: 'DELETE' })).body) as { alreadyRevoked: boolean }).alreadyRevoked, true);
  });

  test('bad create requests are 400 problems; unknown ids 404', async () => {
    const bad: [string, string, string][] = [
      ['not JSON', 'application/json', '{'],
      ['wrong content type', 'text/plain', '{}'],
      ['bad kind', 'application/json', JSON.stringify({ kind: 'robot', subject: 'x', roles: [] })],
      ['no subject', 'application/json', JSON.stringify({ kind: 'user', roles: [] })],
      ['roles not a list', 'application/json', JSON.stringify({ kind: 'user', subject: 'x', roles: 'admin' })],
      ['negative expiry', 'application/json', JSON.stringify({ kind: 'user', subject: 'x', roles: [], expiresInSeconds: -5 })],
      ['unknown field', 'application/json', JSON.stringify({ kind: 'user', subject: 'x', roles: [], secret: 'mine' })],
      ['too large', 'application/json', JSON.stringify({ kind: 'user', subject: 'x', roles: [], description: 'd'.repeat(20_000) })],
    ];
    for (const [label, type, body] of bad) assertProblem(await send(base, { method: 'POST', headers: { 'content-type': type }, body }), 400, 'request.malformed', label);
    assertProblem(await send(`${base}/aaaaaaaaaaaa`, { method: 'DELETE' }), 404, 'admin.not_found', 'unknown id');
    assertProblem(await send(`${base}/not-an-id`, { method: 'DELETE' }), 404, 'admin.not_found', 'malformed id');
  });

  test('without identity.apiKeys the endpoints say so (404)', async () => {
    const bare = serve(undefined, kg.gw.runtime.gateway.adminView());
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
    try {
      const r = await send(`http://127.0.0.1:${(bare.address() as AddressInfo).port}${API_KEYS_PATH}`);
      assertProblem(r, 404, 'admin.not_found');
    } finally {
      await new Promise((resolve) => bare.close(resolve));
    }
  });
});
