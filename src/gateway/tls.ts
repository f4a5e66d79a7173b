// The gateway listener's TLS: secure contexts built from the certificate files in gateway.tls,
// chosen per handshake by SNI, and rebuilt when the files change. A rebuilt pair serves new
// handshakes only; connections already open keep the context they were made with. A pair that
// fails to load (unreadable file, key that does not match) keeps the previous one serving.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { SecureContext, SecureVersion } from 'node:tls';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { watchConfig } from '../config/watch.ts';

export type TlsConfig = NonNullable<Config['gateway']['tls']>;

/**
 * TLS 1.3 suites (Node's defaults), then for TLS 1.2 only ECDHE key exchange with AEAD ciphers:
 * no RSA key exchange, no CBC, no SHA-1 MACs.
 */
export const CIPHERS = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** What node:https's createServer takes for TLS, besides the HTTP options. */
export interface TlsServerOptions {
  minVersion: SecureVersion;
  ciphers: string;
  honorCipherOrder: true;
  cert: Buffer;
  key: Buffer;
  SNICallback(servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void;
}

/** The part of a tls.Server this module drives: the default context, for clients without SNI. */
export interface SecureServer {
  setSecureContext(options: { cert: Buffer; key: Buffer; minVersion: SecureVersion; ciphers: string; honorCipherOrder: boolean }): void;
}

interface Pair {
  cert: Buffer;
  key: Buffer;
  context: SecureContext;
}

export interface GatewayTls {
  readonly serverOptions: TlsServerOptions;
  /** Starts watching the files; a rebuilt default pair is installed on `server`. */
  watch(server: SecureServer, opts?: { debounceMs?: number }): void;
  /** Reads the files again now (what a file change does). */
  reload(): void;
  close(): void;
}

/** Reads every pair; throws when one cannot be loaded (the config check reports the same). */
export function createGatewayTls(config: TlsConfig, log: Logger): GatewayTls {
  const settings = { minVersion: config.minVersion, ciphers: CIPHERS, honorCipherOrder: true } as const;
  const load = (cert: Buffer, key: Buffer): Pair => ({ cert, key, context: createSecureContext({ ...settings, cert, key }) });
  const pairs: Pair[] = config.certificates.map((c) => load(readFileSync(resolve(c.cert)), readFileSync(resolve(c.key))));

  // Server name → index into pairs. Exact names, then '*.rest' names for one level of subdomain.
  const exact = new Map<string, number>();
  const wildcard = new Map<string, number>();
  config.certificates.forEach((c, i) => {
    for (const name of c.serverNames ?? []) {
      const map = name.startsWith('*.') ? wildcard : exact;
      const key = name.startsWith('*.') ? name.slice(2) : name;
      if (!map.has(key)) map.set(key, i); // the first certificate naming it wins
    }
  });
  const pick = (servername: string): Pair => {
    const name = servername.toLowerCase().replace(/\.$/, '');
    let index = exact.get(name);
    if (index === undefined) {
      const dot = name.indexOf('.');
      if (dot > 0) index = wildcard.get(name.slice(dot + 1));
    }
    return pairs[index ?? 0] as Pair;
  };

  let server: SecureServer | undefined;
  const watchers: { close(): void }[] = [];
  let timer: NodeJS.Timeout | undefined;

  function reload(): void {
    config.certificates.forEach((c, i) => {
      const old = pairs[i] as Pair;
      let next: Pair;
      try {
        const cert = readFileSync(resolve(c.cert));
        const key = readFileSync(resolve(c.key));
        if (cert.equals(old.cert) && key.equals(old.key)) return;
        next = load(cert, key);
      } catch (err) {
        log.error({ cert: c.cert, key: c.key, err: (err as Error).message }, 'TLS certificate reload failed; the previous certificate keeps serving');
        return;
      }
      pairs[i] = next;
      if (i === 0) server?.setSecureContext({ ...settings, cert: next.cert, key: next.key });
      log.info({ cert: c.cert }, 'TLS certificate reloaded');
    });
  }

  const first = pairs[0] as Pair;
  return {
    serverOptions: {
      ...settings,
      cert: first.cert,
      key: first.key,
      SNICallback: (servername, cb) => cb(null, pick(servername).context),
    },
    watch(target, opts = {}) {
      server = target;
      // A cert and its key are often replaced one after the other: one rebuild after both.
      const schedule = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        timer = setTimeout(() => {
          timer = undefined;
          reload();
        }, 20);
        timer.unref();
      };
      const files = new Set(config.certificates.flatMap((c) => [resolve(c.cert), resolve(c.key)]));
      for (const file of files) {
        watchers.push(
          watchConfig(file, schedule, {
            debounceMs: opts.debounceMs,
            onError: (err) => log.error({ file, err: err.message }, 'watching a TLS file failed; its changes will not be picked up'),
          }),
        );
      }
    },
    reload,
    close() {
      if (timer !== undefined) clearTimeout(timer);
      for (const w of watchers.splice(0)) w.close();
    },
  };
}
