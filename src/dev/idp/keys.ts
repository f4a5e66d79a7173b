// Signing keys and client secrets of the dev IdP: in memory, or kept under a state directory
// (mode 0600) so that tokens and the CLI's secret survive a restart of `cortex dev`.
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';

export type SigningAlgorithm = 'RS256' | 'ES256';

export async function newSigningKey(alg: SigningAlgorithm): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), alg, use: 'sig' };
}

export function publicJwk(key: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = key;
  return pub;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function writePrivate(file: string, value: unknown): void {
  writeFileSync(file, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
}

/** The signing keys (first signs), created once per state directory and algorithm. */
export async function loadSigningKeys(alg: SigningAlgorithm, stateDir?: string): Promise<JWK[]> {
  if (stateDir === undefined) return [await newSigningKey(alg)];
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = join(stateDir, 'signing-keys.json');
  const stored = readJson(file) as { keys?: JWK[] } | undefined;
  const keys = stored?.keys?.filter((k) => k.alg === alg) ?? [];
  if (keys.length > 0) return keys;
  const fresh = [await newSigningKey(alg)];
  writePrivate(file, { keys: fresh });
  return fresh;
}

export function clientSecretsFile(stateDir: string): string {
  return join(stateDir, 'client-secrets.json');
}

/** Secrets: random per state directory (persisted), or the fixed `dev-secret-<client>` without one. */
export function secretSource(stateDir?: string): (clientId: string) => string {
  if (stateDir === undefined) return (clientId) => `dev-secret-${clientId}`;
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = clientSecretsFile(stateDir);
  const secrets = (readJson(file) ?? {}) as Record<string, string>;
  return (clientId) => {
    let secret = secrets[clientId];
    if (secret === undefined) {
      secret = randomBytes(24).toString('base64url');
      secrets[clientId] = secret;
      writePrivate(file, secrets);
    }
    return secret;
  };
}

export function readClientSecrets(stateDir: string): Record<string, string> | undefined {
  return readJson(clientSecretsFile(stateDir)) as Record<string, string> | undefined;
}

/** Where a running dev IdP says it is, for `cortex dev token`. */
export interface DevIdpState {
  issuer: string;
  url: string;
  tokenEndpoint: string;
  pid: number;
}

export function writeIdpState(stateDir: string, state: DevIdpState): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writePrivate(join(stateDir, 'idp.json'), state);
}

export function readIdpState(stateDir: string): DevIdpState | undefined {
  const file = join(stateDir, 'idp.json');
  return existsSync(file) ? (readJson(file) as DevIdpState | undefined) : undefined;
}
