// Secret sources: a value from the config (usually ${ENV}), or a file that may be replaced while
// Cortex runs: by an editor or a deploy tool (write a temp file, rename it over), or by Kubernetes
// (the file is a symlink through `..data`, itself a symlink swapped by rename to a new timestamped
// directory). The directory is watched, not the file, since both swaps replace the directory
// entry; any event in it triggers a re-read. A periodic stat is the backstop for what watching
// misses (network filesystems, a removed directory). A file that cannot be read, is empty or
// holds characters a header cannot carry keeps the last good value, with a warning that never
// includes a value.
import { readFileSync, statSync, watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { unfitForHeader } from './types.ts';
import type { SecretSource } from './types.ts';

export interface FileSecretOptions {
  file: string;
  log: Logger;
  /** What the secret is, for log lines: "credential for upstream orders". */
  label: string;
  /** Time between stat checks (the backstop for the watch). */
  pollMs?: number;
  /** Quiet time after the last directory event before the file is re-read. */
  debounceMs?: number;
}

export const DEFAULT_POLL_MS = 5_000;
const DEFAULT_DEBOUNCE_MS = 50;

type ReadResult = { ok: true; value: string } | { ok: false; reason: string };

/** Reads a secret file: trailing newlines trimmed; empty or header-unsafe content is refused. */
export function readSecretFile(file: string): ReadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, reason: `unreadable (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  const value = text.replace(/[\r\n]+$/, '');
  if (value === '') return { ok: false, reason: 'empty' };
  if (unfitForHeader(value)) return { ok: false, reason: 'holds characters a header cannot carry' };
  return { ok: true, value };
}

function stampOf(file: string): string {
  try {
    const st = statSync(file); // follows symlinks: a Kubernetes swap changes the target's inode
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  } catch (err) {
    return `missing:${(err as NodeJS.ErrnoException).code ?? ''}`;
  }
}

export class FileSecret implements SecretSource {
  readonly file: string;
  private value: string | undefined;
  private stamp = '';
  /** The problem last reported, so a file that stays bad is warned about once, not at every poll. */
  private problem: string | undefined;
  private readonly listeners: (() => void)[] = [];
  private readonly log: Logger;
  private readonly label: string;
  private readonly debounceMs: number;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private readonly poll: NodeJS.Timeout;
  private closed = false;
  private watchFailed = false;

  constructor(o: FileSecretOptions) {
    this.file = resolve(o.file);
    this.log = o.log;
    this.label = o.label;
    this.debounceMs = o.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    this.check(true);
    this.startWatch();
    this.poll = setInterval(() => {
      if (this.watcher === undefined) this.startWatch();
      if (stampOf(this.file) !== this.stamp) this.check(false);
    }, o.pollMs ?? DEFAULT_POLL_MS);
    this.poll.unref();
  }

  current(): string | undefined {
    return this.value;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.poll);
    if (this.debounce !== undefined) clearTimeout(this.debounce);
    this.watcher?.close();
    this.watcher = undefined;
  }

  private startWatch(): void {
    if (this.closed) return;
    try {
      // Not persistent: a watcher alone should not keep the process alive.
      const w = watch(dirname(this.file), { persistent: false }, () => this.scheduleCheck());
      w.on('error', (err: Error) => {
        w.close();
        if (this.watcher === w) this.watcher = undefined;
        this.log.warn({ file: this.file, err: err.message }, `${this.label}: watching the secret file's directory failed; checking it every poll instead`);
      });
      this.watcher = w;
    } catch (err) {
      this.watcher = undefined;
      if (this.watchFailed) return;
      this.watchFailed = true;
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      this.log.warn({ file: this.file, reason: code }, `${this.label}: the secret file's directory cannot be watched; checking it every poll instead`);
    }
  }

  private scheduleCheck(): void {
    if (this.closed) return;
    if (this.debounce !== undefined) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.check(false);
    }, this.debounceMs);
    this.debounce.unref();
  }

  private check(initial: boolean): void {
    if (this.closed) return;
    const stamp = stampOf(this.file);
    const read = readSecretFile(this.file);
    if (!read.ok) {
      this.stamp = stamp;
      this.report(read.reason);
      return;
    }
    this.stamp = stamp;
    const recovered = this.problem !== undefined;
    this.problem = undefined;
    if (read.value === this.value) {
      if (recovered) this.log.info({ file: this.file }, `${this.label}: the secret file is readable again (value unchanged)`);
      return;
    }
    const first = this.value === undefined;
    this.value = read.value;
    if (initial) return;
    this.log.info({ file: this.file }, first ? `${this.label} loaded (file readable)` : `${this.label} refreshed (file changed)`);
    for (const listener of this.listeners) listener();
  }

  private report(reason: string): void {
    if (this.problem === reason) return;
    this.problem = reason;
    const keeping = this.value === undefined ? 'no value yet' : 'keeping the last value';
    this.log.warn({ file: this.file, reason }, `${this.label}: the secret file is ${reason}; ${keeping}`);
  }
}

export interface SecretSpec {
  value?: string | undefined;
  file?: string | undefined;
}

export interface SecretOptions {
  log: Logger;
  label: string;
  pollMs?: number;
}

export type OpenedSecret = { ok: true; source: SecretSource } | { ok: false; problem: string };

class StaticSecret implements SecretSource {
  private readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  current(): string {
    return this.value;
  }
  onChange(): void {}
  close(): void {}
}

/**
 * Opens the secret. A file that cannot be read at start is a problem (a typo in the path should
 * stop a start or a reload, not turn into 503s); once running, a bad file keeps the last value.
 */
export function openSecret(spec: SecretSpec, opts: SecretOptions): OpenedSecret {
  if (spec.value !== undefined) {
    if (unfitForHeader(spec.value)) return { ok: false, problem: 'value holds characters a header cannot carry' };
    return { ok: true, source: new StaticSecret(spec.value) };
  }
  if (spec.file === undefined) return { ok: false, problem: 'give exactly one of value or file' };
  const source = new FileSecret({ file: spec.file, log: opts.log, label: opts.label, ...(opts.pollMs === undefined ? {} : { pollMs: opts.pollMs }) });
  if (source.current() === undefined) {
    source.close();
    return { ok: false, problem: `file ${spec.file} holds no usable secret (missing, unreadable or empty)` };
  }
  return { ok: true, source };
}
