// Local TLS material for `cortex dev --tls` (and the bench): a local CA and a certificate for
// localhost, 127.0.0.1 and ::1 signed by it, generated once with `selfsigned` (no openssl needed)
// and reused until they come close to expiry. Keys are written mode 0600.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface LocalTlsFiles {
  /** The local CA's certificate: what clients trust (`curl --cacert`). */
  ca: string;
  caKey: string;
  /** The server certificate (leaf) and its key, for `gateway.tls.certificates`. */
  cert: string;
  key: string;
}

export interface LocalTlsResult extends LocalTlsFiles {
  /** What was (re)generated on this call: nothing when both were reused. */
  generated: Array<'ca' | 'cert'>;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const CA_DAYS = 3650;
/** Below the 398 days browsers accept for a leaf. */
const LEAF_DAYS = 365;
/** Regenerate when less than this is left, so that a dev session does not cross the expiry. */
const RENEW_BEFORE_MS = 2 * DAY_MS;
export const LOCAL_NAMES = { dns: ['localhost'], ips: ['127.0.0.1', '::1'] } as const;

export function localTlsFiles(dir: string): LocalTlsFiles {
  return { ca: join(dir, 'ca.pem'), caKey: join(dir, 'ca-key.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
}

function readCert(file: string): X509Certificate | undefined {
  try {
    return new X509Certificate(readFileSync(file));
  } catch {
    return undefined;
  }
}

function fresh(cert: X509Certificate, now: number): boolean {
  return Date.parse(cert.validFrom) <= now && Date.parse(cert.validTo) - now > RENEW_BEFORE_MS;
}

function keyMatches(cert: X509Certificate, keyFile: string): boolean {
  try {
    return cert.checkPrivateKey(createPrivateKey(readFileSync(keyFile)));
  } catch {
    return false;
  }
}

function writeKey(file: string, pem: string): void {
  writeFileSync(file, pem, { mode: 0o600 });
  chmodSync(file, 0o600); // writeFileSync's mode only applies to a new file
}

function validity(now: number, days: number): { notBeforeDate: Date; notAfterDate: Date } {
  // A minute of slack for clocks that disagree a little (containers, VMs).
  return { notBeforeDate: new Date(now - 60_000), notAfterDate: new Date(now + days * DAY_MS) };
}

/**
 * Makes sure `dir` holds a usable local CA and a leaf for localhost/127.0.0.1/::1 signed by it:
 * reuses what is there, regenerates the CA when it is missing, expiring or does not match its key
 * (and then the leaf), and the leaf alone when it is missing, expiring, not issued by the CA or
 * does not match its key.
 */
export async function ensureLocalTls(dir: string, now = Date.now()): Promise<LocalTlsResult> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = localTlsFiles(dir);
  const generated: LocalTlsResult['generated'] = [];

  let ca = existsSync(files.ca) ? readCert(files.ca) : undefined;
  if (ca === undefined || !ca.ca || !fresh(ca, now) || !keyMatches(ca, files.caKey)) {
    const pems = await generate([{ name: 'commonName', value: 'Cortex dev local CA' }, { name: 'organizationName', value: 'Cortex dev' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      ...validity(now, CA_DAYS),
      extensions: [
        { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ],
    });
    writeKey(files.caKey, pems.private);
    writeFileSync(files.ca, pems.cert);
    ca = new X509Certificate(pems.cert);
    generated.push('ca');
  }

  const leaf = generated.length > 0 || !existsSync(files.cert) ? undefined : readCert(files.cert);
  const leafOk =
    leaf !== undefined &&
    fresh(leaf, now) &&
    leaf.checkIssued(ca) &&
    leaf.verify(ca.publicKey) &&
    LOCAL_NAMES.dns.every((n) => leaf.checkHost(n) !== undefined) &&
    LOCAL_NAMES.ips.every((ip) => leaf.checkIP(ip) !== undefined) &&
    keyMatches(leaf, files.key);
  if (!leafOk) {
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      ...validity(now, LEAF_DAYS),
      ca: { key: readFileSync(files.caKey, 'utf8'), cert: readFileSync(files.ca, 'utf8') },
      extensions: [
        { name: 'basicConstraints', cA: false, critical: true },
        { name: 'keyUsage', digitalSignature: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [...LOCAL_NAMES.dns.map((value) => ({ type: 2 as const, value })), ...LOCAL_NAMES.ips.map((ip) => ({ type: 7 as const, ip }))],
        },
      ],
    });
    writeKey(files.key, pems.private);
    writeFileSync(files.cert, pems.cert);
    generated.push('cert');
  }
  return { ...files, generated };
}
