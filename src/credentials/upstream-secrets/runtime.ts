// The upstream credentials in use, owned by the Gateway and kept across reloads: a reload that does
// not change an upstream's `credentials` keeps its file watchers and its cached token (no refetch).
// Keyed by upstream name and a digest of its credentials config; released with the last snapshot
// generation that used them.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { UpstreamConfig } from '../../config/schema.ts';
import { ClientCredentialsToken } from './client-credentials-token.ts';
import { openSecret } from './secret-source.ts';
import type { SecretSource, UpstreamCredential } from './types.ts';

export type UpstreamCredentialsConfig = NonNullable<UpstreamConfig['credentials']>;

export type AcquiredCredential = { ok: true; credential: UpstreamCredential } | { ok: false; problem: string };

interface Held {
  readonly credential: UpstreamCredential;
  readonly close: () => void;
  readonly generations: Set<number>;
}

export interface UpstreamCredentialsRuntimeOptions {
  log: Logger;
  /** Stat interval for secret files (the watch's backstop). */
  pollMs?: number;
}

class HeaderCredential implements UpstreamCredential {
  readonly header: string;
  private readonly prefix: string;
  private readonly secret: SecretSource;
  private headerValue: string | undefined;

  constructor(name: string, prefix: string, secret: SecretSource) {
    this.header = name.toLowerCase();
    this.prefix = prefix;
    this.secret = secret;
    this.update();
    secret.onChange(() => this.update());
  }

  private update(): void {
    const v = this.secret.current();
    this.headerValue = v === undefined ? undefined : this.prefix + v;
  }

  valueNow(): string | undefined {
    return this.headerValue;
  }

  value(): Promise<string | undefined> {
    return Promise.resolve(this.headerValue);
  }
}

export class UpstreamCredentialsRuntime {
  private readonly held = new Map<string, Held>();
  private readonly opts: UpstreamCredentialsRuntimeOptions;

  constructor(opts: UpstreamCredentialsRuntimeOptions) {
    this.opts = opts;
  }

  /** The credential for `upstream` in snapshot `generation`, reusing the one of an identical config. */
  acquire(upstream: string, cfg: UpstreamCredentialsConfig, generation: number): AcquiredCredential {
    // A digest, not the config itself: a `value` from the environment should not sit in a map key.
    const key = createHash('sha256').update(JSON.stringify([upstream, cfg])).digest('base64url');
    let held = this.held.get(key);
    if (held === undefined) {
      const built = this.build(upstream, cfg);
      if (!built.ok) return built;
      held = { ...built.held, generations: new Set() };
      this.held.set(key, held);
    }
    held.generations.add(generation);
    return { ok: true, credential: held.credential };
  }

  /** Drops a snapshot's references; sources no snapshot uses stop watching and refreshing. */
  release(generation: number): void {
    for (const [key, held] of this.held) {
      held.generations.delete(generation);
      if (held.generations.size === 0) {
        held.close();
        this.held.delete(key);
      }
    }
  }

  close(): void {
    for (const held of this.held.values()) held.close();
    this.held.clear();
  }

  /** How many credential sources are held (for tests and status). */
  get size(): number {
    return this.held.size;
  }

  private build(upstream: string, cfg: UpstreamCredentialsConfig): { ok: true; held: Omit<Held, 'generations'> } | { ok: false; problem: string } {
    const base = { log: this.opts.log, ...(this.opts.pollMs === undefined ? {} : { pollMs: this.opts.pollMs }) };
    if (cfg.type === 'header') {
      const secret = openSecret(cfg.secret, { ...base, label: `credential for upstream ${upstream}` });
      if (!secret.ok) return { ok: false, problem: `upstreams.${upstream}.credentials.secret: ${secret.problem}` };
      const credential = new HeaderCredential(cfg.name, cfg.prefix, secret.source);
      return { ok: true, held: { credential, close: () => secret.source.close() } };
    }
    const secret = openSecret(cfg.clientSecret, { ...base, label: `client secret for upstream ${upstream}` });
    if (!secret.ok) return { ok: false, problem: `upstreams.${upstream}.credentials.clientSecret: ${secret.problem}` };
    const token = new ClientCredentialsToken({
      upstream,
      tokenUrl: cfg.tokenUrl,
      clientId: cfg.clientId,
      clientSecret: secret.source,
      scope: cfg.scope,
      audience: cfg.audience,
      refreshBeforeSeconds: cfg.refreshBeforeSeconds,
      log: this.opts.log,
    });
    return {
      ok: true,
      held: {
        credential: token,
        close: () => {
          token.close();
          secret.source.close();
        },
      },
    };
  }
}
