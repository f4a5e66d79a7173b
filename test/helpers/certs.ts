// Certificates for TLS tests, made with the openssl command-line tool in a temp dir: one CA, and
// leaf certificates signed by it (EC P-256, so generation is quick): server certificates for given
// names, and client certificates (clientAuth) with a chosen CN, SANs, serial and validity.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  dir: string;
  /** The CA certificate (PEM), for clients' `ca`. */
  ca: Buffer;
  /** A leaf certificate for `names` (the first is also the subject CN), signed by the CA. */
  issue(label: string, names: readonly string[]): LeafFiles;
  /** A client certificate (extendedKeyUsage clientAuth), signed by the CA. */
  issueClient(label: string, opts: ClientCertOptions): ClientCertFiles;
  close(): void;
}

export interface ClientCertOptions {
  /** Subject CN; the label when unset. */
  cn?: string;
  dns?: readonly string[];
  /** URI SANs, e.g. spiffe://cortex.test/ns/billing. */
  uri?: readonly string[];
  /** Serial number (hex); the next of the CA's counter when unset. */
  serial?: string;
  /** Validity from now; a negative number makes a certificate that has already expired. */
  days?: number;
}

export interface ClientCertFiles extends LeafFiles {
  /** The serial number as openssl was given it (hex, 0x-prefixed). */
  serial: string;
  /** The certificate and key as PEM, for a client's `cert` / `key`. */
  certPem: Buffer;
  keyPem: Buffer;
}

export interface LeafFiles {
  cert: string;
  key: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function createTestCa(opts: { name?: string } = {}): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'cortex-certs-'));
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], dir);
  openssl(['req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', '2', '-subj', `/CN=${opts.name ?? 'Cortex Test CA'}`, '-out', 'ca.pem'], dir);
  let serial = 1;
  return {
    dir,
    ca: readFileSync(join(dir, 'ca.pem')),
    issue(label, names) {
      const key = join(dir, `${label}.key`);
      const cert = join(dir, `${label}.pem`);
      const ext = join(dir, `${label}.ext`);
      writeFileSync(ext, `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\nextendedKeyUsage=serverAuth\n`);
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key], dir);
      openssl(['req', '-new', '-key', key, '-subj', `/CN=${names[0] ?? label}`, '-out', `${label}.csr`], dir);
      openssl(
        ['x509', '-req', '-in', `${label}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', String(++serial), '-days', '2', '-sha256', '-extfile', ext, '-out', cert],
        dir,
      );
      return { cert, key };
    },
    issueClient(label, o) {
      const key = join(dir, `${label}.key`);
      const cert = join(dir, `${label}.pem`);
      const ext = join(dir, `${label}.ext`);
      const sans = [...(o.dns ?? []).map((n) => `DNS:${n}`), ...(o.uri ?? []).map((u) => `URI:${u}`)];
      writeFileSync(ext, `${sans.length > 0 ? `subjectAltName=${sans.join(',')}\n` : ''}extendedKeyUsage=clientAuth\n`);
      const serialHex = `0x${o.serial ?? (++serial).toString(16)}`;
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key], dir);
      // openssl -subj separates attributes with '/': one inside the CN is escaped.
      const cn = (o.cn ?? label).replace(/[\\/]/g, (c) => `\\${c}`);
      openssl(['req', '-new', '-key', key, '-subj', `/CN=${cn}`, '-out', `${label}.csr`], dir);
      openssl(
        ['x509', '-req', '-in', `${label}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', serialHex, '-days', String(o.days ?? 2), '-sha256', '-extfile', ext, '-out', cert],
        dir,
      );
      return { cert, key, serial: serialHex, certPem: readFileSync(cert), keyPem: readFileSync(key) };
    },
    close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
