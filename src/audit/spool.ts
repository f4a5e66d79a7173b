// A sink's spool: records whose batch could not be written wait here, in order, in a local file
// (one JSON line per record, the event text kept as the exact string that was hashed). The sink
// replays it from the front while appending new batches at the back; once every line is committed
// the file is truncated. A restart finds a leftover spool and replays it first. Lines replayed
// twice (a crash between commit and truncate) are harmless: stores ignore a known (writer, seq).
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AuditEvent } from './event.ts';
import type { ChainedRecord } from './record.ts';

interface SpoolLine {
  w: string;
  s: number;
  p: string;
  h: string;
  j: string;
}

export interface SpoolAppend {
  written: number;
  dropped: number;
}

/** Bytes read from the front of the file per replay step (a batch never needs more lines). */
const READ_CHUNK = 4 * 1024 * 1024;

export class Spool {
  readonly file: string;
  readonly maxBytes: number;
  #fd: number | undefined;
  #size = 0;
  /** Bytes at the front already committed to the store (truncated once it reaches #size). */
  #readOffset = 0;

  constructor(file: string, maxBytes: number) {
    this.file = file;
    this.maxBytes = maxBytes;
    try {
      this.#open();
    } catch {
      // Unwritable now; append() retries the open, and a failing append counts as a drop.
    }
  }

  /** Bytes waiting to be replayed. */
  get bytes(): number {
    return this.#size - this.#readOffset;
  }

  get empty(): boolean {
    return this.bytes === 0;
  }

  #open(): number {
    if (this.#fd !== undefined) return this.#fd;
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    const fd = openSync(this.file, 'a+', 0o600);
    this.#size = fstatSync(fd).size;
    this.#fd = fd;
    return fd;
  }

  /** Appends records in order, up to maxBytes; the rest are dropped. Throws when the file is unwritable. */
  append(records: readonly ChainedRecord[]): SpoolAppend {
    const fd = this.#open();
    const lines: string[] = [];
    let bytes = 0;
    for (const r of records) {
      const line = JSON.stringify({ w: r.writer, s: r.seq, p: r.prevHash, h: r.hash, j: r.json } satisfies SpoolLine) + '\n';
      const n = Buffer.byteLength(line);
      if (this.#size + bytes + n > this.maxBytes) break;
      lines.push(line);
      bytes += n;
    }
    if (lines.length > 0) {
      const buf = Buffer.from(lines.join(''));
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      this.#size += buf.length;
    }
    return { written: lines.length, dropped: records.length - lines.length };
  }

  /** The next records to replay (at most `max`), and the bytes they span for commit(). */
  peek(max: number): { records: ChainedRecord[]; bytes: number } {
    if (this.empty || this.#fd === undefined) return { records: [], bytes: 0 };
    const want = Math.min(READ_CHUNK, this.bytes);
    const buf = Buffer.allocUnsafe(want);
    const got = readSync(this.#fd, buf, 0, want, this.#readOffset);
    const records: ChainedRecord[] = [];
    let start = 0;
    while (records.length < max) {
      const nl = buf.indexOf(10, start);
      if (nl === -1 || nl >= got) break;
      const line = JSON.parse(buf.toString('utf8', start, nl)) as SpoolLine;
      records.push({ writer: line.w, seq: line.s, prevHash: line.p, hash: line.h, json: line.j, event: JSON.parse(line.j) as AuditEvent });
      start = nl + 1;
    }
    if (records.length === 0 && got > 0 && got === this.bytes && buf.indexOf(10) === -1) {
      // A torn last line (a crash mid-append) can never be completed: skip it.
      return { records, bytes: got };
    }
    return { records, bytes: start };
  }

  /** Marks `bytes` from the front as committed; truncates the file once everything is. */
  commit(bytes: number): void {
    this.#readOffset += bytes;
    if (this.#readOffset >= this.#size && this.#fd !== undefined) {
      ftruncateSync(this.#fd, 0);
      this.#size = 0;
      this.#readOffset = 0;
    }
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
