// The gateway's side of tamper evidence: one Checkpointer for every durable sink (a checkpoint
// after a committed batch, at most one per checkpointIntervalMs per writer, stored beside the events and appended to audit.checkpoints) and, with
// audit.retention.maxAgeMs, one pruner per durable store. attach() wraps a store so that its
// close(), which the sink calls after its last batch, first writes the shutdown checkpoint.
import { Checkpointer, checkpointFile, checkpointStdout } from './checkpoints.ts';
import type { CheckpointOutput, CheckpointSigner } from './checkpoints.ts';
import { startPruner } from './prune.ts';
import type { PruneLog, Pruner } from './prune.ts';
import type { ChainedRecord, DurableAuditStore } from './record.ts';

export interface TrailIntegrityConfig {
  checkpoints?: { type: 'file'; path: string } | { type: 'stdout' };
  /** Least time between two batch checkpoints of a writer; unset signs after every batch. */
  checkpointIntervalMs?: number;
  retention?: { maxAgeMs?: number; pruneIntervalMs: number };
}

export interface TrailIntegrityDeps {
  /** Cortex's key ring (the gateway's CredentialsRuntime.ring; undefined until it is open). */
  ring: () => { signer(): CheckpointSigner } | undefined;
  log?: PruneLog;
  now?: () => number;
  /** stdout for `checkpoints: { type: stdout }` (tests capture it). */
  stdout?: { write(text: string): unknown };
}

export interface TrailIntegrity {
  /** The batched sinks' onCommitted: signs the sink's new head. */
  onBatchCommitted(sinkName: string, committed: ChainedRecord | readonly ChainedRecord[]): void;
  /** The store as the sink should hold it: checkpoints go beside its events, its close() signs the head first. */
  attach(sinkName: string, store: DurableAuditStore): DurableAuditStore;
  /** Resolves once every checkpoint asked for so far is written. */
  flush(): Promise<void>;
  /** After the audit log closed: any remaining shutdown checkpoint, then the checkpoint file closes. */
  close(): Promise<void>;
}

export function openTrailIntegrity(cfg: TrailIntegrityConfig, deps: TrailIntegrityDeps): TrailIntegrity {
  const output: CheckpointOutput | undefined =
    cfg.checkpoints === undefined ? undefined : cfg.checkpoints.type === 'file' ? checkpointFile(cfg.checkpoints.path) : checkpointStdout(deps.stdout);
  const stores = new Map<string, DurableAuditStore>();
  const pruners = new Map<string, Pruner>();
  const signer = (): CheckpointSigner => {
    const ring = deps.ring();
    if (ring === undefined) throw new Error('the signing keys are not open yet');
    return ring.signer();
  };
  const onError = (err: unknown, what: string): void => deps.log?.error({ err: err instanceof Error ? err.message : String(err) }, what);
  const checkpointer = new Checkpointer({
    signer,
    store: (name) => stores.get(name),
    ...(output === undefined ? {} : { output }),
    ...(cfg.checkpointIntervalMs === undefined ? {} : { intervalMs: cfg.checkpointIntervalMs }),
    ...(deps.now === undefined ? {} : { now: deps.now }),
    onError,
  });
  let open = 0;
  let closed: Promise<void> | undefined;

  const close = (): Promise<void> => {
    closed ??= (async () => {
      await Promise.all([...pruners.values()].map((p) => p.stop()));
      await checkpointer.close();
    })();
    return closed;
  };

  return {
    onBatchCommitted: (sinkName, committed) => checkpointer.onBatchCommitted(sinkName, committed),
    attach(sinkName, store) {
      stores.set(sinkName, store);
      open++;
      const maxAgeMs = cfg.retention?.maxAgeMs;
      if (maxAgeMs !== undefined) {
        pruners.set(
          sinkName,
          startPruner({
            store,
            maxAgeMs,
            intervalMs: cfg.retention?.pruneIntervalMs ?? 3_600_000,
            signer,
            sinkName,
            ...(output === undefined ? {} : { output }),
            ...(deps.now === undefined ? {} : { now: deps.now }),
            ...(deps.log === undefined ? {} : { log: deps.log }),
          }),
        );
      }
      return {
        ...store,
        close: async () => {
          await pruners.get(sinkName)?.stop();
          await checkpointer.closeSink(sinkName);
          await store.close();
          // The last durable store closed: nothing more can be signed.
          if (--open === 0) await close();
        },
      };
    },
    flush: () => checkpointer.flush(),
    close,
  };
}
