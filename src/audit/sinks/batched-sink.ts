// The AuditSink in front of a durable store: write() only queues (O(1), on the request path); a
// batch of up to maxEvents (or whatever maxDelayMs gathered) is written in one transaction, one
// batch at a time per sink so records reach the store in seq order. A failed batch goes to the
// spool, and so does every later batch while the spool holds anything (order is kept); a retry loop
// (backoff 0.5 s to 10 s) replays the spool into the store and truncates it once committed.
import type { ChainedRecord, DurableAuditStore } from '../record.ts';
import type { AuditSink, SinkStats } from '../sink.ts';
import type { Spool } from '../spool.ts';

export interface BatchedSinkOptions {
  name: string;
  store: Pick<DurableAuditStore, 'writeBatch' | 'close'>;
  spool: Spool;
  maxEvents: number;
  maxDelayMs: number;
  /** After each batch committed to the store (the checkpoint writer signs the new head). */
  onCommitted?: (records: readonly ChainedRecord[]) => void;
  onError?: (err: unknown, what: string) => void;
}

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;

export function createBatchedSink(opts: BatchedSinkOptions): AuditSink {
  const { store, spool, maxEvents, maxDelayMs } = opts;
  let queue: ChainedRecord[] = [];
  let timer: NodeJS.Timeout | undefined;
  let pumping: Promise<void> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let retrying: Promise<void> | undefined;
  let retryDelay = RETRY_MIN_MS;
  /** The store failed its last write and has not answered since. */
  let down = false;
  /** Events were lost since the last successful write (store down and spool full or unwritable). */
  let losing = false;
  let closed: Promise<void> | undefined;
  const stats: SinkStats = { queueDepth: 0, spoolBytes: 0, dropped: 0, batchesOk: 0, batchesError: 0, events: 0 };

  function committed(records: readonly ChainedRecord[]): void {
    stats.batchesOk++;
    stats.events += records.length;
    if (records.length > 0) opts.onCommitted?.(records);
  }

  function toSpool(records: readonly ChainedRecord[]): void {
    try {
      const r = spool.append(records);
      stats.dropped += r.dropped;
      losing = r.dropped > 0;
    } catch (err) {
      stats.dropped += records.length;
      losing = true;
      opts.onError?.(err, 'spool append failed');
    }
    scheduleRetry();
  }

  async function deliver(batch: ChainedRecord[]): Promise<void> {
    if (down || !spool.empty) return toSpool(batch);
    try {
      await store.writeBatch(batch);
      committed(batch);
    } catch (err) {
      stats.batchesError++;
      down = true;
      opts.onError?.(err, 'audit batch write failed; spooling');
      toSpool(batch);
    }
  }

  function take(): ChainedRecord[] {
    if (queue.length <= maxEvents) {
      const all = queue;
      queue = [];
      return all;
    }
    return queue.splice(0, maxEvents);
  }

  function pump(): Promise<void> {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (pumping !== undefined || queue.length === 0) return pumping ?? Promise.resolve();
    const run = async (): Promise<void> => {
      while (queue.length > 0) await deliver(take());
    };
    // Assigned before the loop's first await can clear it.
    pumping = run().finally(() => (pumping = undefined));
    return pumping;
  }

  /** One pass over the spool: replays it batch by batch; any failure schedules the next pass. */
  async function replay(): Promise<void> {
    try {
      if (spool.empty && down) await store.writeBatch([]);
      while (!spool.empty) {
        const { records, bytes } = spool.peek(maxEvents);
        if (records.length > 0) {
          await store.writeBatch(records);
          committed(records);
        }
        spool.commit(bytes);
      }
      down = false;
      losing = false;
      retryDelay = RETRY_MIN_MS;
    } catch (err) {
      stats.batchesError++;
      down = true;
      retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS);
      opts.onError?.(err, 'audit spool replay failed');
      scheduleRetry();
    }
  }

  function runReplay(): Promise<void> {
    if (retryTimer !== undefined) clearTimeout(retryTimer);
    retryTimer = undefined;
    retrying ??= replay().finally(() => (retrying = undefined));
    return retrying;
  }

  function scheduleRetry(): void {
    if (retryTimer !== undefined || retrying !== undefined || closed !== undefined) return;
    retryTimer = setTimeout(() => void runReplay(), retryDelay);
    retryTimer.unref();
  }

  // A spool left by the previous run is replayed at startup, before anything newer.
  if (!spool.empty) setImmediate(() => void runReplay());

  async function flush(): Promise<void> {
    await pump();
    if (retrying !== undefined) await retrying;
    if (!spool.empty || down) await runReplay();
  }

  return {
    name: opts.name,
    write(record) {
      if (closed !== undefined) throw new Error('audit sink is closed');
      queue.push(record);
      if (queue.length === maxEvents) setImmediate(() => void pump());
      else if (timer === undefined) {
        timer = setTimeout(() => void pump(), maxDelayMs);
        timer.unref();
      }
    },
    flush,
    close() {
      closed ??= (async () => {
        await flush();
        if (retryTimer !== undefined) clearTimeout(retryTimer);
        spool.close();
        await store.close();
      })();
      return closed;
    },
    recording: () => !losing,
    stats() {
      stats.queueDepth = queue.length;
      stats.spoolBytes = spool.bytes;
      return { ...stats };
    },
  };
}
