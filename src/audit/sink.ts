// Fan-out of audit events to every configured sink. Auditing must never break a request: write()
// runs on the completion path of every request, so a failing sink is counted and logged, not thrown.
import type { AuditEvent } from './event.ts';

export interface AuditSink {
  readonly name: string;
  /** Queue one event. May throw; AuditLog contains it. */
  write(event: AuditEvent): void;
  /** Resolves once everything written so far has reached the sink's destination. */
  flush(): Promise<void>;
  /** Flushes, then releases the destination. No writes after this. */
  close(): Promise<void>;
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
  }

  get sinkNames(): string[] {
    return this.#sinks.map((s) => s.sink.name);
  }

  /** Never throws. */
  write(event: AuditEvent): void {
    for (const state of this.#sinks) {
      let result: SinkResult = 'ok';
      if (this.#closed !== undefined) {
        result = 'dropped';
        this.#failed(state, new Error('audit log is closed'));
      } else {
        try {
          state.sink.write(event);
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
