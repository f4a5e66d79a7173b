// Shared by the token-attacks-*.test.ts files: a real IdP and a gateway in front of a recording
// upstream, tokens crafted byte by byte, and the checks every refused token must pass.
import assert from 'node:assert/strict';
import { createHmac, createPrivateKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { assertProblem, auditFor, header, send } from '../../helpers/gateway-checks.ts';
import type { Reply } from '../../helpers/gateway-checks.ts';
import { AUDIENCE, bearer, providerYaml, startIdentityGateway } from '../../helpers/identity.ts';
import type { IdentityGateway } from '../../helpers/identity.ts';
import { startTestIdp } from '../../helpers/idp.ts';
import type { TestIdp } from '../../helpers/idp.ts';

export type Json = Record<string, unknown>;

export interface Harness {
  idp: TestIdp;
  gateway: IdentityGateway;
  /** A URL under the bearer route. */
  url: string;
  close(): Promise<void>;
}

/** One IdP, and a gateway requiring at+jwt tokens from it on /api/. `edit` rewrites the provider YAML. */
export async function startHarness(edit: (yaml: string) => string = (y) => y): Promise<Harness> {
  const idp = await startTestIdp();
  const gateway = await startIdentityGateway(edit(providerYaml('dev', idp, ['tokenType: at+jwt'])));
  return {
    idp,
    gateway,
    url: `${gateway.gw.url}/api/orders`,
    async close() {
      await gateway.close();
      await idp.close();
    },
  };
}

export const b64u = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** A JWS over exactly these header and payload bytes: RS256 for RSA keys, ES256 for EC keys. */
export function signJwt(key: KeyObject, head: Json, payload: Json | string): string {
  const input = Buffer.from(`${b64u(head)}.${b64u(payload)}`);
  const sig = key.asymmetricKeyType === 'ec' ? sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' }) : sign('sha256', input, key);
  return `${input.toString()}.${sig.toString('base64url')}`;
}

export function hmacJwt(secret: string | Buffer, head: Json, payload: Json): string {
  const input = `${b64u(head)}.${b64u(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** A key no IdP knows, for forgeries. */
export const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });

export function idpKey(h: Harness): KeyObject {
  return createPrivateKey({ key: h.idp.privateJwk(), format: 'jwk' });
}

/** The header of the IdP's access tokens, with changes (an undefined value drops the parameter). */
export function atHeader(h: Harness, changes: Json = {}): Json {
  return { alg: 'RS256', typ: 'at+jwt', kid: h.idp.privateJwk().kid, ...changes };
}

/** The claims of the IdP's access token for alice, issued now, with changes (undefined drops a claim). */
export function aliceClaims(h: Harness, changes: Json = {}): Json {
  const now = Math.floor(Date.now() / 1000);
  return { groups: ['admins'], jti: randomUUID(), sub: 'alice', iat: now, exp: now + 600, client_id: 'cortex-cli', iss: h.idp.issuer, aud: AUDIENCE, ...changes };
}

/** Signed with the IdP's own private key, so that only what `claims`/`head` change is wrong. */
export function idpSigned(h: Harness, claims: Json = {}, head: Json = {}): string {
  return signJwt(idpKey(h), atHeader(h, head), aliceClaims(h, claims));
}

// jose's error class names and codes, Node's error codes, stack frames.
const LIBRARY_TEXT = /JWS|JOSE|jose|JWT[A-Z]|JWK[A-Z]|JWE[A-Z]|ERR_[A-Z]|claim timestamp|Error:|node_modules|\.ts:\d/;
const WINDOW = 12;

export interface Refusal {
  code: string;
  /** 401 unless said. */
  status?: number;
  /** RFC 6750 §3 error in WWW-Authenticate; null: the bare challenge. invalid_token unless said. */
  error?: 'invalid_token' | 'invalid_request' | null;
  /** Strings (the token, its kid, ...) no part of which may be echoed back. */
  secrets?: readonly string[];
}

/** The reply refuses with `r`, leaks nothing, nothing reached the upstream since `before`, and the audit event agrees. */
export async function assertRefused(h: Harness, reply: Reply, r: Refusal, before: number): Promise<void> {
  const status = r.status ?? 401;
  const id = assertProblem(reply, status, r.code, r.code);
  if (status === 401) {
    const challenge = header(reply, 'www-authenticate') ?? '';
    assert.ok(challenge.startsWith('Bearer realm="cortex"'), `challenge: ${challenge}`);
    if (r.error === null) assert.equal(challenge, 'Bearer realm="cortex"');
    else assert.match(challenge, new RegExp(`^Bearer realm="cortex", error="${r.error ?? 'invalid_token'}", error_description="[^"\\\\]+"$`));
  }
  const visible = `${reply.body}\n${JSON.stringify(reply.headers)}`;
  for (const secret of r.secrets ?? []) {
    for (const part of secret.split('.')) {
      for (let i = 0; i + WINDOW <= part.length; i++) {
        const piece = part.slice(i, i + WINDOW);
        assert.ok(!visible.includes(piece), `the reply echoes part of the token (${piece}): ${visible}`);
      }
    }
  }
  assert.doesNotMatch(visible, LIBRARY_TEXT);
  assert.equal(h.gateway.upstream.requests.length, before, 'nothing may reach the upstream');
  await auditFor(h.gateway.gw, id, r.code);
}

/** Sends the Authorization header value (none when undefined) and checks the refusal. */
export async function expectRefusedHeader(h: Harness, authorization: string | undefined, r: Refusal): Promise<void> {
  const before = h.gateway.upstream.requests.length;
  const reply = await send(h.url, { headers: authorization === undefined ? {} : { authorization } });
  await assertRefused(h, reply, { ...r, secrets: [...(r.secrets ?? []), ...(authorization === undefined ? [] : [authorization])] }, before);
}

/** Sends `Authorization: Bearer <token>` and checks the refusal. */
export function expectRefused(h: Harness, token: string, code: string, r: Omit<Refusal, 'code'> = {}): Promise<void> {
  return expectRefusedHeader(h, `Bearer ${token}`, { code, ...r, secrets: [token, ...(r.secrets ?? [])] });
}

/** The positive control: `token` (else a real token for alice) is forwarded, once. */
export async function expectAccepted(h: Harness, token?: string): Promise<void> {
  const before = h.gateway.upstream.requests.length;
  const reply = await send(h.url, { headers: bearer(token ?? (await h.idp.tokenFor({ sub: 'alice' }))) });
  assert.equal(reply.status, 200, reply.body);
  assert.equal(h.gateway.upstream.requests.length, before + 1, 'exactly one upstream request');
  await auditFor(h.gateway.gw, header(reply, 'x-request-id') ?? '', 'ok');
}
