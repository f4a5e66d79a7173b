// Audit records as JSON lines, to a file or stdout: `{ writer, seq, prevHash, hash, event }` per
// line (docs/audit-event.md), the event being the exact text that was hashed. Lines are batched here (an array and a character
// count, joined once per batch) and each batch goes to sonic-boom as one write: sonic-boom measures
// the byte length of its pending buffer on every write() call, which costs O(buffer) per event when
// fed line by line. A short unref'd timer pushes a quiet gateway's last events out promptly without
// keeping the process alive.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import sonicBoom from 'sonic-boom';
import type { ChainedRecord } from './record.ts';
import type { AuditSink } from './sink.ts';

// sonic-boom is CommonJS: the class is only reachable through the default export at runtime.
const { SonicBoom } = sonicBoom;

export interface JsonlSinkOptions {
  /** Characters of JSON lines gathered before a batch is handed to the writer. */
  batchChars?: number;
  /** Longest time an event waits in the batch. */
  flushIntervalMs?: number;
  /** Buffer cap while the destination is slow or broken; batches past it are dropped (and counted). */
  maxBufferBytes?: number;
  name?: string;
}

const DEFAULTS = { batchChars: 64 * 1024, flushIntervalMs: 200, maxBufferBytes: 16 * 1024 * 1024 };

// A process writes one chain: its writer's JSON is made once, not per line.
let lastWriter = '';
let writerPrefix = '';

/** One record as a JSON line; the event is spliced in as the exact string that was hashed. */
export function recordLine(r: ChainedRecord): string {
  if (r.writer !== lastWriter) {
    lastWriter = r.writer;
    writerPrefix = `{"writer":${JSON.stringify(r.writer)},"seq":`;
  }
  return `${writerPrefix}${r.seq},"prevHash":"${r.prevHash}","hash":"${r.hash}","event":${r.json}}\n`;
}

export function createJsonlSink(path: string, opts: JsonlSinkOptions = {}): AuditSink {
  const toStdout = path === 'stdout';
  const flushIntervalMs = opts.flushIntervalMs ?? DEFAULTS.flushIntervalMs;
  const batchChars = opts.batchChars ?? DEFAULTS.batchChars;
  // The directory may hold identities and access history: keep it private like the file.
  if (!toStdout) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });

  const stream = new SonicBoom({
    dest: toStdout ? 1 : path,
    minLength: 0,
    maxWrite: 1024 * 1024,
    maxLength: opts.maxBufferBytes ?? DEFAULTS.maxBufferBytes,
    append: true,
    mode: 0o600,
    sync: false,
    // Each batch is encoded once, here: in its default mode sonic-boom measures the UTF-8 length of
    // the new batch and of its pending buffer on every write, then encodes it again to write it.
    contentMode: 'buffer',
  });

  let batch: string[] = [];
  let batchLength = 0;
  let ready = false;
  let openFailed = false;
  let droppedEvents = 0;
  // An async failure (open, write) or a drop is surfaced by the next write() so AuditLog counts it.
  let failure: Error | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closing: Promise<void> | undefined;

  stream.once('ready', () => {
    ready = true;
  });
  stream.on('error', (err: Error) => {
    if (!ready) openFailed = true;
    failure = err;
  });

  /** Hands the gathered lines to sonic-boom as one string. */
  function handOver(): void {
    if (batch.length === 0) return;
    const lines = batch.length;
    const data = Buffer.from(batch.join(''), 'utf8');
    batch = [];
    batchLength = 0;
    let dropped = false;
    const onDrop = () => (dropped = true);
    stream.once('drop', onDrop);
    stream.write(data as unknown as string); // contentMode 'buffer' takes Buffers; its types say string
    stream.off('drop', onDrop);
    if (dropped) droppedEvents += lines;
  }

  const tick = (): void => {
    timer = undefined;
    if (closing !== undefined) return;
    handOver();
    // Until the file is open sonic-boom holds the data anyway.
    if (ready) stream.flush();
    else if (!openFailed) arm();
  };
  function arm(): void {
    if (timer !== undefined) return;
    timer = setTimeout(tick, flushIntervalMs);
    timer.unref();
  }

  return {
    name: opts.name ?? (toStdout ? 'jsonl:stdout' : `jsonl:${path}`),

    write(record: ChainedRecord): void {
      if (closing !== undefined) throw new Error('audit sink is closed');
      if (failure !== undefined) {
        const err = failure;
        failure = undefined;
        throw err;
      }
      if (droppedEvents > 0) {
        const n = droppedEvents;
        droppedEvents = 0;
        throw new Error(`audit buffer full: ${n} events dropped`);
      }
      const line = recordLine(record);
      batch.push(line);
      batchLength += line.length;
      if (batchLength >= batchChars) handOver();
      arm();
    },

    flush(): Promise<void> {
      if (closing !== undefined) return closing;
      handOver();
      return new Promise((resolve, reject) => {
        stream.flush((err?: Error) => (err ? reject(err) : resolve()));
      });
    },

    close(): Promise<void> {
      closing ??= new Promise<void>((resolve, reject) => {
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
        // A file that never opened has nothing to flush; end() would wait for it forever.
        if (openFailed) {
          stream.destroy();
          resolve();
          return;
        }
        handOver();
        stream.once('close', () => resolve());
        stream.once('error', reject);
        stream.end();
      });
      return closing;
    },
  };
}
