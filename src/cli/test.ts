// `cortex test FILE [--config FILE]`: runs a YAML file of policy cases (who, stage, request, the
// decision expected) and exits non-zero on any mismatch, for CI. Exit 0 when every case passes,
// 1 on any mismatch, 2 for a usage error or a case file or config that cannot be used.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Stage } from '../config/schema.ts';
import type { ExplainWorld } from '../policy/explain.ts';
import { formatCaseResult, parseCaseFile, runCase } from '../policy/test-cases.ts';
import type { CaseResult } from '../policy/test-cases.ts';
import { loadWorld } from './explain.ts';
import type { ExplainIo } from './explain.ts';

const USAGE = `usage: cortex test FILE.yaml [--config FILE]
The case file's own config (relative to it) wins over --config; without either, the cortex dev config is used.`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function runTest(argv: string[], io: ExplainIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (error) {
    io.stderr.write(`cortex test: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) {
    io.stderr.write(`cortex test: give one case file\n${USAGE}\n`);
    return 2;
  }
  const file = positionals[0] as string;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    io.stderr.write(`cortex test: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})\n`);
    return 2;
  }
  const cases = parseCaseFile(text);
  if (!cases.ok) {
    io.stderr.write(`cortex test: ${file} is not a valid case file:\n${cases.problems.map((p) => `  ${p}\n`).join('')}`);
    return 2;
  }
  const config = cases.file.config === undefined ? v.config : resolve(dirname(file), cases.file.config);

  // One compiled world per stage, shared by that stage's cases.
  const worlds = new Map<Stage | undefined, ExplainWorld>();
  const results: CaseResult[] = [];
  try {
    for (const c of cases.file.cases) {
      let world = worlds.get(c.stage);
      if (world === undefined) {
        world = await loadWorld(config, c.stage, io, 'cortex test');
        if (world === undefined) return 2;
        worlds.set(c.stage, world);
      }
      const result = runCase(world, c);
      results.push(result);
      io.stdout.write(formatCaseResult(result));
    }
  } finally {
    for (const w of worlds.values()) w.engine?.dispose();
  }
  const failed = results.filter((r) => !r.pass).length;
  io.stdout.write(`${results.length} ${results.length === 1 ? 'case' : 'cases'}: ${results.length - failed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}
