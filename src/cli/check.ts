// `cortex check [--config FILE] [--stage S]`: validates a config file for every stage (or one),
// printing every problem; without --config it checks the config that `cortex dev` runs. When both
// staging and prod are checked, prod may not grant a group, service or agent more than staging does
// unless policy.allowProdGains (prod's) says so.
import { parseArgs } from 'node:util';
import { checkStages, loadConfig } from '../config/load.ts';
import { isStage } from '../config/merge.ts';
import type { ConfigProblem } from '../config/problems.ts';
import { STAGES } from '../config/schema.ts';
import type { Stage } from '../config/schema.ts';
import { checkImportedApis } from '../intents/check.ts';
import { describeGain, prodGains } from '../policy/prod-gains.ts';

export interface CheckIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** For ${VAR} substitution; the process environment by default. */
  env?: NodeJS.ProcessEnv;
}

const USAGE = `usage: cortex check [--config FILE] [--stage ${STAGES.join('|')}]`;

export async function runCheck(argv: string[], io: CheckIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let options: { config?: string | undefined; stage?: string | undefined; help?: boolean | undefined };
  try {
    options = parseArgs({
      args: argv,
      options: { config: { type: 'string', short: 'c' }, stage: { type: 'string', short: 's' }, help: { type: 'boolean', short: 'h' } },
    }).values;
  } catch (error) {
    io.stderr.write(`cortex check: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (options.help) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { stage } = options;
  if (stage !== undefined && !isStage(stage)) {
    io.stderr.write(`cortex check: unknown stage "${stage}"; stages are ${STAGES.join(', ')}\n`);
    return 2;
  }
  const stages = stage === undefined ? STAGES : [stage];

  const source = options.config === undefined ? await devConfigSource() : { file: options.config, label: options.config };
  if ('missing' in source) {
    io.stderr.write(`cortex check: ${source.missing}\n`);
    return 1;
  }
  const { errors, warnings } = checkStages({ file: source.file, text: source.text, stages, env: io.env ?? process.env });
  for (const warning of warnings) io.stderr.write(`warning: ${formatProblem(warning, source.label)}\n`);
  for (const error of errors) io.stderr.write(`${formatProblem(error, source.label)}\n`);
  if (errors.length > 0) return 1;
  if (!(await importedApisCheck(source, stages, io))) return 1;
  if (stages.includes('staging') && stages.includes('prod') && !prodWithinStaging(source, io)) return 1;
  io.stdout.write(`ok: ${source.label} is valid for ${stages.length > 1 ? 'stages' : 'stage'} ${stages.join(', ')}\n`);
  return 0;
}

/** Fetches each imported API's document and reports operations without intent, unsupported ones and held changes; false on an error. */
async function importedApisCheck(source: { file?: string; text?: string; label: string }, stages: readonly Stage[], io: CheckIo): Promise<boolean> {
  let ok = true;
  for (const stage of stages) {
    const loaded = loadConfig({ file: source.file, text: source.text, stage, env: io.env ?? process.env });
    if (!loaded.ok || Object.keys(loaded.config.apis).length === 0) continue;
    const { warnings, errors } = await checkImportedApis(loaded.config, stage);
    for (const w of warnings) io.stderr.write(`warning: ${source.label}: ${w} [${stage}]\n`);
    for (const e of errors) io.stderr.write(`${source.label}: ${e} [${stage}]\n`);
    if (errors.length > 0) ok = false;
  }
  return ok;
}

/** Prints prod's gains over staging; false when one is not allowed by policy.allowProdGains. */
function prodWithinStaging(source: { file?: string; text?: string; label: string }, io: CheckIo): boolean {
  const load = (stage: 'staging' | 'prod') => loadConfig({ file: source.file, text: source.text, stage, env: io.env ?? process.env });
  const staging = load('staging');
  const prod = load('prod');
  if (!staging.ok || !prod.ok) return true;
  let ok = true;
  for (const gain of prodGains(staging.config, prod.config)) {
    if (gain.allowedBecause !== undefined) io.stdout.write(`info: ${describeGain(gain)}: allowed (${gain.allowedBecause})\n`);
    else {
      ok = false;
      io.stderr.write(`${source.label}: ${describeGain(gain)}; list it in policy.allowProdGains if that is on purpose [prod]\n`);
    }
  }
  return ok;
}

/** `path: message (line N) [stage]`; a problem with the whole file is named by the file. */
export function formatProblem(problem: ConfigProblem, label: string): string {
  const line = problem.line === undefined ? '' : ` (line ${problem.line})`;
  const stage = problem.stage === undefined ? '' : ` [${problem.stage}]`;
  return `${problem.path || label}: ${problem.message}${line}${stage}`;
}

type Source = { file?: string; text?: string; label: string } | { missing: string };

async function devConfigSource(): Promise<Source> {
  try {
    const { devConfigText } = await import('../dev/config.ts');
    return { text: devConfigText(), label: 'the cortex dev config' };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    return { missing: 'no --config given, and the cortex dev config (src/dev/config.ts) is not there yet' };
  }
}
