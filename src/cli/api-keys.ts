// `cortex api-keys create|list|revoke`: manages the keys in identity.apiKeys's store directly (no
// gateway needed). `create` prints only the key on stdout, so `KEY=$(cortex api-keys create ...)`
// works; its id and what it grants go to stderr.
import type { ApiKeysConfig } from '../config/schema.ts';
import { loadConfig } from '../config/load.ts';
import { isStage } from '../config/merge.ts';
import { issueApiKey, issueProblem, KEY_ID_PATTERN, parseDuration } from '../identity/api-keys/keys.ts';
import type { ApiKeyRecord, ApiKeyStore, IssueRequest } from '../identity/api-keys/keys.ts';
import { openApiKeyStore } from '../identity/api-keys/runtime.ts';
import { createLogger } from '../telemetry/logger.ts';
import { formatProblem } from './check.ts';
import { parseSubcommand } from './cli-config.ts';

export interface ApiKeysIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env?: NodeJS.ProcessEnv;
}

const USAGE = `usage:
  cortex api-keys create (--service NAME | --user NAME) --role ROLE [--role ROLE ...] [--expires 30d] [--description TEXT] [--config FILE] [--stage S]
  cortex api-keys list [--config FILE] [--stage S]
  cortex api-keys revoke KEYID [--config FILE] [--stage S]
Without --config, the cortex dev config is used. --expires takes s, m, h, d or w (e.g. 90d).`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  stage: { type: 'string', short: 's' },
  service: { type: 'string' },
  user: { type: 'string' },
  role: { type: 'string', multiple: true },
  expires: { type: 'string' },
  description: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

class UsageError extends Error {}

export async function runApiKeys(argv: string[], io: ApiKeysIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const parsed = parseSubcommand('api-keys', argv, OPTIONS, USAGE, io);
  if ('exit' in parsed) return parsed.exit;
  const { values: v, sub, rest } = parsed;
  try {
    if (sub !== 'create' && sub !== 'list' && sub !== 'revoke') throw new UsageError(`unknown subcommand "${sub}"`);
    const request = sub === 'create' ? createRequest(v) : undefined;
    if (sub === 'revoke' && (rest.length !== 1 || !KEY_ID_PATTERN.test(rest[0] as string))) throw new UsageError('revoke takes one key id (12 characters of a-z and 2-7)');
    if (sub !== 'revoke' && rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const cfg = await loadApiKeysConfig(v.config, v.stage, io);
    if (cfg === undefined) return 1;
    const store = openApiKeyStore(cfg.store, { log: createLogger({ level: 'silent' }), listen: false });
    try {
      if (request !== undefined) return await create(store, cfg.hmacSecret, request, io);
      if (sub === 'list') return await list(store, io);
      return await revoke(store, rest[0] as string, io);
    } finally {
      await store.close();
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`cortex api-keys: ${error.message}\n${USAGE}\n`);
      return 2;
    }
    io.stderr.write(`cortex api-keys: ${(error as Error).message}\n`);
    return 1;
  }
}

function createRequest(v: { service?: string | undefined; user?: string | undefined; role?: string[] | undefined; expires?: string | undefined; description?: string | undefined }): IssueRequest {
  if ((v.service === undefined) === (v.user === undefined)) throw new UsageError('create needs exactly one of --service NAME or --user NAME');
  if (v.role === undefined || v.role.length === 0) throw new UsageError('create needs at least one --role');
  const req: IssueRequest = { kind: v.service !== undefined ? 'service' : 'user', subject: (v.service ?? v.user) as string, roles: v.role };
  if (v.expires !== undefined) {
    const seconds = parseDuration(v.expires);
    if (seconds === undefined) throw new UsageError(`--expires "${v.expires}" is not a duration such as 12h, 30d or 2w`);
    req.expiresInSeconds = seconds;
  }
  if (v.description !== undefined) req.description = v.description;
  const problem = issueProblem(req);
  if (problem !== undefined) throw new UsageError(problem);
  return req;
}

async function loadApiKeysConfig(file: string | undefined, stage: string | undefined, io: ApiKeysIo): Promise<ApiKeysConfig | undefined> {
  if (stage !== undefined && !isStage(stage)) throw new UsageError(`unknown stage "${stage}"`);
  const label = file ?? 'the cortex dev config';
  const text = file === undefined ? (await import('../dev/config.ts')).devConfigText() : undefined;
  const loaded = loadConfig({ file: file ?? 'cortex-dev.yaml', text, stage, env: io.env ?? process.env });
  if (!loaded.ok) {
    io.stderr.write(`cortex api-keys: ${label} is not valid:\n`);
    for (const p of loaded.errors) io.stderr.write(`  ${formatProblem(p, label)}\n`);
    return undefined;
  }
  const cfg = loaded.config.identity.apiKeys;
  if (cfg === undefined) io.stderr.write(`cortex api-keys: ${label} does not configure identity.apiKeys\n`);
  return cfg;
}

async function create(store: ApiKeyStore, hmacSecret: string, req: IssueRequest, io: ApiKeysIo): Promise<number> {
  const { key, record } = await issueApiKey(store, hmacSecret, req);
  io.stdout.write(`${key}\n`);
  const expires = record.expiresAt === undefined ? 'never expires' : `expires ${iso(record.expiresAt)}`;
  io.stderr.write(`created API key ${record.keyId} for ${record.kind} ${record.subject} (roles: ${record.roles.join(', ')}; ${expires}). Store the key now: it is not shown again.\n`);
  return 0;
}

async function list(store: ApiKeyStore, io: ApiKeysIo): Promise<number> {
  const keys = await store.list();
  const header = ['ID', 'KIND', 'SUBJECT', 'ROLES', 'CREATED', 'EXPIRES', 'LAST USED', 'REVOKED'];
  const rows = keys.map((k: ApiKeyRecord) => [k.keyId, k.kind, k.subject, k.roles.join(',') || '-', iso(k.createdAt), iso(k.expiresAt), iso(k.lastUsedAt), iso(k.revokedAt)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  for (const r of [header, ...rows]) io.stdout.write(`${r.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd()}\n`);
  return 0;
}

async function revoke(store: ApiKeyStore, keyId: string, io: ApiKeysIo): Promise<number> {
  const result = await store.revoke(keyId, Date.now());
  if (result === 'not_found') {
    io.stderr.write(`cortex api-keys: no API key ${keyId}\n`);
    return 1;
  }
  io.stdout.write(result === 'revoked' ? `revoked ${keyId}\n` : `${keyId} was already revoked\n`);
  return 0;
}

function iso(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
