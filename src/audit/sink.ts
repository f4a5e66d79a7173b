// Fan-out of audit events to every configured sink. Each event is chained once (chain.ts) and the
// same ChainedRecord goes to every sink. Auditing must never break a request: write() runs on the
// completion path of every request, so it only queues, and a failing sink is counted and logged,
// not thrown.
import { createChain } from './chain.ts';
import type { Chain } from './chain.ts';
import type { AuditEvent } from './event.ts';
import type { ChainedRecord } from './record.ts';

/** A sink's counters, read when Prometheus scrapes (src/telemetry/audit-metrics.ts). */
export interface SinkStats {
  queueDepth: number;
  spoolBytes: number;
  dropped: number;
  batchesOk: number;
  batchesError: number;
  /** Events committed to the destination. */
  events: number;
}

export interface AuditSink {
  readonly name: string;
  /** Queue one record (O(1)). May throw; AuditLog contains it. */
  write(record: ChainedRecord): void;
  /** Resolves once everything written so far has reached the destination, or (a durable sink that
   * is down) its spool, after one replay attempt. */
  flush(): Promise<void>;
  /** Flushes, then releases the destination. No writes after this. */
  close(): Promise<void>;
  /** false while this sink loses events (destination failing and its spool full or unwritable). */
  recording?(): boolean;
  stats?(): SinkStats;
}

export type SinkResult = 'ok' | 'dropped';
export type SinkResultCallback = (sink: string, result: SinkResult) => void;

/** The slice of a pino logger AuditLog needs. */
export interface AuditLogLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface AuditLogOptions {
  onResult?: SinkResultCallback;
  log?: AuditLogLogger;
  /** Minimum gap between two failure logs of one sink; failures in between are only counted. */
  logIntervalMs?: number;
  now?: () => number;
  /** The writer's chain; a new writer id by default. */
  chain?: Chain;
  /** audit.failClosed: refusing() turns true while no sink can record. */
  failClosed?: boolean;
}

interface SinkState {
  readonly sink: AuditSink;
  lastLogAt: number;
  suppressed: number;
}

function errorInfo(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === undefined ? { message: err.message } : { message: err.message, code };
  }
  return { message: String(err) };
}

export class AuditLog {
  readonly #sinks: readonly SinkState[];
  readonly #onResult: SinkResultCallback | undefined;
  readonly #log: AuditLogLogger | undefined;
  readonly #logIntervalMs: number;
  readonly #now: () => number;
  readonly #chain: Chain;
  readonly #failClosed: boolean;
  readonly #subscribers = new Set<(record: ChainedRecord) => void>();
  #closed: Promise<void> | undefined;

  constructor(sinks: readonly AuditSink[], opts: AuditLogOptions = {}) {
    const names = new Set<string>();
    for (const s of sinks) {
      if (names.has(s.name)) throw new Error(`duplicate audit sink name: ${s.name}`);
      names.add(s.name);
    }
    this.#sinks = sinks.map((sink) => ({ sink, lastLogAt: -Infinity, suppressed: 0 }));
    this.#onResult = opts.onResult;
    this.#log = opts.log;
    this.#logIntervalMs = opts.logIntervalMs ?? 10_000;
    this.#now = opts.now ?? Date.now;
    this.#chain = opts.chain ?? createChain();
    this.#failClosed = opts.failClosed ?? false;
  }

  get writer(): string {
    return this.#chain.writer;
  }

  /** The last chained record's seq and hash. */
  head(): { seq: number; hash: string } {
    return this.#chain.head();
  }

  /** true while at least one sink records (or spools) events. */
  recording(): boolean {
    return this.#sinks.some((s) => s.sink.recording?.() ?? true);
  }

  /** With failClosed: true while no event could be recorded, so new requests are refused. */
  refusing(): boolean {
    return this.#failClosed && !this.recording();
  }

  stats(): Record<string, SinkStats> {
    const out: Record<string, SinkStats> = {};
    for (const { sink } of this.#sinks) {
      const s = sink.stats?.();
      if (s !== undefined) out[sink.name] = s;
    }
    return out;
  }

  get sinkNames(): string[] {
    return this.#sinks.map((s) => s.sink.name);
  }

  /** Calls `listener` synchronously with every record chained from now on (GET /api/events); returns the unsubscribe. */
  subscribe(listener: (record: ChainedRecord) => void): () => void {
    this.#subscribers.add(listener);
    return () => this.#subscribers.delete(listener);
  }

  /** Never throws. */
  write(event: AuditEvent): void {
    let record: ChainedRecord | undefined;
    if (this.#closed === undefined) record = this.#chain.next(event);
    if (record !== undefined) this.#publish(record);
    for (const state of this.#sinks) {
      let result: SinkResult = 'ok';
      if (record === undefined) {
        result = 'dropped';
        this.#failed(state, new Error('audit log is closed'));
      } else {
        try {
          state.sink.write(record);
        } catch (err) {
          result = 'dropped';
          this.#failed(state, err);
        }
      }
      this.#report(state.sink.name, result);
    }
  }

  /** Flushes every sink; a failing sink is logged, never rejected to the caller. */
  async flush(): Promise<void> {
    await this.#settle('flush', (s) => s.flush());
  }

  /** Closes every sink once; later calls return the same promise. */
  close(): Promise<void> {
    this.#closed ??= this.#settle('close', (s) => s.close());
    return this.#closed;
  }

  async #settle(op: string, fn: (s: AuditSink) => Promise<void>): Promise<void> {
    const results = await Promise.allSettled(this.#sinks.map((s) => fn(s.sink)));
    results.forEach((r, i) => {
      if (r.status === 'rejected') {
        this.#log?.warn({ sink: this.#sinks[i]?.sink.name, err: errorInfo(r.reason) }, `audit sink ${op} failed`);
      }
    });
  }

  #publish(record: ChainedRecord): void {
    for (const listener of this.#subscribers) {
      try {
        listener(record);
      } catch {
        // A live viewer's failure is its own; the request being recorded goes on.
      }
    }
  }

  #report(sink: string, result: SinkResult): void {
    if (this.#onResult === undefined) return;
    try {
      this.#onResult(sink, result);
    } catch {
      // A broken metrics callback must not turn into a failed request either.
    }
  }

  #failed(state: SinkState, err: unknown): void {
    const now = this.#now();
    if (now - state.lastLogAt < this.#logIntervalMs) {
      state.suppressed++;
      return;
    }
    const suppressed = state.suppressed;
    state.lastLogAt = now;
    state.suppressed = 0;
    try {
      this.#log?.warn({ sink: state.sink.name, err: errorInfo(err), suppressed }, 'audit event dropped');
    } catch {
      // The logger is the last resort; nothing left to tell.
    }
  }
}

export function createAuditLog(
  sinks: readonly AuditSink[],
  onResult?: SinkResultCallback,
  log?: AuditLogLogger,
): AuditLog {
  const opts: AuditLogOptions = {};
  if (onResult !== undefined) opts.onResult = onResult;
  if (log !== undefined) opts.log = log;
  return new AuditLog(sinks, opts);
}
