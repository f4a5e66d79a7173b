// Private keys at rest: each PKCS#8 key is sealed with AES-256-GCM under the key-encryption key
// (KEK), with the kid as additional authenticated data, so a sealed key copied into another record
// fails to open. Sealed form (StoredKey.sealedPrivateKey): base64url of iv (12) | tag (16) | ciphertext.
import { createCipheriv, createDecipheriv, createPrivateKey, createSecretKey, randomBytes, scrypt } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const AAD_PREFIX = 'cortex-signing-key:v1:';
/**
 * Fixed salt for stretching a passphrase KEK. It is public by design: the passphrase is the
 * secret, and every instance of a fleet must derive the same key from it.
 */
export const PASSPHRASE_SALT = 'cortex/signing-keys/kek/v1';
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const MIN_PASSPHRASE = 32;

/** A KEK that cannot be used (missing, too short, unreadable file). */
export class KekError extends Error {}

/** A sealed key that does not open: wrong KEK, altered record, or a sealed key moved to another kid. */
export class UnsealError extends Error {
  readonly kid: string;
  constructor(kid: string, message: string) {
    super(message);
    this.kid = kid;
  }
}

export interface KekSource {
  readonly encryptionKey?: string | undefined;
  readonly encryptionKeyFile?: string | undefined;
}

/**
 * The KEK from config: `encryptionKey` (usually `${ENV_VAR}`) or the content of `encryptionKeyFile`
 * (trailing newline trimmed). 64 hex characters, or 43/44 characters of base64/base64url that
 * decode to 32 bytes, are the key itself; anything else is a passphrase of 32+ characters,
 * stretched with scrypt (N=2^15, r=8, p=1) and PASSPHRASE_SALT.
 */
export async function loadKek(source: KekSource): Promise<KeyObject> {
  let text = source.encryptionKey;
  if (text === undefined && source.encryptionKeyFile !== undefined) {
    try {
      text = (await readFile(source.encryptionKeyFile, 'utf8')).replace(/\r?\n$/, '');
    } catch (error) {
      throw new KekError(`cannot read the key-encryption key file ${source.encryptionKeyFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  if (text === undefined) throw new KekError('credentials.signingKeys needs encryptionKey or encryptionKeyFile (the key-encryption key for private keys at rest)');
  return kekFromText(text);
}

export async function kekFromText(text: string): Promise<KeyObject> {
  const raw = rawKey(text);
  if (raw !== undefined) return createSecretKey(raw);
  if (text.length < MIN_PASSPHRASE) throw new KekError(`the key-encryption key must be 32 bytes (hex or base64) or a passphrase of at least ${MIN_PASSPHRASE} characters`);
  const derived = await new Promise<Buffer>((resolve, reject) => {
    scrypt(text.normalize('NFC'), PASSPHRASE_SALT, KEY_BYTES, SCRYPT, (err, key) => (err === null ? resolve(key) : reject(err)));
  });
  return createSecretKey(derived);
}

function rawKey(text: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(text) || /^[A-Za-z0-9_-]{43}$/.test(text)) {
    const bytes = Buffer.from(text.replace(/=$/, ''), text.includes('+') || text.includes('/') ? 'base64' : 'base64url');
    if (bytes.length === KEY_BYTES) return bytes;
  }
  return undefined;
}

function aad(kid: string): Buffer {
  return Buffer.from(AAD_PREFIX + kid, 'utf8');
}

/** Seals a private key for the record `kid`. */
export function sealPrivateKey(privateKey: KeyObject, kid: string, kek: KeyObject): string {
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek, iv);
  cipher.setAAD(aad(kid));
  const ciphertext = Buffer.concat([cipher.update(pkcs8), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64url');
}

/** Opens the sealed private key of record `kid`; a wrong KEK or altered record throws UnsealError. */
export function unsealPrivateKey(sealed: string, kid: string, kek: KeyObject): KeyObject {
  const bytes = Buffer.from(sealed, 'base64url');
  if (bytes.length <= IV_BYTES + TAG_BYTES) throw new UnsealError(kid, `signing key ${kid}: the sealed private key is truncated`);
  const decipher = createDecipheriv('aes-256-gcm', kek, bytes.subarray(0, IV_BYTES));
  decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  decipher.setAAD(aad(kid));
  let pkcs8: Buffer;
  try {
    pkcs8 = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    throw new UnsealError(kid, `signing key ${kid}: cannot decrypt its private key (wrong key-encryption key, or the record was altered or moved from another kid)`);
  }
  try {
    return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  } catch {
    throw new UnsealError(kid, `signing key ${kid}: the decrypted private key is not a PKCS#8 key`);
  }
}
