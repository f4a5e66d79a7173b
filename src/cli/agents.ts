// `cortex agents grant|list|revoke`: people's grants to agents (consent for token exchange),
// managed in credentials.tokenExchange.grants directly (no gateway needed). A grant recorded here
// is the same as one a person gives on /.cortex/consent; `revoke` also revokes the delegated tokens
// the agent holds for that person, on the running gateways (see `cortex tokens revoke`).
import { userInfo } from 'node:os';
import { openAgentGrantStore } from '../credentials/grants/open-grant-store.ts';
import type { AgentGrantStore } from '../credentials/types.ts';
import { parseDuration } from '../identity/api-keys/keys.ts';
import { revokedBeforeNow } from '../stores/revocations/revocation-mirror.ts';
import { createLogger } from '../telemetry/logger.ts';
import { iso, loadDelegationConfig, personIssuer, publishRevocation, UsageError } from './delegation-config.ts';
import type { CliIo, LoadedDelegation } from './delegation-config.ts';
import { parseSubcommand } from './cli-config.ts';
import type { ParsedValues } from './cli-config.ts';

const USAGE = `usage:
  cortex agents grant --user SUBJECT --agent NAME [--provider P | --issuer URL] [--expires 30d] [--config FILE] [--stage S]
  cortex agents list [--user SUBJECT] [--agent NAME] [--provider P | --issuer URL] [--config FILE] [--stage S]
  cortex agents revoke --user SUBJECT --agent NAME [--provider P | --issuer URL] [--admin URL] [--config FILE] [--stage S]
The person is SUBJECT at the issuer of --provider (default: the session provider, or the only one).
Without --config, the cortex dev config is used. --expires takes s, m, h, d or w (e.g. 90d).`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  stage: { type: 'string', short: 's' },
  user: { type: 'string' },
  agent: { type: 'string' },
  provider: { type: 'string' },
  issuer: { type: 'string' },
  expires: { type: 'string' },
  admin: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ParsedValues<typeof OPTIONS>;

export async function runAgents(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const parsed = parseSubcommand('agents', argv, OPTIONS, USAGE, io);
  if ('exit' in parsed) return parsed.exit;
  const { values: v, sub, rest } = parsed;
  try {
    if (sub !== 'grant' && sub !== 'list' && sub !== 'revoke') throw new UsageError(`unknown subcommand "${sub}"`);
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    if (sub !== 'list' && (v.user === undefined || v.agent === undefined)) throw new UsageError(`${sub} needs --user SUBJECT and --agent NAME`);
    const expiresInSeconds = sub === 'grant' && v.expires !== undefined ? parseDuration(v.expires) : undefined;
    if (v.expires !== undefined && (sub !== 'grant' || expiresInSeconds === undefined)) throw new UsageError(sub === 'grant' ? `--expires "${v.expires}" is not a duration such as 12h, 30d or 2w` : '--expires is for grant');
    const loaded = await loadDelegationConfig('agents', v.config, v.stage, io);
    if (loaded === undefined) return 1;
    const store = openAgentGrantStore(loaded.exchange.grants, { log: createLogger({ level: 'silent' }) });
    try {
      if (sub === 'grant') return await grant(loaded, store, v, expiresInSeconds, io);
      if (sub === 'list') return await list(loaded, store, v, io);
      return await revoke(loaded, store, v, io);
    } finally {
      await store.close();
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`cortex agents: ${error.message}\n${USAGE}\n`);
      return 2;
    }
    io.stderr.write(`cortex agents: ${(error as Error).message}\n`);
    return 1;
  }
}

async function grant(loaded: LoadedDelegation, store: AgentGrantStore, v: Values, expiresInSeconds: number | undefined, io: CliIo): Promise<number> {
  const agent = v.agent as string;
  const clients = Object.keys(loaded.exchange.clients);
  if (!clients.includes(agent)) throw new UsageError(`"${agent}" is not an agent client of credentials.tokenExchange.clients (${clients.join(', ') || 'none'})`);
  const issuer = personIssuer(loaded.config, v.provider, v.issuer);
  const now = Date.now();
  const g = await store.grant({
    issuer,
    subject: v.user as string,
    agent,
    createdAt: now,
    createdBy: `cli:${userInfo().username}`,
    ...(expiresInSeconds === undefined ? {} : { expiresAt: now + expiresInSeconds * 1000 }),
  });
  const until = g.expiresAt === undefined ? 'until revoked' : `until ${iso(g.expiresAt)}`;
  io.stdout.write(`granted: ${g.agent} may act for ${g.subject} (${g.issuer}) ${until}\n`);
  return 0;
}

async function list(loaded: LoadedDelegation, store: AgentGrantStore, v: Values, io: CliIo): Promise<number> {
  const issuer = v.provider !== undefined || v.issuer !== undefined ? personIssuer(loaded.config, v.provider, v.issuer) : undefined;
  const grants = await store.list({
    ...(issuer === undefined ? {} : { issuer }),
    ...(v.user === undefined ? {} : { subject: v.user }),
    ...(v.agent === undefined ? {} : { agent: v.agent }),
  });
  const now = Date.now();
  const header = ['USER', 'AGENT', 'ISSUER', 'GRANTED', 'EXPIRES', 'BY'];
  const rows = grants.map((g) => [g.subject, g.agent, g.issuer, iso(g.createdAt), g.expiresAt !== undefined && g.expiresAt <= now ? `${iso(g.expiresAt)} (expired)` : iso(g.expiresAt), g.createdBy]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  for (const r of [header, ...rows]) io.stdout.write(`${r.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd()}\n`);
  return 0;
}

async function revoke(loaded: LoadedDelegation, store: AgentGrantStore, v: Values, io: CliIo): Promise<number> {
  const person = { issuer: personIssuer(loaded.config, v.provider, v.issuer), subject: v.user as string };
  const agent = v.agent as string;
  const removed = await store.revoke(person, agent);
  if (!removed) {
    io.stderr.write(`cortex agents: ${person.subject} (${person.issuer}) has no grant to ${agent}\n`);
    return 1;
  }
  io.stdout.write(`revoked: ${agent} may no longer act for ${person.subject} (${person.issuer})\n`);
  // The grant is gone (no new exchange succeeds); the tokens already issued go too, where reachable.
  try {
    const how = await publishRevocation(loaded, { kind: 'grant', ...person, agent, at: revokedBeforeNow(Date.now()) }, v.admin, io);
    io.stdout.write(`delegated tokens of ${agent} for ${person.subject} revoked (${how})\n`);
  } catch (err) {
    io.stderr.write(`cortex agents: the grant is revoked, but the tokens already issued were not (they expire within credentials.tokenExchange.lifetimeSeconds): ${(err as Error).message}\n`);
  }
  return 0;
}
