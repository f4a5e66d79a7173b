// The credentials plane as the Gateway owns it: the signing key ring (opened once at start, kept
// across reloads), the clock it and the assertion cache read, and the issuer of what Cortex signs.
// Opening is async (the store, the KEK's scrypt); the Gateway starts it in its constructor and
// listen() waits for it, so no request is served before the ring can sign.
import { createSecretKey, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { auditKeyRotations } from '../audit/system-events.ts';
import type { SystemAudit } from '../audit/system-events.ts';
import type { Config } from '../config/schema.ts';
import { createAssertionMinter } from '../filters/assertion/assertion-minter.ts';
import type { AssertionMinter, AssertionSettings } from '../filters/assertion/assertion-minter.ts';
import type { InternalEndpoint } from '../identity/authenticator.ts';
import { createJwksDocument, jwksEndpoint } from './jwks-endpoint.ts';
import type { JwksDocument } from './jwks-endpoint.ts';
import { maxSignedLifetimeMs, openKeyRing } from './key-ring.ts';
import type { TickingKeyRing } from './key-ring.ts';
import { loadKek } from './key-seal.ts';
import { openKeyRingStore } from './stores/open-store.ts';

export interface CredentialsRuntimeOptions {
  log: Logger;
  /** The clock of the ring and of assertion lifetimes (tests move it). */
  now?: () => number;
  /** Records each change of the signing key (key_rotation). */
  audit?: SystemAudit;
}

/** Cache-Control max-age of the published JWKS: well inside publishAheadMs, at most 5 minutes. */
export function jwksMaxAgeSeconds(publishAheadMs: number): number {
  return Math.max(0, Math.min(300, Math.floor(publishAheadMs / 2_000)));
}

export class CredentialsRuntime {
  readonly now: () => number;
  /** The assertions for upstreams, cached across reloads (the assertion filter's). */
  readonly assertions: AssertionMinter;
  /** The published JWKS (the gateway's /.cortex/jwks.json, the admin listener's /jwks.json). */
  readonly jwks: () => JwksDocument | undefined;
  /** Gateway-owned endpoints of the credentials plane, compiled into every snapshot as routes. */
  readonly endpoints: readonly InternalEndpoint[];
  private readonly log: Logger;
  private ringValue: TickingKeyRing | undefined;
  private readonly opening: Promise<TickingKeyRing>;
  private listenAddress: { host: string; port: number } | undefined;
  private closed = false;

  constructor(config: Config, opts: CredentialsRuntimeOptions) {
    this.now = opts.now ?? Date.now;
    this.log = opts.log.child({ component: 'signing-keys' });
    this.opening = this.open(config, opts.audit);
    this.assertions = createAssertionMinter({ ring: () => this.ringValue, now: this.now });
    // signingKeys is read once at start (a change needs a restart), and so is the JWKS max-age.
    const maxAge = jwksMaxAgeSeconds(config.credentials.signingKeys.publishAheadMs);
    this.jwks = createJwksDocument(() => this.ringValue, () => maxAge);
    this.endpoints = [jwksEndpoint(this.jwks)];
    // A failure is reported by ready(); this only keeps it from being an unhandled rejection.
    this.opening.catch(() => undefined);
  }

  private async open(config: Config, audit: SystemAudit | undefined): Promise<TickingKeyRing> {
    const cfg = config.credentials.signingKeys;
    // The memory store never writes a key out: a random in-process KEK is enough.
    const kek: KeyObject = cfg.store.type === 'memory' ? createSecretKey(randomBytes(32)) : await loadKek(cfg);
    const store = openKeyRingStore(cfg.store, { log: this.log, listen: true });
    const ring = await openKeyRing(cfg, { store, kek, now: this.now, maxTokenLifetimeMs: maxSignedLifetimeMs(config.credentials), log: this.log });
    if (this.closed) {
      await ring.close();
      throw new Error('the gateway closed while its signing keys were opening');
    }
    this.ringValue = ring;
    if (audit !== undefined) auditKeyRotations(ring, audit);
    return ring;
  }

  /** Resolves once the ring can sign; rejects when it cannot open (bad KEK, unreachable store). */
  ready(): Promise<TickingKeyRing> {
    return this.opening;
  }

  /** The ring, once open (requests are served only after listen(), which waits for it). */
  get ring(): TickingKeyRing | undefined {
    return this.ringValue;
  }

  /** Where the gateway listens, for the default issuer (set by listen()). */
  setListenAddress(host: string, port: number): void {
    this.listenAddress = { host, port };
  }

  /** iss of what Cortex signs: credentials.issuer, else http://<gateway.listen.host>:<port listened on>. */
  issuer(config: Config): string {
    if (config.credentials.issuer !== undefined) return config.credentials.issuer.replace(/\/+$/, '');
    const host = this.listenAddress?.host ?? config.gateway.listen.host;
    const port = this.listenAddress?.port ?? config.gateway.listen.port;
    const scheme = config.gateway.tls === undefined ? 'http' : 'https';
    return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /** What the assertion filter signs with under `config` (read at the first request, once the gateway listens). */
  assertionSettings(config: Config): AssertionSettings {
    return { issuer: this.issuer(config), lifetimeSeconds: config.credentials.assertion.lifetimeSeconds };
  }

  async close(): Promise<void> {
    this.closed = true;
    const ring = await this.opening.catch(() => undefined);
    await ring?.close();
  }
}
