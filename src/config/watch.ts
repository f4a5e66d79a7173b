// Tells the caller when the config file may have changed; the caller reloads (and keeps the old
// snapshot if the new file is bad). Nothing here reads or parses the file.
import { existsSync, watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

export interface ConfigWatcher {
  close(): void;
}

export interface WatchOptions {
  /** Quiet time after the last event before onChange runs. */
  debounceMs?: number;
  /** The watch itself failed (e.g. the directory was removed); no more changes will be seen. */
  onError?: (error: Error) => void;
}

const DEFAULT_DEBOUNCE_MS = 100;

/**
 * Watches the file's directory rather than the file: editors and deploy tools save by writing a
 * new file and renaming it over the old one, which a watch on the old inode would never see.
 * A burst of events (write, chmod, rename) becomes one call after `debounceMs` of quiet.
 */
export function watchConfig(file: string, onChange: () => void, opts: WatchOptions = {}): ConfigWatcher {
  const path = resolve(file);
  const name = basename(path);
  const debounceMs = opts.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const settle = (): void => {
    timer = undefined;
    // Between unlink and rename the file is briefly missing; its arrival fires another event.
    if (closed || !existsSync(path)) return;
    onChange();
  };

  // Not persistent: the listeners keep a gateway alive, a watcher alone should not.
  const watcher = watch(dirname(path), { persistent: false }, (_event, filename) => {
    // Some platforms omit the name; then any change in the directory counts.
    if (closed || (filename !== null && filename !== name)) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(settle, debounceMs);
    timer.unref();
  });
  watcher.on('error', (error: Error) => {
    close();
    opts.onError?.(error);
  });

  function close(): void {
    if (closed) return;
    closed = true;
    if (timer !== undefined) clearTimeout(timer);
    watcher.close();
  }

  return { close };
}
