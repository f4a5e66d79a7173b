// `cortex intents list|pending|approve [--api NAME] [--operation 'DELETE /orders/{id}'] [--config FILE] [--stage S]`:
// the operations of the imported APIs with their intents, the changes waiting for approval (exit 1
// when there are some, for CI), and approving them into the lock file.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.ts';
import { isStage } from '../config/merge.ts';
import type { Config, ImportedApiConfig, Stage } from '../config/schema.ts';
import { STAGES } from '../config/schema.ts';
import { formatState } from '../intents/check.ts';
import { fetchApiDocument } from '../intents/document.ts';
import { applyLock, approveChanges, lockPathFor, readLock, sameState, stateOf, writeLock } from '../intents/lock.ts';
import { acquireLockMutex } from '../intents/lock-mutex.ts';

/** How long `approve` waits for a running gateway to finish writing the lock file. */
const MUTEX_WAIT_MS = 5_000;
import type { ImportedOperation, IntentLock, LockOutcome } from '../intents/types.ts';
import { formatProblem } from './check.ts';

export interface IntentsIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env?: NodeJS.ProcessEnv;
}

const USAGE = `usage: cortex intents list|pending|approve [--api NAME] [--operation 'METHOD /path' ...] [--config FILE] [--stage ${STAGES.join('|')}]
  list     every imported operation: api, method and path, intent, tags, source, state
  pending  changed intents waiting for approval (exit 1 when there are some)
  approve  accept the document's intents into the lock file (all pending, or only --operation)
Without --config, the cortex dev config is used.`;

const OPTIONS = {
  api: { type: 'string' },
  operation: { type: 'string', multiple: true },
  config: { type: 'string', short: 'c' },
  stage: { type: 'string', short: 's' },
  help: { type: 'boolean', short: 'h' },
} as const;

interface ApiView {
  api: string;
  cfg: ImportedApiConfig;
  operations: readonly ImportedOperation[];
  lockPath: string;
  lock: IntentLock | undefined;
  outcome: LockOutcome;
}

class Failure extends Error {
  readonly code: number;
  constructor(message: string, code: number) {
    super(message);
    this.code = code;
  }
}

