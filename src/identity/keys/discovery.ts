// What a provider serves: its discovery document and key set, fetched bounded in size and time
// without following redirects, and the JWKs of that set Cortex may verify signatures with.
import { createPublicKey } from 'node:crypto';
import type { JWK } from 'jose';
import { request } from 'undici';
import type { Dispatcher } from 'undici';
import type { DiscoveryMetadata } from '../types.ts';

export const MAX_RESPONSE_BYTES = 1024 * 1024;

/** A failed fetch; `reason` is a fixed sentence safe to show in status and logs. */
export class FetchFailure extends Error {
  readonly reason: string;
  readonly detail: Record<string, unknown>;

  constructor(reason: string, detail: Record<string, unknown> = {}) {
    super(reason);
    this.reason = reason;
    this.detail = detail;
  }
}

/** <issuer>/.well-known/openid-configuration, with Entra's {tenantid} placeholder as 'common'. */
export function defaultDiscoveryUrl(issuer: string): string {
  return `${issuer.replaceAll('{tenantid}', 'common').replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/** Leaving the loop early (the throw) makes the iterator destroy the body. */
async function readCapped(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_RESPONSE_BYTES) throw new FetchFailure('The response was larger than 1 MiB.');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Drop an unread body; undici reports the drop as an 'error' event, which nobody needs. */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}

/** GET a JSON document. Any failure becomes a FetchFailure. */
export async function fetchJson(url: string, timeoutMs: number, closing: AbortSignal): Promise<unknown> {
  const signal = AbortSignal.any([closing, AbortSignal.timeout(timeoutMs)]);
  let text: string;
  try {
    const res = await request(url, { method: 'GET', headers: { accept: 'application/json' }, signal });
    if (res.statusCode !== 200) {
      discard(res.body);
      const reason = res.statusCode >= 300 && res.statusCode < 400 ? 'The provider answered with a redirect, which is not followed.' : 'The provider answered with an error status.';
      throw new FetchFailure(reason, { status: res.statusCode });
    }
    const length = Number(res.headers['content-length']);
    if (length > MAX_RESPONSE_BYTES) {
      discard(res.body);
      throw new FetchFailure('The response was larger than 1 MiB.');
    }
    text = (await readCapped(res.body)).toString('utf8');
  } catch (err) {
    if (err instanceof FetchFailure) throw err;
    if (closing.aborted) throw new FetchFailure('The request was cancelled because the key source closed.');
    if (signal.aborted) throw new FetchFailure('The request timed out.');
    throw new FetchFailure('The provider could not be reached.', { code: (err as { code?: unknown }).code });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new FetchFailure('The response was not JSON.');
  }
}

/** A discovery document, refused unless it names exactly the configured issuer (RFC 8414 §3.3). */
export function checkDiscovery(body: unknown, issuer: string): DiscoveryMetadata {
  if (!isRecord(body)) throw new FetchFailure('The discovery document is not a JSON object.');
  const doc = body;
  if (doc.issuer !== issuer) throw new FetchFailure('The discovery document names a different issuer.');
  for (const field of ['jwks_uri', 'introspection_endpoint', 'token_endpoint']) {
    if (doc[field] !== undefined && !isHttpUrl(doc[field])) throw new FetchFailure(`The discovery document's ${field} is not an http(s) URL.`);
  }
  return doc as DiscoveryMetadata;
}

const ASYMMETRIC = new Set(['RSA', 'EC', 'OKP']);
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

export type DroppedReason = 'not_an_object' | 'private_key' | 'not_asymmetric' | 'not_for_signing' | 'bad_kid' | 'malformed';

export interface DroppedKey {
  index: number;
  kid: string | undefined;
  reason: DroppedReason;
}

export type JwksParse =
  | { ok: true; keys: JWK[]; dropped: DroppedKey[] }
  | { ok: false; error: string; dropped: DroppedKey[] };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function dropReason(jwk: Record<string, unknown>): DroppedReason | undefined {
  // A key set is public by definition: one carrying private parts is a leak or a mix-up, never used.
  if (PRIVATE_MEMBERS.some((member) => member in jwk)) return 'private_key';
  if (typeof jwk.kty !== 'string' || !ASYMMETRIC.has(jwk.kty)) return 'not_asymmetric';
  if (jwk.use !== undefined && jwk.use !== 'sig') return 'not_for_signing';
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) return 'not_for_signing';
  if (jwk.kty === 'OKP' && jwk.crv !== 'Ed25519' && jwk.crv !== 'Ed448') return 'not_for_signing';
  if (jwk.kid !== undefined && typeof jwk.kid !== 'string') return 'bad_kid';
  try {
    createPublicKey({ key: jwk, format: 'jwk' });
  } catch {
    return 'malformed';
  }
  return undefined;
}

/** The usable signing keys of a parsed JWKS body; a body with none of them is an error. */
export function parseJwks(body: unknown): JwksParse {
  if (!isRecord(body) || !Array.isArray(body.keys)) {
    return { ok: false, error: 'The key set has no keys array.', dropped: [] };
  }
  const keys: JWK[] = [];
  const dropped: DroppedKey[] = [];
  body.keys.forEach((entry: unknown, index) => {
    if (!isRecord(entry)) {
      dropped.push({ index, kid: undefined, reason: 'not_an_object' });
      return;
    }
    const reason = dropReason(entry);
    if (reason === undefined) keys.push({ ...entry });
    else dropped.push({ index, kid: typeof entry.kid === 'string' ? entry.kid : undefined, reason });
  });
  if (keys.length === 0) return { ok: false, error: 'The key set holds no usable signing keys.', dropped };
  return { ok: true, keys, dropped };
}

/** The distinct kids of a key set, in order. */
export function kidsOf(keys: readonly JWK[]): string[] {
  const kids = new Set<string>();
  for (const key of keys) if (typeof key.kid === 'string') kids.add(key.kid);
  return [...kids];
}
