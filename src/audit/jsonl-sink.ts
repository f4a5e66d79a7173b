// Audit events as JSON lines, to a file or stdout. sonic-boom buffers asynchronously: a busy gateway
// writes in chunks of minLength bytes instead of one syscall per event, and a short unref'd timer
// pushes a quiet gateway's last events out promptly without keeping the process alive.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import sonicBoom from 'sonic-boom';
import type { AuditEvent } from './event.ts';
import type { AuditSink } from './sink.ts';

// sonic-boom is CommonJS: the class is only reachable through the default export at runtime.
const { SonicBoom } = sonicBoom;

export interface JsonlSinkOptions {
  /** Bytes buffered before a write is issued. Must stay below sonic-boom's maxWrite (16 KiB). */
  minLength?: number;
  /** Longest time an event waits in the buffer. */
  flushIntervalMs?: number;
  /** Buffer cap while the destination is slow or broken; events past it are dropped (and counted). */
  maxBufferBytes?: number;
  name?: string;
}

const DEFAULTS = { minLength: 64 * 1024, flushIntervalMs: 200, maxBufferBytes: 16 * 1024 * 1024 };

export function createJsonlSink(path: string, opts: JsonlSinkOptions = {}): AuditSink {
  const toStdout = path === 'stdout';
  const flushIntervalMs = opts.flushIntervalMs ?? DEFAULTS.flushIntervalMs;
  // The directory may hold identities and access history: keep it private like the file.
  if (!toStdout) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });

  const stream = new SonicBoom({
    dest: toStdout ? 1 : path,
    minLength: opts.minLength ?? DEFAULTS.minLength,
    maxLength: opts.maxBufferBytes ?? DEFAULTS.maxBufferBytes,
    // Large batches: one write syscall per ~64 KiB of events rather than per 4 KiB keeps the
    // libuv thread that performs it from competing with the request path on a busy core.
    maxWrite: 1024 * 1024,
    append: true,
    mode: 0o600,
    sync: false,
  });

  let ready = false;
  let openFailed = false;
  let dropped = false;
  // Bytes accepted vs. bytes on disk: tells the timer whether anything is still buffered.
  let queued = 0;
  let written = 0;
  // An async failure (open, write) is surfaced by the next write() so AuditLog counts and logs it.
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
  stream.on('drop', () => {
    dropped = true;
  });
  stream.on('write', (n: number) => {
    written += n;
  });

  const tick = (): void => {
    timer = undefined;
    if (closing !== undefined) return;
    // Until the file is open sonic-boom holds the data anyway; try again on the next tick.
    if (!ready) {
      if (!openFailed) arm();
      return;
    }
    stream.flush();
    // A flush during an in-flight write is a no-op in sonic-boom; look again rather than strand data.
    if (queued > written) arm();
  };
  function arm(): void {
    if (timer !== undefined) return;
    timer = setTimeout(tick, flushIntervalMs);
    timer.unref();
  }

  return {
    name: opts.name ?? (toStdout ? 'jsonl:stdout' : `jsonl:${path}`),

    write(event: AuditEvent): void {
      if (closing !== undefined) throw new Error('audit sink is closed');
      if (failure !== undefined) {
        const err = failure;
        failure = undefined;
        throw err;
      }
      const line = JSON.stringify(event) + '\n';
      dropped = false;
      stream.write(line);
      if (dropped) throw new Error('audit buffer full, event dropped');
      queued += Buffer.byteLength(line);
      arm();
    },

    flush(): Promise<void> {
      if (closing !== undefined) return closing;
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
        stream.once('close', () => resolve());
        stream.once('error', reject);
        stream.end();
      });
      return closing;
    },
  };
}
