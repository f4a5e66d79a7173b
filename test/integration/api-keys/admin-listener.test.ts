// The API key endpoints on the gateway's real admin listener: behind the admin token, a key
// created with POST /api/api-keys works at once and DELETE /api/api-keys/<keyId> ends it at once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KEY_PATTERN } from '../../../src/identity/api-keys/keys.ts';
import { assertProblem, send } from '../../helpers/gateway-checks.ts';
import { ADMIN_TOKEN } from '../../helpers/gateway.ts';
import { startKeyGateway } from './kit.ts';
import type { KeyGateway } from './kit.ts';

describe('API keys on the admin listener', () => {
  let dir: string;
  let kg: KeyGateway;
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cortex-keys-listener-'));
    kg = await startKeyGateway({ type: 'sqlite', path: join(dir, 'keys.db') });
  });
  after(async () => {
    await kg.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('without the admin token every API key endpoint is 401', async () => {
    assertProblem(await send(`${kg.gw.adminUrl}/api/api-keys`), 401, 'admin.unauthorized');
    assertProblem(await send(`${kg.gw.adminUrl}/api/api-keys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"kind":"user","subject":"x","roles":["admin"]}' }), 401, 'admin.unauthorized');
    assertProblem(await send(`${kg.gw.adminUrl}/api/api-keys/aaaaaaaaaaaa`, { method: 'DELETE' }), 401, 'admin.unauthorized');
    assert.deepEqual(JSON.parse((await send(`${kg.gw.adminUrl}/api/api-keys`, { headers: admin })).body), { keys: [] }, 'nothing was created');
  });

  test('create, use, list, revoke, refused', async () => {
    const created = await send(`${kg.gw.adminUrl}/api/api-keys`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'user', subject: 'bob', roles: ['customer'] }),
    });
    assert.equal(created.status, 201, created.body);
    const { key, keyId } = JSON.parse(created.body) as { key: string; keyId: string };
    assert.match(key, KEY_PATTERN);
    assert.equal((await send(`${kg.gw.url}/svc/orders`, { headers: { authorization: `Bearer ${key}` } })).status, 200);
    const listed = await send(`${kg.gw.adminUrl}/api/api-keys`, { headers: admin });
    assert.match(listed.body, new RegExp(`"keyId":"${keyId}"`));
    assert.ok(!listed.body.includes(key.slice(-43)));
    assert.equal((await send(`${kg.gw.adminUrl}/api/api-keys/${keyId}`, { method: 'DELETE', headers: admin })).status, 200);
    assertProblem(await send(`${kg.gw.url}/svc/orders`, { headers: { authorization: `Bearer ${key}` } }), 401, 'authn.api_key_revoked');
    assertProblem(await send(`${kg.gw.adminUrl}/api/api-keys/${keyId}`, { headers: admin }), 405, 'admin.method_not_allowed');
  });
});
