// Signed checkpoints of a writer's hash chain: (writer, seq, hash) of its head, signed with Cortex's
// key ring as a compact JWS. The Checkpointer signs the head a sink has committed after a batch
// (coalesced: at most one per checkpointIntervalMs per sink and writer, one signing in flight or
// one scheduled, skipped when nothing is new), on flush() and at shutdown, stores it beside the
// events, and appends it to a second place (a JSON-lines file or stdout), so a database rewritten
// together with its own checkpoints is still caught (verify.ts).
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import type { KeyObject } from 'node:crypto';
import { CompactSign, compactVerify, decodeProtectedHeader } from 'jose';
import type { Checkpoint, ChainedRecord, DurableAuditStore } from './record.ts';

export const CHECKPOINT_TYP = 'cortex-audit-checkpoint+jwt';
/** The `type` of a checkpoint's line in the second place (stdout mixes it with log lines). */
export const CHECKPOINT_LINE_TYPE = 'cortex.audit.checkpoint';
const ALGORITHMS = ['ES256', 'EdDSA', 'RS256'];

export type CheckpointFields = Pick<Checkpoint, 'writer' | 'seq' | 'hash' | 'time' | 'reason'>;

export interface CheckpointSigner {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: KeyObject;
}

export type PublicKeyLookup = (kid: string) => KeyObject | undefined;

export type CheckpointCheck = { ok: true; fields: CheckpointFields } | { ok: false; problem: string };

export async function signCheckpoint(fields: CheckpointFields, signer: CheckpointSigner): Promise<Checkpoint> {
  const payload: CheckpointFields = { writer: fields.writer, seq: fields.seq, hash: fields.hash, time: fields.time, reason: fields.reason };
  const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: CHECKPOINT_TYP })
    .sign(signer.privateKey);
  return { ...payload, kid: signer.kid, jws };
}

function isFields(v: unknown): v is CheckpointFields {
  const o = v as Partial<CheckpointFields> | null;
  return (
    typeof o === 'object' && o !== null && typeof o.writer === 'string' && Number.isSafeInteger(o.seq) && (o.seq as number) >= 0 &&
    typeof o.hash === 'string' && /^[0-9a-f]{64}$/.test(o.hash) && typeof o.time === 'string' && (o.reason === 'batch' || o.reason === 'shutdown' || o.reason === 'prune')
  );
}

/**
 * Checks the signature with the public key of the JWS's kid and returns the signed fields: they,
 * not the checkpoint's stored columns, are what a verifier may trust. A stored column that differs
 * from the signed payload is a problem too (someone edited the row).
 */
export async function verifyCheckpoint(cp: Pick<Checkpoint, 'jws'> & Partial<Checkpoint>, publicKey: PublicKeyLookup): Promise<CheckpointCheck> {
  let kid: string | undefined;
  try {
    const header = decodeProtectedHeader(cp.jws);
    if (header.typ !== CHECKPOINT_TYP) return { ok: false, problem: `not a checkpoint (typ ${String(header.typ)})` };
    kid = header.kid;
  } catch {
    return { ok: false, problem: 'not a compact JWS' };
  }
  if (kid === undefined) return { ok: false, problem: 'no kid' };
  const key = publicKey(kid);
  if (key === undefined) return { ok: false, problem: `signed by an unknown key (kid ${kid})` };
  let payload: unknown;
  try {
    const r = await compactVerify(cp.jws, key, { algorithms: ALGORITHMS });
    payload = JSON.parse(new TextDecoder().decode(r.payload));
  } catch (error) {
    return { ok: false, problem: `signature invalid (kid ${kid}): ${(error as Error).message}` };
  }
  if (!isFields(payload)) return { ok: false, problem: 'signed payload is not a checkpoint' };
  for (const f of ['writer', 'seq', 'hash', 'time', 'reason', 'kid'] as const) {
    const signed = f === 'kid' ? kid : payload[f];
    if (cp[f] !== undefined && cp[f] !== signed) return { ok: false, problem: `stored ${f} differs from the signed one` };
  }
  return { ok: true, fields: payload };
}

/** One line of the second place. */
export function checkpointLine(cp: Checkpoint, sink?: string): string {
  return `${JSON.stringify({ type: CHECKPOINT_LINE_TYPE, ...(sink === undefined ? {} : { sink }), ...cp })}\n`;
}

