// `cortex audit verify`: checks every writer's hash chain in the trail's query sink against its
// signed checkpoints, those stored beside the events and those of the second place
// (audit.checkpoints's file, or --checkpoints: a checkpoint file or a captured stdout). Prints one
// line per writer; exit 0 when nothing is wrong (an unsigned tail is printed, not a failure), 1 on
// any problem, 2 on a usage error.
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { parseCheckpointLine } from '../audit/checkpoints.ts';
import { querySink } from '../audit/open-query-store.ts';
import { sinkName } from '../audit/open-sinks.ts';
import type { Checkpoint } from '../audit/record.ts';
import { loadPublicKeys, openTrailReader } from '../audit/verify-source.ts';
import type { TrailReader } from '../audit/verify-source.ts';
import { describeWriter, verifyTrail } from '../audit/verify.ts';
import type { Config } from '../config/schema.ts';
import { loadCliConfig, UsageError } from './cli-config.ts';

export interface AuditVerifyIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env?: NodeJS.ProcessEnv;
}

const USAGE = `usage:
  cortex audit verify [--config FILE] [--stage S] [--checkpoints FILE] [--json]
Checks every writer's hash chain against its signed checkpoints (stored beside the events, and the
second place: audit.checkpoints's file, or --checkpoints FILE). Reports the first edited, inserted
or deleted record of each writer; records after the last checkpoint are an unsigned tail (printed,
not verified). Exit 0 when nothing is wrong, 1 on any problem.`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  stage: { type: 'string', short: 's' },
  checkpoints: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The checkpoints of the second place (read line by line: the file can be large), and a note when there is none. */
async function externalCheckpoints(config: Config, flag: string | undefined, sink: string | undefined): Promise<{ list: Checkpoint[]; note?: string }> {
  const target = config.audit.checkpoints;
  const file = flag ?? (target?.type === 'file' ? target.path : undefined);
  if (file === undefined) {
    const why = target?.type === 'stdout' ? 'audit.checkpoints goes to stdout: pass the captured output with --checkpoints FILE' : 'no audit.checkpoints file is configured';
    return { list: [], note: `${why}; checking against the checkpoints stored beside the events only (a rewrite of both is not detected)` };
  }
  if (!existsSync(file)) throw new Error(`no checkpoint file at ${file}`);
  const list: Checkpoint[] = [];
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    const cp = parseCheckpointLine(line, sink);
    if (cp !== undefined) list.push(cp);
  }
  return { list };
}

export async function runAuditVerify(argv: string[], io: AuditVerifyIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let values: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS }>>['values'];
  try {
    values = parseArgs({ args: argv, options: OPTIONS, allowPositionals: false }).values;
  } catch (error) {
    io.stderr.write(`cortex audit verify: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let trail: TrailReader | undefined;
  try {
    const cfg = await loadCliConfig('audit verify', values.config, values.stage, io);
    if (cfg === undefined) return 1;
    const sink = querySink(cfg.config);
    if (sink === undefined) throw new Error('the config has no sqlite or postgres audit sink to verify (audit.sinks)');
    const external = await externalCheckpoints(cfg.config, values.checkpoints, sinkNameOf(cfg.config));
    if (external.note !== undefined) io.stderr.write(`cortex audit verify: ${external.note}\n`);
    const keys = await loadPublicKeys(cfg.config.credentials.signingKeys);
    if (keys === undefined) {
      io.stderr.write('cortex audit verify: credentials.signingKeys.store is memory: the keys that signed the checkpoints are gone with the gateway, so no checkpoint can be verified\n');
    }
    trail = openTrailReader(sink);
    const report = await verifyTrail(trail, { externalCheckpoints: external.list, publicKey: (kid) => keys?.get(kid) });
    if (values.json) io.stdout.write(`${JSON.stringify({ trail: trail.label, ...report })}\n`);
    else {
      for (const w of report.writers) for (const line of describeWriter(w)) io.stdout.write(`${line}\n`);
      if (report.writers.length === 0) io.stdout.write(`the trail is empty (${trail.label})\n`);
      io.stderr.write(report.ok ? `verified: ${report.writers.length} writer(s) in ${trail.label}\n` : `FAILED: the trail in ${trail.label} was changed\n`);
    }
    return report.ok ? 0 : 1;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`cortex audit verify: ${error.message}\n${USAGE}\n`);
      return 2;
    }
    io.stderr.write(`cortex audit verify: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await trail?.close();
  }
}

/** The name the query sink's checkpoint lines carry (lines of other sinks are left out; lines without one apply). */
function sinkNameOf(config: Config): string | undefined {
  const sink = config.audit.sinks.find((s) => s.type === 'sqlite' || s.type === 'postgres');
  return sink === undefined ? undefined : sinkName(sink);
}
