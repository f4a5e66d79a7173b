// The config a CLI command works on: --config FILE (at --stage), or the cortex dev config when no
// file is given, so `npx cortex <command>` works against `npx cortex dev` out of the box.
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