/**
 * The checkpoint on one line of the second place, or undefined for any other line (a captured
 * stdout has log lines in between). With `sink`, a line made for another sink is left out.
 */
export function parseCheckpointLine(line: string, sink?: string): Checkpoint | undefined {
  if (!line.includes(CHECKPOINT_LINE_TYPE)) return undefined;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const { type, sink: lineSink, kid, jws } = o;
  if (type !== CHECKPOINT_LINE_TYPE || typeof jws !== 'string' || typeof kid !== 'string' || !isFields(o)) return undefined;
  if (sink !== undefined && lineSink !== undefined && lineSink !== sink) return undefined;
  return { writer: o.writer, seq: o.seq, hash: o.hash, time: o.time, reason: o.reason, kid, jws };
}

export function parseCheckpointLines(text: string, sink?: string): Checkpoint[] {
  return text.split('\n').flatMap((line) => parseCheckpointLine(line, sink) ?? []);
}

/** The second place: appends one line per checkpoint. */
export interface CheckpointOutput {
  append(line: string): Promise<void>;
  close(): Promise<void>;
}

/** A JSON-lines file (0600), each line fsync'd before the append resolves. */
export function checkpointFile(path: string): CheckpointOutput {
  let handle: Promise<FileHandle> | undefined;
  let tail: Promise<void> = Promise.resolve();
  return {
    append(line) {
      const run = tail.then(async () => {
        handle ??= mkdir(dirname(path), { recursive: true, mode: 0o700 }).then(() => open(path, 'a', 0o600));
        const fh = await handle;
        await fh.write(line);
        await fh.sync();
      });
      tail = run.catch(() => undefined);
      return run;
    },
    async close() {
      await tail;
      if (handle !== undefined) await (await handle).close();
    },
  };
}

