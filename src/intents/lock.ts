// The lock file: the approved intent and tags of every operation an API has had, committed beside
// the config. A new operation is added at once (a new endpoint needs no approval: it had no intent
// to lose); a changed intent or tags is pending until approved (cortex intents approve). In a
// protected stage a pending operation is served with its approved intent; elsewhere the document's
// intent is served but the lock does not follow, so every stage reports the same pending changes
// and staging predicts what prod will hold. Config-pinned operations are never pending: the config
// is reviewed, so the lock follows it.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ImportedApiConfig, ImportedOperation, IntentLock, IntentState, LockOutcome, PendingChange } from './types.ts';

type LockEntry = IntentLock['operations'][string];

export function lockPathFor(api: string, cfg: ImportedApiConfig): string {
  return resolve(cfg.lockFile ?? `.cortex/intents/${api}.json`);
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

export function readLock(path: string, api: string): { ok: true; lock: IntentLock | undefined } | { ok: false; problem: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: true, lock: undefined };
    return { ok: false, problem: `the intents lock ${path} cannot be read (${code ?? 'error'})` };
  }
  const corrupt = (why: string) => ({ ok: false as const, problem: `the intents lock ${path} is corrupt (${why}); fix it or restore it from git` });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return corrupt('not JSON');
  }
  const doc = raw as { version?: unknown; api?: unknown; operations?: unknown };
  if (typeof raw !== 'object' || raw === null || doc.version !== 1) return corrupt('version is not 1');
  if (doc.api !== api) return corrupt(`it is the lock of api ${JSON.stringify(doc.api)}, not ${api}`);
  if (typeof doc.operations !== 'object' || doc.operations === null || Array.isArray(doc.operations)) return corrupt('operations is not an object');
  const operations: Record<string, LockEntry> = {};
  for (const [key, e] of Object.entries(doc.operations as Record<string, unknown>)) {
    const entry = e as { intent?: unknown; tags?: unknown; approvedAt?: unknown } | null;
    if (typeof entry !== 'object' || entry === null) return corrupt(`${key} is not an object`);
    if (entry.intent !== null && typeof entry.intent !== 'string') return corrupt(`${key}.intent is not a string or null`);
    if (!isStringArray(entry.tags)) return corrupt(`${key}.tags is not a list of strings`);
    if (typeof entry.approvedAt !== 'string') return corrupt(`${key}.approvedAt is not a string`);
    operations[key] = { intent: entry.intent, tags: entry.tags, approvedAt: entry.approvedAt };
  }
  return { ok: true, lock: { version: 1, api, operations } };
}

/** Stable key order and a trailing newline, so the file diffs well in git. */
export function formatLock(lock: IntentLock): string {
  const operations: Record<string, LockEntry> = {};
  for (const [key, e] of Object.entries(lock.operations).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    operations[key] = { intent: e.intent, tags: [...e.tags].sort(), approvedAt: e.approvedAt };
  }
  return `${JSON.stringify({ version: 1, api: lock.api, operations }, null, 2)}\n`;
}

export function writeLock(path: string, lock: IntentLock): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(temp, formatLock(lock));
  renameSync(temp, path);
}

export function stateOf(op: ImportedOperation): IntentState {
  return { intent: op.intent ?? null, tags: [...op.tags].sort() };
}

export function sameState(a: IntentState, b: IntentState): boolean {
  return a.intent === b.intent && [...a.tags].sort().join(',') === [...b.tags].sort().join(',');
}

function withState(op: ImportedOperation, state: IntentState): ImportedOperation {
  const { intent: _intent, ...rest } = op;
  return { ...rest, ...(state.intent !== null ? { intent: state.intent } : {}), tags: state.tags };
}

export function applyLock(
  operations: readonly ImportedOperation[],
  lock: IntentLock | undefined,
  api: string,
  isProtected: boolean,
  now: Date = new Date(),
): LockOutcome {
  const locked = lock?.operations ?? {};
  const next: Record<string, LockEntry> = { ...locked };
  let changed = false;
  const served: ImportedOperation[] = [];
  const pending: PendingChange[] = [];
  for (const op of operations) {
    // An unsupported operation is denied whatever its intent: nothing to approve.
    if (op.problem !== undefined) {
      served.push(op);
      continue;
    }
    const proposed = stateOf(op);
    const approved = locked[op.key];
    if (approved === undefined || (op.source === 'config' && !sameState(approved, proposed))) {
      next[op.key] = { ...proposed, approvedAt: now.toISOString() };
      changed = true;
      served.push(op);
    } else if (sameState(approved, proposed)) {
      served.push(op);
    } else {
      pending.push({ api, key: op.key, approved: { intent: approved.intent, tags: [...approved.tags] }, proposed });
      served.push(isProtected ? withState(op, approved) : op);
    }
  }
  const outcome: LockOutcome = { operations: served, pending };
  return changed ? { ...outcome, updatedLock: { version: 1, api, operations: next } } : outcome;
}

/** Accepts the document's current intent for the given keys, or for every changed and new operation. */
export function approveChanges(
  lock: IntentLock | undefined,
  api: string,
  operations: readonly ImportedOperation[],
  keys?: readonly string[],
  now: Date = new Date(),
): IntentLock {
  const next: Record<string, LockEntry> = { ...(lock?.operations ?? {}) };
  const wanted = keys === undefined ? undefined : new Set(keys);
  for (const op of operations) {
    if (op.problem !== undefined) continue;
    if (wanted !== undefined && !wanted.has(op.key)) continue;
    const proposed = stateOf(op);
    const current = next[op.key];
    if (current === undefined || !sameState(current, proposed)) next[op.key] = { ...proposed, approvedAt: now.toISOString() };
  }
  return { version: 1, api, operations: next };
}
