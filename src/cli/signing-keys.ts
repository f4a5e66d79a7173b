// `cortex signing-keys list|rotate`: the signing key ring in credentials.signingKeys's store,
// directly (no gateway needed). `list` reads the store only (no key-encryption key needed);
// `rotate` makes a key that signs at once and prints its kid on stdout. Gateways on PostgreSQL
// pick the rotation up at once (NOTIFY); on a file store, at their next reload (within a minute).
import type { SigningKeysConfig } from '../config/schema-credentials.ts';
import { maxSignedLifetimeMs, rotateStore, scheduleSettings } from '../credentials/key-ring.ts';
import { describeKeys } from '../credentials/key-schedule.ts';
import { loadKek } from '../credentials/key-seal.ts';
import { openKeyRingStore } from '../credentials/stores/open-store.ts';
import { createLogger } from '../telemetry/logger.ts';
import { UsageError, loadCliConfig, parseSubcommand } from './cli-config.ts';

export interface SigningKeysIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env?: NodeJS.ProcessEnv;
  /** The signingKeys section, instead of reading it from --config (tests). */
  signingKeys?: SigningKeysConfig;
  /** With `signingKeys`: the longest token lifetime (1 hour when unset, the schema's maximum). */
  maxTokenLifetimeMs?: number;
  now?: () => number;
}

const USAGE = `usage:
  cortex signing-keys list [--config FILE] [--stage S]
  cortex signing-keys rotate [--config FILE] [--stage S]
list shows every key of the ring (state, age, when it signs and retires, whether it is published);
rotate makes a new key that signs at once, and prints its kid.`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  stage: { type: 'string', short: 's' },
  help: { type: 'boolean', short: 'h' },
} as const;


interface Section {
  cfg: SigningKeysConfig;
  maxTokenLifetimeMs: number;
}

export async function runSigningKeys(argv: string[], io: SigningKeysIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const parsed = parseSubcommand('signing-keys', argv, OPTIONS, USAGE, io);
  if ('exit' in parsed) return parsed.exit;
  const { values: v, sub, rest } = parsed;
  try {
    if (sub !== 'list' && sub !== 'rotate') throw new UsageError(`unknown subcommand "${sub}"`);
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const section = io.signingKeys !== undefined ? { cfg: io.signingKeys, maxTokenLifetimeMs: io.maxTokenLifetimeMs ?? 3_600_000 } : await loadSection(v.config, v.stage, io);
    if (section === undefined) return 1;
    const now = (io.now ?? Date.now)();
    const store = openKeyRingStore(section.cfg.store, { log: createLogger({ level: 'silent' }), listen: false });
    try {
      if (sub === 'list') {
        list(await store.load(), section, now, io);
        return 0;
      }
      const kek = await loadKek(section.cfg);
      const r = await rotateStore(store, section.cfg, kek, now);
      io.stdout.write(`${r.created.kid}\n`);
      const retired = r.retired === undefined ? '' : `; ${r.retired} retired (published until ${iso(now + section.maxTokenLifetimeMs + 60_000)})`;
      io.stderr.write(`rotated: ${r.created.kid} (${r.created.alg}) signs from now${retired}\n`);
      return 0;
    } finally {
      await store.close();
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`cortex signing-keys: ${error.message}\n${USAGE}\n`);
      return 2;
    }
    io.stderr.write(`cortex signing-keys: ${(error as Error).message}\n`);
    return 1;
  }
}

async function loadSection(file: string | undefined, stage: string | undefined, io: SigningKeysIo): Promise<Section | undefined> {
  const loaded = await loadCliConfig('signing-keys', file, stage, io);
  if (loaded === undefined) return undefined;
  const credentials = loaded.config.credentials;
  if (credentials.signingKeys.store.type === 'memory') {
    io.stderr.write(`cortex signing-keys: ${loaded.label} keeps the ring in the gateway's memory (credentials.signingKeys.store): there is nothing on disk to list or rotate\n`);
    return undefined;
  }
  return { cfg: credentials.signingKeys, maxTokenLifetimeMs: maxSignedLifetimeMs(credentials) };
}

function list(keys: Parameters<typeof describeKeys>[0], section: Section, now: number, io: SigningKeysIo): void {
  const infos = describeKeys(keys, now, scheduleSettings(section.cfg, section.maxTokenLifetimeMs));
  const header = ['KID', 'ALG', 'STATE', 'AGE', 'ACTIVATES', 'RETIRES', 'PUBLISHED'];
  const rows = infos.map((k) => [k.kid, k.alg, k.state, age(now - k.createdAt), iso(k.activatesAt), iso(k.retiresAt), k.published ? 'yes' : 'no']);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  for (const r of [header, ...rows]) io.stdout.write(`${r.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd()}\n`);
  if (infos.length === 0) io.stderr.write('the ring is empty: the first gateway to start (or `cortex signing-keys rotate`) creates its first key\n');
}

function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d${h}h`;
  if (h > 0) return `${h}h${m}m`;
  return m > 0 ? `${m}m` : `${s}s`;
}

function iso(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
