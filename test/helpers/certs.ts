// Certificates for TLS tests, made with the openssl command-line tool in a temp dir: one CA, and
// leaf certificates for given names signed by it (EC P-256, so generation is quick).
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
  close(): void;
}

export interface LeafFiles {
  cert: string;
  key: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function createTestCa(): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'cortex-certs-'));
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], dir);
  openssl(['req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', '2', '-subj', '/CN=Cortex Test CA', '-out', 'ca.pem'], dir);
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
    close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
