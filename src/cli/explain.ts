// `cortex explain (--as NAME | --agent NAME [--for NAME] | --claims FILE | --token JWT) METHOD PATH
// [--resource NAME=VALUE ... | --lookup] [--config FILE] [--stage S] [--json]`: the policy decision
// for one caller and request, without a running gateway or identity provider.
// Exit 0 for allow, 1 for deny, 2 for a usage error.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.ts';
import { isStage } from '../config/merge.ts';
import type { Config, Stage } from '../config/schema.ts';
import { STAGES } from '../config/schema.ts';
import { createRouter } from '../gateway/router.ts';
import { compileSnapshotPolicy } from '../gateway/snapshot-policy.ts';
import { compileProvider } from '../identity/provider.ts';
import type { CompiledProvider } from '../identity/provider.ts';
import { explain, formatExplanation, NO_KEYS } from '../policy/explain.ts';
import type { ExplainWho, ExplainWorld } from '../policy/explain.ts';
import { lookupResource, parseResourceArgs } from '../policy/explain-resource.ts';
import type { ExplainResourceInput } from '../policy/explain-resource.ts';
import { formatProblem } from './check.ts';

export interface ExplainIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env?: NodeJS.ProcessEnv;
}

const USAGE = `usage: cortex explain (--as NAME | --agent NAME [--for NAME] | --claims FILE.json | --token JWT) METHOD PATH
         [--resource NAME=VALUE ... | --lookup] [--host HOST] [--config FILE] [--stage ${STAGES.join('|')}] [--json]
Without --config, the cortex dev config is used; --as takes a dev person (alice, bob, carol), --agent a
dev agent client (assistant) acting --for a dev person. --resource gives the route's resource attributes
(a set as a comma list); --lookup asks the route's attribute source, the live service, for them.`;

const OPTIONS = {
  as: { type: 'string' },
  claims: { type: 'string' },
  token: { type: 'string' },
  agent: { type: 'string' },
  for: { type: 'string' },
  resource: { type: 'string', multiple: true },
  lookup: { type: 'boolean' },
  host: { type: 'string' },
  config: { type: 'string', short: 'c' },
  stage: { type: 'string', short: 's' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

class UsageError extends Error {}

export async function runExplain(argv: string[], io: ExplainIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (error) {
    io.stderr.write(`cortex explain: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let world: ExplainWorld | undefined;
  try {
    if (positionals.length !== 2) throw new UsageError('give the request as METHOD PATH, e.g. GET /orders/42');
    const who = whoFrom(v);
    if (v.stage !== undefined && !isStage(v.stage)) throw new UsageError(`unknown stage "${v.stage}"; stages are ${STAGES.join(', ')}`);
    if (v.lookup && v.resource !== undefined) throw new UsageError('give the resource attributes with --resource or look them up with --lookup, not both');
    const given = parseResourceArgs(v.resource ?? []);
    if (!given.ok) throw new UsageError(given.problem);
    world = await loadWorld(v.config, v.stage, io);
    if (world === undefined) return 2;
    const [method, path] = positionals as [string, string];
    let resource: ExplainResourceInput | undefined = v.resource === undefined ? undefined : { given: given.given };
    if (v.lookup) resource = await lookupResource(world, method, path, v.host);
    const result = explain(world, { who, method, path, host: v.host, resource });
    if (!result.ok) throw new UsageError(result.problem);
    io.stdout.write(v.json ? `${JSON.stringify(result.explanation, null, 2)}\n` : formatExplanation(result.explanation));
    return result.explanation.decision === 'allow' ? 0 : 1;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`cortex explain: ${error.message}\n${USAGE}\n`);
    return 2;
  } finally {
    world?.engine?.dispose();
  }
}

type WhoOptions = { as?: string | undefined; agent?: string | undefined; for?: string | undefined; claims?: string | undefined; token?: string | undefined };

function whoFrom(v: WhoOptions): ExplainWho {
  const given = [v.as, v.agent, v.claims, v.token].filter((x) => x !== undefined).length;
  if (given !== 1) throw new UsageError('say who is asking with exactly one of --as NAME, --agent NAME, --claims FILE or --token JWT');
  if (v.for !== undefined && v.agent === undefined) throw new UsageError('--for names the person an --agent acts for');
  if (v.agent !== undefined) return { agent: v.agent, for: v.for };
  if (v.as !== undefined) return { as: v.as };
  if (v.token !== undefined) return { token: v.token };
  let text: string;
  try {
    text = readFileSync(v.claims as string, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the claims file ${v.claims} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let claims: unknown;
  try {
    claims = JSON.parse(text);
  } catch {
    throw new UsageError(`the claims file ${v.claims} is not JSON`);
  }
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) throw new UsageError(`the claims file ${v.claims} must hold a JSON object`);
  return { claims: claims as Record<string, unknown> };
}

/** One stage's world from a config file (the cortex dev config without one); problems go to stderr, prefixed by the command. */
export async function loadWorld(file: string | undefined, stage: Stage | undefined, io: ExplainIo, command = 'cortex explain'): Promise<ExplainWorld | undefined> {
  const label = file ?? 'the cortex dev config';
  const text = file === undefined ? (await import('../dev/config.ts')).devConfigText() : undefined;
  const loaded = loadConfig({ file: file ?? 'cortex-dev.yaml', text, stage, env: io.env ?? process.env });
  if (!loaded.ok) {
    io.stderr.write(`${command}: ${label} is not valid:\n`);
    for (const p of loaded.errors) io.stderr.write(`  ${formatProblem(p, label)}\n`);
    return undefined;
  }
  const problems: string[] = [];
  const world = compileWorld(loaded.config, loaded.stage, problems);
  if (world === undefined || problems.length > 0) {
    world?.engine?.dispose();
    io.stderr.write(`${command}: ${label} does not compile:\n${problems.map((p) => `  ${p}\n`).join('')}`);
    return undefined;
  }
  return world;
}

/** The parts of a snapshot a decision reads, built from the config alone (no upstream pools, no key fetches). */
export function compileWorld(config: Config, stage: Stage, problems: string[]): ExplainWorld | undefined {
  const providers = new Map<string, CompiledProvider>();
  for (const [name, cfg] of Object.entries(config.identity.providers)) providers.set(name, compileProvider(name, cfg, { keys: NO_KEYS, introspector: undefined }));
  const engine = compileSnapshotPolicy(config, problems);
  try {
    const router = createRouter(
      Object.entries(config.routes).map(([id, rc]) => ({ route: { id }, host: rc.match.host, methods: rc.match.methods, path: rc.match.path, prefix: rc.match.prefix })),
    );
    return { config, stage, router, providers, engine };
  } catch (err) {
    problems.push(`routes: ${(err as Error).message}`);
    engine?.dispose();
    return undefined;
  }
}
