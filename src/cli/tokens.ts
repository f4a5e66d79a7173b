// `cortex tokens revoke`: revokes delegated tokens (minted by /.cortex/token) on the running
// gateways, effective at once: one token by its jti, every token of an agent, or every token acting
// for a person. With Redis revocations it writes to Redis (the fleet hears it); with the memory
// store it asks the gateway's admin API (POST /api/revocations, the admin token).
import type { Revocation } from '../credentials/types.ts';
import { describeRevocation, parseRevocation } from '../stores/revocations/revocation-input.ts';
import { loadDelegationConfig, personIssuer, publishRevocation, UsageError } from './delegation-config.ts';
import type { CliIo } from './delegation-config.ts';
import { parseSubcommand } from './cli-config.ts';

const USAGE = `usage:
  cortex tokens revoke --jti ID --exp EPOCH_SECONDS [--admin URL] [--config FILE] [--stage S]
  cortex tokens revoke --agent NAME [--admin URL] [--config FILE] [--stage S]
  cortex tokens revoke --user SUBJECT [--provider P | --issuer URL] [--admin URL] [--config FILE] [--stage S]
--agent and --user revoke every delegated token issued until now. With the memory store the gateway
is reached at --admin URL (default: admin.listen; cortex dev's) with CORTEX_ADMIN_TOKEN.
Without --config, the cortex dev config is used.`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  stage: { type: 'string', short: 's' },
  jti: { type: 'string' },
  exp: { type: 'string' },
  agent: { type: 'string' },
  user: { type: 'string' },
  provider: { type: 'string' },
  issuer: { type: 'string' },
  admin: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function runTokens(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const parsed = parseSubcommand('tokens', argv, OPTIONS, USAGE, io);
  if ('exit' in parsed) return parsed.exit;
  const { values: v, sub, rest } = parsed;
  try {
    if (sub !== 'revoke') throw new UsageError(`unknown subcommand "${sub}"`);
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    const chosen = [v.jti, v.agent, v.user].filter((x) => x !== undefined).length;
    if (chosen !== 1) throw new UsageError('revoke needs exactly one of --jti, --agent or --user');
    if ((v.provider !== undefined || v.issuer !== undefined) && v.user === undefined) throw new UsageError('--provider and --issuer go with --user');
    if (v.exp !== undefined && v.jti === undefined) throw new UsageError('--exp goes with --jti');
    const loaded = await loadDelegationConfig('tokens', v.config, v.stage, io);
    if (loaded === undefined) return 1;
    let input: Record<string, unknown>;
    if (v.jti !== undefined) input = { kind: 'jti', jti: v.jti, exp: v.exp === undefined ? undefined : Number(v.exp) };
    else if (v.agent !== undefined) input = { kind: 'agent', agent: v.agent };
    else input = { kind: 'person', issuer: personIssuer(loaded.config, v.provider, v.issuer), subject: v.user };
    const checked = parseRevocation(input, Date.now());
    if (!checked.ok) throw new UsageError(checked.problem.replace('exp, the token', '--exp, the token'));
    const r: Revocation = checked.revocation;
    const how = await publishRevocation(loaded, r, v.admin, io);
    io.stdout.write(`revoked ${describeRevocation(r)}: ${how}\n`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`cortex tokens: ${error.message}\n${USAGE}\n`);
      return 2;
    }
    io.stderr.write(`cortex tokens: ${(error as Error).message}\n`);
    return 1;
  }
}