export function checkpointStdout(out: { write(text: string): unknown } = process.stdout): CheckpointOutput {
  return {
    append(line) {
      out.write(line);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}

export interface CheckpointerOptions {
  /** The key that signs now (the ring's signer()). */
  signer: () => CheckpointSigner;
  /** Where a sink's checkpoints are stored beside its events (a durable sink's store). */
  store?: (sinkName: string) => Pick<DurableAuditStore, 'writeCheckpoint'> | undefined;
  /** The second place (audit.checkpoints); none keeps checkpoints beside the events only. */
  output?: CheckpointOutput;
  /** Least time between two batch checkpoints of a writer (audit.checkpointIntervalMs); 0 signs after every batch. */
  intervalMs?: number;
  now?: () => number;
  /** Runs `fn` after `delayMs` and returns its cancel (default: an unref'd setTimeout). */
  schedule?: (fn: () => void, delayMs: number) => () => void;
  onError?: (err: unknown, what: string) => void;
}

interface Head {
  latest: ChainedRecord;
  signedSeq: number;
  /** When the last checkpoint of this head was made (the clock's ms). */
  signedAt: number;
  running: Promise<void> | undefined;
  /** The one pending batch checkpoint, when the last one is younger than the interval. */
  cancelTimer: (() => void) | undefined;
}

function unrefTimer(fn: () => void, delayMs: number): () => void {
  const t = setTimeout(fn, delayMs).unref();
  return () => clearTimeout(t);
}

export class Checkpointer {
  readonly #opts: CheckpointerOptions;
  readonly #now: () => number;
  readonly #intervalMs: number;
  readonly #schedule: (fn: () => void, delayMs: number) => () => void;
  /** Per sink, per writer: the newest committed record and the newest seq signed. */
  readonly #heads = new Map<string, Map<string, Head>>();
  readonly #done = new Set<string>();
  #closed: Promise<void> | undefined;

  constructor(opts: CheckpointerOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#intervalMs = opts.intervalMs ?? 0;
    this.#schedule = opts.schedule ?? unrefTimer;
  }

  /**
   * After a batch was committed to `sinkName` (its records, or just the last): signs the new head
   * now, or, when the writer's last checkpoint is younger than the interval, at most one checkpoint
   * at last + interval that covers the newest record committed by then.
   */
  onBatchCommitted(sinkName: string, committed: ChainedRecord | readonly ChainedRecord[]): void {
    if (this.#closed !== undefined || this.#done.has(sinkName)) return;
    const records = Array.isArray(committed) ? (committed as readonly ChainedRecord[]) : [committed as ChainedRecord];
    const last = new Map<string, ChainedRecord>();
    for (const r of records) if ((last.get(r.writer)?.seq ?? -1) < r.seq) last.set(r.writer, r);
    for (const r of last.values()) {
      const head = this.#head(sinkName, r);
      if (r.seq > head.latest.seq) head.latest = r;
      this.#request(sinkName, head);
    }
  }

  /** Signs every head with records not signed yet at once, and resolves once all are stored and written out. */
  async flush(): Promise<void> {
    for (const [sink, writers] of this.#heads) {
      for (const head of writers.values()) {
        while (head.running !== undefined) await head.running;
        this.#cancel(head);
        if (!this.#done.has(sink) && head.latest.seq > head.signedSeq) {
          head.running = this.#signOnce(sink, head);
          await head.running;
        }
      }
    }
  }

  /**
   * Signs the heads of one sink once more (reason 'shutdown'), before that sink's store closes;
   * later batches of the sink are ignored.
   */
  async closeSink(sinkName: string): Promise<void> {
    const writers = this.#heads.get(sinkName);
    if (writers === undefined || this.#done.has(sinkName)) return;
    this.#done.add(sinkName);
    for (const head of writers.values()) {
      this.#cancel(head);
      while (head.running !== undefined) await head.running;
      await this.#emit(sinkName, head, 'shutdown');
    }
  }

  /** Shutdown checkpoints of every sink not closed yet, then closes the second place. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      for (const sink of this.#heads.keys()) await this.closeSink(sink);
      await this.#opts.output?.close();
    })();
    return this.#closed;
  }

  #head(sinkName: string, r: ChainedRecord): Head {
    let writers = this.#heads.get(sinkName);
    if (writers === undefined) this.#heads.set(sinkName, (writers = new Map<string, Head>()));
    let head = writers.get(r.writer);
    if (head === undefined) writers.set(r.writer, (head = { latest: r, signedSeq: 0, signedAt: -Infinity, running: undefined, cancelTimer: undefined }));
    return head;
  }

  /** Nothing new, a signing in flight or one already scheduled: that one covers the newest record. */
  #request(sinkName: string, head: Head): void {
    if (head.latest.seq <= head.signedSeq || head.running !== undefined || head.cancelTimer !== undefined || this.#done.has(sinkName)) return;
    const wait = head.signedAt + this.#intervalMs - this.#now();
    if (wait <= 0) {
      head.running = this.#signOnce(sinkName, head);
      return;
    }
    head.cancelTimer = this.#schedule(() => {
      head.cancelTimer = undefined;
      this.#request(sinkName, head);
    }, wait);
  }

  #cancel(head: Head): void {
    head.cancelTimer = void head.cancelTimer?.();
  }

  /** One batch checkpoint; batches committed meanwhile are covered by the next one (now or scheduled). */
  async #signOnce(sinkName: string, head: Head): Promise<void> {
    try {
      await this.#emit(sinkName, head, 'batch');
    } finally {
      head.running = undefined;
    }
    this.#request(sinkName, head);
  }

  async #emit(sinkName: string, head: Head, reason: Checkpoint['reason']): Promise<void> {
    const r = head.latest;
    head.signedSeq = r.seq;
    const now = this.#now();
    head.signedAt = now;
    let cp: Checkpoint;
    try {
      cp = await signCheckpoint({ writer: r.writer, seq: r.seq, hash: r.hash, time: new Date(now).toISOString(), reason }, this.#opts.signer());
    } catch (err) {
      this.#opts.onError?.(err, 'audit checkpoint: signing failed');
      return;
    }
    await Promise.all([
      this.#opts.store?.(sinkName)?.writeCheckpoint(cp).catch((err: unknown) => this.#opts.onError?.(err, 'audit checkpoint: storing it beside the events failed')),
      this.#opts.output?.append(checkpointLine(cp, sinkName)).catch((err: unknown) => this.#opts.onError?.(err, 'audit checkpoint: writing it to audit.checkpoints failed')),
    ]);
  }
}
