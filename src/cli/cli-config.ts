// The config a CLI command works on: --config FILE (at --stage), or the cortex dev config when no
// file is given, so `npx cortex <command>` works against `npx cortex dev` out of the box.
import { parseArgs } from 'node:util';
import type { ParseArgsOptionsConfig } from 'node:util';
import { loadConfig } from '../config/load.ts';
import { isStage } from '../config/merge.ts';
import type { Config } from '../config/schema.ts';
import { formatProblem } from './check.ts';

export class UsageError extends Error {}

export interface CliConfigIo {
  stderr: { write(text: string): unknown };
  env?: NodeJS.ProcessEnv;
}

export interface CliConfig {
  config: Config;
  /** Where the config came from, for messages. */
  label: string;
  /** True for the cortex dev config. */
  dev: boolean;
}

/** Undefined (after printing every problem) when the config is not valid; throws UsageError for a bad --stage. */
export async function loadCliConfig(command: string, file: string | undefined, stage: string | undefined, io: CliConfigIo): Promise<CliConfig | undefined> {
  if (stage !== undefined && !isStage(stage)) throw new UsageError(`unknown stage "${stage}"`);
  const label = file ?? 'the cortex dev config';
  const text = file === undefined ? (await import('../dev/config.ts')).devConfigText() : undefined;
  const loaded = loadConfig({ file: file ?? 'cortex-dev.yaml', text, stage, env: io.env ?? process.env });
  if (!loaded.ok) {
    io.stderr.write(`cortex ${command}: ${label} is not valid:\n`);
    for (const p of loaded.errors) io.stderr.write(`  ${formatProblem(p, label)}\n`);
    return undefined;
  }
  return { config: loaded.config, label, dev: file === undefined };
}

export interface CliIo extends CliConfigIo {
  stdout: { write(text: string): unknown };
}

type HelpOption = { help: { type: 'boolean'; short?: string } };
type Parsed<O extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true }>>;
/** The option values parseSubcommand gives for these options. */
export type ParsedValues<O extends ParseArgsOptionsConfig> = Parsed<O>['values'];

/**
 * A subcommand's arguments (`cortex <command> <sub> [options]`): the parsed values, the
 * subcommand and the rest, or the exit code when there is nothing to run (--help: 0, after the
 * usage on stdout; a bad option or no subcommand: 2, after the usage on stderr).
 */
export function parseSubcommand<O extends ParseArgsOptionsConfig & HelpOption>(
  command: string,
  argv: string[],
  options: O,
  usage: string,
  io: CliIo,
): { values: Parsed<O>['values']; sub: string; rest: string[] } | { exit: number } {
  let parsed: Parsed<O>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true });
  } catch (error) {
    io.stderr.write(`cortex ${command}: ${(error as Error).message}\n${usage}\n`);
    return { exit: 2 };
  }
  const [sub, ...rest] = parsed.positionals;
  const help = (parsed.values as { help?: boolean }).help === true;
  if (help || sub === undefined) {
    (help ? io.stdout : io.stderr).write(`${usage}\n`);
    return { exit: help ? 0 : 2 };
  }
  return { values: parsed.values, sub, rest };
}
