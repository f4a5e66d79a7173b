// Shared by `cortex agents` and `cortex tokens`: the config (--config, else the cortex dev config),
// the issuer a person is named at (--issuer, --provider, else the session provider or the only
// one), and how a revocation reaches the running gateways: written to Redis (every instance hears
// it), or, when the store is a gateway's own memory, sent to its admin API (POST /api/revocations).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { Revocation } from '../credentials/types.ts';
import { openRevocationStore } from '../stores/revocations/open-revocation-store.ts';
import { createLogger } from '../telemetry/logger.ts';

export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env?: NodeJS.ProcessEnv;
  /** The working directory whose .cortex/dev/ holds the running dev gateway's state (tests set it). */
  cwd?: string;
}

export { UsageError } from './cli-config.ts';
import { loadCliConfig, UsageError } from './cli-config.ts';

export type TokenExchangeConfig = NonNullable<Config['credentials']['tokenExchange']>;

export interface LoadedDelegation {
  config: Config;
  exchange: TokenExchangeConfig;
  /** Where the config came from, for messages. */
  label: string;
  dev: boolean;
}

export async function loadDelegationConfig(command: string, file: string | undefined, stage: string | undefined, io: CliIo): Promise<LoadedDelegation | undefined> {
  const loaded = await loadCliConfig(command, file, stage, io);
  if (loaded === undefined) return undefined;
  const exchange = loaded.config.credentials.tokenExchange;
  if (exchange === undefined) {
    io.stderr.write(`cortex ${command}: ${loaded.label} does not configure credentials.tokenExchange\n`);
    return undefined;
  }
  return { ...loaded, exchange };
}

/** The issuer a person's subject is at: --issuer, the issuer of --provider, else the session provider's or the only provider's. */
export function personIssuer(config: Config, provider: string | undefined, issuer: string | undefined): string {
  if (issuer !== undefined) {
    if (provider !== undefined) throw new UsageError('give one of --provider or --issuer');
    return issuer.replace(/\/+$/, '');
  }
  const providers = config.identity.providers;
  const name = provider ?? config.identity.sessions?.provider ?? (Object.keys(providers).length === 1 ? Object.keys(providers)[0] : undefined);
  if (name === undefined) throw new UsageError('several identity providers are configured: name the person\'s with --provider NAME or --issuer URL');
  const p = providers[name];
  if (p === undefined) throw new UsageError(`no identity provider "${name}" (configured: ${Object.keys(providers).join(', ') || 'none'})`);
  return p.issuer;
}

/** Where the admin API of the running gateway is, and its token. */
function adminTarget(loaded: LoadedDelegation, adminUrl: string | undefined, io: CliIo): { url: string; token: string | undefined } {
  const env = io.env ?? process.env;
  const devDir = join(io.cwd ?? process.cwd(), '.cortex', 'dev');
  let url = adminUrl;
  let token = loaded.config.admin.token ?? env.CORTEX_ADMIN_TOKEN;
  if (loaded.dev) {
    const state = join(devDir, 'state.json');
    if (url === undefined && existsSync(state)) url = (JSON.parse(readFileSync(state, 'utf8')) as { adminUrl?: string }).adminUrl;
    const tokenFile = join(devDir, 'admin-token');
    if (token === undefined && existsSync(tokenFile)) token = readFileSync(tokenFile, 'utf8').trim();
  }
  const listen = loaded.config.admin.listen;
  url ??= `http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`;
  return { url: url.replace(/\/+$/, ''), token };
}

/**
 * Makes a revocation effective on the running gateways. Returns how it travelled; throws when it
 * could not (Redis unreachable, the admin API refused or not running).
 */
export async function publishRevocation(loaded: LoadedDelegation, r: Revocation, adminUrl: string | undefined, io: CliIo): Promise<string> {
  const store = loaded.exchange.revocations;
  if (store.type === 'redis') {
    const revocations = openRevocationStore(store, { log: createLogger({ level: 'silent' }) });
    try {
      await revocations.revoke(r);
    } finally {
      await revocations.close();
    }
    return 'written to Redis: every gateway instance applies it at once';
  }
  const target = adminTarget(loaded, adminUrl, io);
  if (target.token === undefined) throw new Error('the revocation store is a gateway\'s memory, reached through its admin API: set CORTEX_ADMIN_TOKEN (or admin.token)');
  let res: Response;
  try {
    res = await fetch(`${target.url}/api/revocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${target.token}` },
      body: JSON.stringify(r),
      signal: AbortSignal.timeout(5_000),
    });
  } catch (err) {
    throw new Error(`the gateway's admin API at ${target.url} cannot be reached (${(err as Error).message}); is the gateway running? (--admin URL names another)`, { cause: err });
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { detail?: string };
    throw new Error(`the gateway's admin API at ${target.url} answered ${res.status}${body.detail === undefined ? '' : `: ${body.detail}`}`);
  }
  return `sent to the gateway at ${target.url}: effective at once there (the memory store is one instance's)`;
}

export function iso(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
