// Retention: every pruneIntervalMs, each writer's oldest records (older than maxAgeMs) are deleted,
// and a checkpoint signed first (reason 'prune') at the last deleted record's hash anchors the first
// kept record's prevHash, so verify still accepts the chain, now starting at seq > 1. Only a prefix
// of a chain is ever cut (up to the first record young enough to keep), and only a prefix that is
// intact: a tampered record is evidence, and stays. The writer's stored checkpoints below the new
// retention checkpoint go too (verify needs only those at or after the cut); the checkpoint file is
// append-only and rotated by the operator.
import { recordHash } from './chain.ts';
import { checkpointLine, signCheckpoint } from './checkpoints.ts';
import type { CheckpointOutput, CheckpointSigner } from './checkpoints.ts';
import { recordColumns } from './columns.ts';
import { GENESIS_HASH } from './record.ts';
import type { ChainedRecord, DurableAuditStore } from './record.ts';

export interface PruneLog {
  info?(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export interface PruneOptions {
  store: DurableAuditStore;
  maxAgeMs: number;
  signer: () => CheckpointSigner;
  /** The second place (audit.checkpoints), where the prune checkpoint goes too. */
  output?: CheckpointOutput;
  /** The sink's name on the checkpoint's line in the second place. */
  sinkName?: string;
  now?: () => number;
  log?: PruneLog;
  pageSize?: number;
}

export interface PruneResult {
  /** Per writer, the last seq deleted. */
  readonly cuts: Map<string, number>;
  /** Writers left alone because their oldest records are not intact. */
  readonly refused: string[];
}

const PAGE = 10_000;

type Cut = { ok: true; last?: ChainedRecord } | { ok: false; seq: number; why: string };

/** The last record of the writer's oldest run of records older than `beforeMs`, checked link by link. */
async function findCut(store: DurableAuditStore, writer: string, beforeMs: number, pageSize: number): Promise<Cut> {
  let prev: ChainedRecord | undefined;
  let from = 1;
  let anchors: Map<number, string> | undefined;
  for (;;) {
    const page = await store.records(writer, from, pageSize);
    for (const r of page) {
      if (recordColumns(r).timeMs >= beforeMs) return { ok: true, ...(prev === undefined ? {} : { last: prev }) };
      if (prev === undefined && r.seq > 1) {
        anchors ??= new Map((await store.checkpoints(writer)).filter((c) => c.reason === 'prune').map((c) => [c.seq, c.hash]));
        if (anchors.get(r.seq - 1) !== r.prevHash) return { ok: false, seq: r.seq, why: 'the chain starts without a retention checkpoint before it' };
      }
      const expectedPrev = prev === undefined ? (r.seq === 1 ? GENESIS_HASH : r.prevHash) : prev.hash;
      if (prev !== undefined && r.seq !== prev.seq + 1) return { ok: false, seq: prev.seq + 1, why: 'records missing' };
      if (r.prevHash !== expectedPrev) return { ok: false, seq: r.seq, why: 'the chain is broken' };
      if (recordHash(r.prevHash, r.json) !== r.hash) return { ok: false, seq: r.seq, why: 'the record was edited' };
      prev = r;
    }
    if (page.length < pageSize) return { ok: true, ...(prev === undefined ? {} : { last: prev }) };
    from = (page.at(-1) as ChainedRecord).seq + 1;
  }
}

/** One retention pass: sign the cut of every writer, then delete up to it. */
export async function pruneTrail(opts: PruneOptions): Promise<PruneResult> {
  const { store } = opts;
  const now = (opts.now ?? Date.now)();
  const beforeMs = now - opts.maxAgeMs;
  const cuts = new Map<string, number>();
  const refused: string[] = [];
  for (const writer of await store.writers()) {
    const cut = await findCut(store, writer, beforeMs, opts.pageSize ?? PAGE);
    if (!cut.ok) {
      refused.push(writer);
      opts.log?.error({ writer, seq: cut.seq }, `audit retention: not pruning writer ${writer}: seq ${cut.seq}: ${cut.why} (run cortex audit verify)`);
      continue;
    }
    if (cut.last === undefined) continue;
    const cp = await signCheckpoint({ writer, seq: cut.last.seq, hash: cut.last.hash, time: new Date(now).toISOString(), reason: 'prune' }, opts.signer());
    // Stored first: a prune whose checkpoint could not be kept beside the events deletes nothing.
    await store.writeCheckpoint(cp);
    await opts.output?.append(checkpointLine(cp, opts.sinkName));
    cuts.set(writer, cut.last.seq);
  }
  if (cuts.size === 0) return { cuts, refused };
  /** The writers whose records were cut exactly at their retention checkpoint. */
  const exact = new Map(cuts);
  if (store.pruneThrough !== undefined) await store.pruneThrough(cuts);
  else if (refused.length > 0) {
    // This store can only cut by time, for every writer at once: that would delete the evidence too.
    opts.log?.error({ refused }, 'audit retention: nothing pruned while a writer\'s old records are not intact');
    return { cuts: new Map(), refused };
  } else {
    const firstKept = await store.prune(beforeMs);
    for (const [writer, seq] of cuts) {
      const kept = firstKept.get(writer);
      if (kept === undefined || kept === seq + 1) continue;
      exact.delete(writer);
      opts.log?.error({ writer, cut: seq, firstKept: kept }, 'audit retention: the store deleted other records than the signed cut');
    }
  }
  // After the records: a failure here leaves old checkpoints, never records without their anchor.
  if (exact.size > 0) await store.pruneCheckpoints?.(exact);
  opts.log?.info?.({ writers: cuts.size, before: new Date(beforeMs).toISOString() }, 'audit retention: pruned');
  return { cuts, refused };
}

export interface Pruner {
  /** Runs one pass now (after the one in flight, if any). */
  runNow(): Promise<PruneResult>;
  stop(): Promise<void>;
}

/** Runs pruneTrail every `intervalMs` on an unref'd timer, one pass at a time. */
export function startPruner(opts: PruneOptions & { intervalMs: number }): Pruner {
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const runNow = (): Promise<PruneResult> => {
    const run = running.then(() => pruneTrail(opts));
    running = run.catch((err: unknown) => opts.log?.error({ err: (err as Error).message }, 'audit retention: prune failed'));
    return run;
  };
  const timer = setInterval(() => {
    if (!stopped) void runNow().catch(() => undefined);
  }, opts.intervalMs);
  timer.unref();
  return {
    runNow,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
