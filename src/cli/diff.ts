// `cortex diff --stage A --stage B [--config FILE]` or `cortex diff --config OLD --config NEW [--stage S]`:
// who gains and loses which intents, per identity-provider group (through each side's claim-to-role
// mapping), service client and agent client; and hand-written policies added, removed or changed.
// A report: exit 0 whatever it finds, 2 for a usage error or a config that does not load.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.ts';
import { isStage } from '../config/merge.ts';
import { STAGES } from '../config/schema.ts';
import type { Stage } from '../config/schema.ts';
import { diffSides, formatDiff } from '../policy/stage-diff.ts';
import type { DiffSide } from '../policy/stage-diff.ts';
import { formatProblem } from './check.ts';
import type { ExplainIo } from './explain.ts';

const USAGE = `usage: cortex diff --stage A --stage B [--config FILE] [--json]
       cortex diff --config OLD.yaml --config NEW.yaml [--stage ${STAGES.join('|')}] [--json]
Without --config, the cortex dev config is used.`;

const OPTIONS = {
  config: { type: 'string', short: 'c', multiple: true },
  stage: { type: 'string', short: 's', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function runDiff(argv: string[], io: ExplainIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let v: { config?: string[] | undefined; stage?: string[] | undefined; json?: boolean | undefined; help?: boolean | undefined };
  try {
    v = parseArgs({ args: argv, options: OPTIONS }).values;
  } catch (error) {
    io.stderr.write(`cortex diff: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (v.help) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const configs = v.config ?? [];
  const stages = v.stage ?? [];
  const unknown = stages.find((s) => !isStage(s));
  if (unknown !== undefined) return usage(io, `unknown stage "${unknown}"; stages are ${STAGES.join(', ')}`);
  let plan: [{ file: string | undefined; stage: Stage | undefined }, { file: string | undefined; stage: Stage | undefined }];
  if (stages.length === 2 && configs.length <= 1) plan = [{ file: configs[0], stage: stages[0] as Stage }, { file: configs[0], stage: stages[1] as Stage }];
  else if (configs.length === 2 && stages.length <= 1) plan = [{ file: configs[0], stage: stages[0] as Stage | undefined }, { file: configs[1], stage: stages[0] as Stage | undefined }];
  else return usage(io, 'compare two stages (--stage A --stage B) or two config files (--config OLD --config NEW)');

  const devText = configs.length === 0 ? (await import('../dev/config.ts')).devConfigText() : undefined;
  const sides: DiffSide[] = [];
  for (const { file, stage } of plan) {
    const loaded = loadConfig({ file: file ?? 'cortex-dev.yaml', text: file === undefined ? devText : undefined, stage, env: io.env ?? process.env });
    const label = file ?? 'the cortex dev config';
    if (!loaded.ok) {
      io.stderr.write(`cortex diff: ${label}${stage === undefined ? '' : ` (stage ${stage})`} is not valid:\n`);
      for (const p of loaded.errors) io.stderr.write(`  ${formatProblem(p, label)}\n`);
      return 2;
    }
    sides.push({ label: configs.length === 2 ? `${label} [${loaded.stage}]` : loaded.stage, config: loaded.config });
  }
  const diff = diffSides(sides[0] as DiffSide, sides[1] as DiffSide);
  io.stdout.write(v.json ? `${JSON.stringify(diff, null, 2)}\n` : formatDiff(diff));
  return 0;
}

function usage(io: ExplainIo, message: string): number {
  io.stderr.write(`cortex diff: ${message}\n${USAGE}\n`);
  return 2;
}