export async function runIntents(argv: string[], io: IntentsIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (error) {
    io.stderr.write(`cortex intents: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const command = positionals[0];
  try {
    if (positionals.length !== 1 || (command !== 'list' && command !== 'pending' && command !== 'approve')) throw new Failure(`give one of list, pending, approve\n${USAGE}`, 2);
    if (v.stage !== undefined && !isStage(v.stage)) throw new Failure(`unknown stage "${v.stage}"; stages are ${STAGES.join(', ')}`, 2);
    if (v.operation !== undefined && command !== 'approve') throw new Failure('--operation only applies to approve', 2);
    const { config, stage } = await load(v.config, v.stage, io);
    const views = await viewApis(config, stage, v.api);
    if (command === 'list') return list(views, io);
    if (command === 'pending') return pending(views, stage, io);
    return approve(views, v.operation, io);
  } catch (error) {
    if (!(error instanceof Failure)) throw error;
    io.stderr.write(`cortex intents: ${error.message}\n`);
    return error.code;
  }
}

async function load(file: string | undefined, stage: string | undefined, io: IntentsIo): Promise<{ config: Config; stage: Stage }> {
  const label = file ?? 'the cortex dev config';
  const text = file === undefined ? (await import('../dev/config.ts')).devConfigText() : undefined;
  const loaded = loadConfig({ file: file ?? 'cortex-dev.yaml', text, stage: stage as Stage | undefined, env: io.env ?? process.env });
  if (!loaded.ok) throw new Failure(`${label} is not valid:\n${loaded.errors.map((p) => `  ${formatProblem(p, label)}`).join('\n')}`, 1);
  return { config: loaded.config, stage: loaded.stage };
}

async function viewApis(config: Config, stage: Stage, only: string | undefined): Promise<ApiView[]> {
  const names = Object.keys(config.apis);
  if (only !== undefined && !names.includes(only)) throw new Failure(`no api "${only}" in the config${names.length > 0 ? `; apis are ${names.join(', ')}` : ''}`, 2);
  const isProtected = config.policy?.protectedStages.includes(stage) ?? false;
  const views: ApiView[] = [];
  for (const api of only !== undefined ? [only] : names) {
    const cfg = config.apis[api] as ImportedApiConfig;
    const fetched = await fetchApiDocument(api, cfg);
    if (!fetched.ok) throw new Failure(fetched.problem, 1);
    const lockPath = lockPathFor(api, cfg);
    const read = readLock(lockPath, api);
    if (!read.ok) throw new Failure(`apis.${api}: ${read.problem}`, 1);
    const operations = fetched.document.operations;
    views.push({ api, cfg, operations, lockPath, lock: read.lock, outcome: applyLock(operations, read.lock, api, isProtected) });
  }
  return views;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n') + '\n';
}

function list(views: ApiView[], io: IntentsIo): number {
  const rows = [['API', 'OPERATION', 'INTENT', 'TAGS', 'SOURCE', 'STATE']];
  for (const view of views) {
    const held = new Set(view.outcome.pending.map((p) => p.key));
    for (const op of view.outcome.operations) {
      const state = op.problem !== undefined ? 'unsupported' : held.has(op.key) ? 'pending' : op.intent === undefined ? 'no-intent' : 'served';
      rows.push([view.api, op.key, op.intent ?? '-', op.tags.join(',') || '-', op.source, state]);
    }
  }
  io.stdout.write(rows.length > 1 ? table(rows) : 'no imported operations\n');
  return 0;
}

function pending(views: ApiView[], stage: Stage, io: IntentsIo): number {
  const changes = views.flatMap((v) => v.outcome.pending);
  if (changes.length === 0) {
    io.stdout.write('no pending changes\n');
    return 0;
  }
  const rows = [['API', 'OPERATION', 'APPROVED', 'PROPOSED']];
  for (const p of changes) rows.push([p.api, p.key, formatState(p.approved), formatState(p.proposed)]);
  io.stdout.write(table(rows));
  io.stdout.write(`${changes.length} pending change${changes.length === 1 ? '' : 's'} (stage ${stage}); approve with cortex intents approve\n`);
  return 1;
}

function approve(views: ApiView[], keys: readonly string[] | undefined, io: IntentsIo): number {
  if (keys !== undefined) {
    const known = new Set(views.flatMap((v) => v.operations.filter((op) => op.problem === undefined).map((op) => op.key)));
    const unknown = keys.filter((k) => !known.has(k));
    if (unknown.length > 0) throw new Failure(`not an operation of the document${views.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, 2);
  }
  let approved = 0;
  for (const view of views) {
    const wanted = keys?.filter((k) => view.operations.some((op) => op.key === k));
    if (wanted !== undefined && wanted.length === 0) continue;
    const release = acquireLockMutex(view.lockPath, MUTEX_WAIT_MS);
    if (release === undefined) throw new Failure(`${view.lockPath} is being written by another process (a running gateway?); try again`, 1);
    try {
      approved += approveOne(view, wanted, io);
    } finally {
      release();
    }
  }
  if (approved > 0) io.stdout.write('a running gateway takes the approved intents at its next refresh (or reload)\n');
  return 0;
}

/** Approves under the lock file's mutex, against the lock as it is now (a gateway may have added operations since it was read). */
function approveOne(view: ApiView, wanted: readonly string[] | undefined, io: IntentsIo): number {
  const current = readLock(view.lockPath, view.api);
  if (!current.ok) throw new Failure(`apis.${view.api}: ${current.problem}`, 1);
  const before = current.lock?.operations ?? {};
  const next = approveChanges(current.lock, view.api, view.operations, wanted);
  const changed: string[] = [];
  for (const op of view.operations) {
    const was = before[op.key];
    const now = next.operations[op.key];
    if (now === undefined || (was !== undefined && sameState(was, now))) continue;
    changed.push(was === undefined ? `  ${op.key}: ${formatState(stateOf(op))} (new)` : `  ${op.key}: ${formatState(was)} → ${formatState(now)}`);
  }
  if (changed.length === 0) {
    io.stdout.write(`${view.api}: nothing to approve\n`);
    return 0;
  }
  writeLock(view.lockPath, next);
  io.stdout.write(`${view.api}: approved in ${view.lockPath}:\n${changed.join('\n')}\n`);
  return changed.length;
}
