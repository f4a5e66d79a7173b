// The imported APIs while the gateway runs: each API's OpenAPI document fetched at start, again
// every refreshIntervalMs and on reload; the lock file read again on every refresh, so an approval
// (cortex intents approve) takes effect at the next one. A failed fetch keeps the last good document;
// an API never fetched has no operations, so everything under its prefix is denied. The owner
// (the Gateway) is called back when what is served or what waits for approval changed.
import type { Logger } from 'pino';
import { auditIntentChanges } from '../audit/system-events.ts';
import type { SystemAudit } from '../audit/system-events.ts';
import type { Config, Stage } from '../config/schema.ts';
import { fetchApiDocument } from './document.ts';
import { applyLock, lockPathFor, readLock, writeLock } from './lock.ts';
import { acquireLockMutex } from './lock-mutex.ts';
import type { ApiDocument, ApiDocuments, ImportedApiConfig, ImportedOperation, IntentLock, PendingChange } from './types.ts';

export type RefreshResult = 'ok' | 'unchanged' | 'failed';

export interface ApiStats {
  refreshes: Record<RefreshResult, number>;
  operations: { served: number; no_intent: number; unsupported: number };
  pending: number;
}

export interface ApiRuntimeOptions {
  log: Logger;
  /** Called when the operations served or the changes waiting for approval changed. */
  onChange: () => void;
  /** Replaces fetchApiDocument (tests). */
  fetch?: typeof fetchApiDocument;
  /** Records intent changes waiting for approval and their approval (intent_change_pending, intent_approval). */
  audit?: SystemAudit;
}

interface ApiState {
  readonly name: string;
  readonly cfg: ImportedApiConfig;
  readonly settings: string;
  /** The last document fetched successfully. */
  document: ApiDocument | undefined;
  /** The document's operations with the intents that hold in this stage. */
  served: readonly ImportedOperation[] | undefined;
  pending: readonly PendingChange[];
  /** Digest, served intents and pending set: a refresh that leaves it alone changes nothing. */
  fingerprint: string;
  /** Warnings already logged (operations without intent, pending changes), logged again only when they change. */
  reported: ReadonlySet<string>;
  refreshes: Record<RefreshResult, number>;
  lastProblem: string | undefined;
  timer: NodeJS.Timeout | undefined;
  /** Refreshes of one API run one after another: a refresh asked for now sees the document as it is now. */
  queue: Promise<unknown>;
}

export class ApiRuntime {
  private readonly opts: ApiRuntimeOptions;
  private readonly fetch: typeof fetchApiDocument;
  private readonly states = new Map<string, ApiState>();
  private readonly abort = new AbortController();
  private stage: Stage = 'dev';
  private isProtected = false;
  private closed = false;

  constructor(opts: ApiRuntimeOptions) {
    this.opts = opts;
    this.fetch = opts.fetch ?? fetchApiDocument;
  }

  /**
   * Takes the config's apis for this stage (at start and on every reload) and refreshes all of
   * them; an API whose settings changed starts again from nothing. Resolves when every fetch ended.
   */
  configure(config: Config, stage: Stage): Promise<void> {
    this.stage = stage;
    this.isProtected = config.policy?.protectedStages.includes(stage) ?? false;
    for (const [name, state] of this.states) {
      if (!Object.hasOwn(config.apis, name)) this.drop(name, state);
    }
    for (const [name, cfg] of Object.entries(config.apis)) {
      const settings = JSON.stringify(cfg);
      const known = this.states.get(name);
      if (known?.settings === settings) continue;
      if (known) this.drop(name, known);
      this.states.set(name, newState(name, cfg, settings));
    }
    return this.refreshNow();
  }

  /** Fetches every API's document now (after any refresh in progress) and re-reads its lock. */
  async refreshNow(): Promise<void> {
    const changed = await Promise.all([...this.states.values()].map((s) => this.enqueue(s)));
    if (changed.some(Boolean)) this.notify();
  }

  /** What expandApis reads: each API's served operations (undefined: never fetched). */
  documents(): ApiDocuments {
    const out = new Map<string, { operations: readonly ImportedOperation[] } | undefined>();
    for (const [name, s] of this.states) out.set(name, s.served === undefined ? undefined : { operations: s.served });
    return out;
  }

  pending(): PendingChange[] {
    return [...this.states.values()].flatMap((s) => s.pending);
  }

  /** For /api/status. */
  status(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, s] of this.states) {
      out[name] = {
        fetchedAt: s.document ? new Date(s.document.fetchedAt).toISOString() : null,
        digest: s.document?.digest ?? null,
        operations: s.served?.length ?? 0,
        noIntent: (s.served ?? []).filter((op) => op.intent === undefined && op.problem === undefined).map((op) => op.key),
        pending: s.pending,
        protected: this.isProtected,
        ...(s.lastProblem !== undefined ? { lastProblem: s.lastProblem } : {}),
      };
    }
    return out;
  }

  /** For the metrics, read when scraped. */
  stats(): Record<string, ApiStats> {
    const out: Record<string, ApiStats> = {};
    for (const [name, s] of this.states) {
      const ops = s.served ?? [];
      out[name] = {
        refreshes: { ...s.refreshes },
        operations: {
          served: ops.filter((op) => op.intent !== undefined && op.problem === undefined).length,
          no_intent: ops.filter((op) => op.intent === undefined && op.problem === undefined).length,
          unsupported: ops.filter((op) => op.problem !== undefined).length,
        },
        pending: s.pending.length,
      };
    }
    return out;
  }

  close(): void {
    this.closed = true;
    this.abort.abort();
    for (const s of this.states.values()) clearTimeout(s.timer);
  }

  private notify(): void {
    if (this.closed) return;
    try {
      this.opts.onChange();
    } catch (err) {
      this.opts.log.error({ err }, 'applying a change to the imported APIs failed');
    }
  }

  private drop(name: string, state: ApiState): void {
    clearTimeout(state.timer);
    state.timer = undefined;
    this.states.delete(name);
  }

  /** Runs one refresh of `state` after the ones queued, then arms its timer; true when something changed. */
  private enqueue(state: ApiState): Promise<boolean> {
    const run = state.queue.then(() => (this.current(state) ? this.refresh(state) : false));
    state.queue = run.catch(() => undefined);
    return run.then(
      (changed) => {
        this.arm(state);
        return changed;
      },
      (err: unknown) => {
        this.opts.log.error({ api: state.name, err }, 'refreshing an imported API failed');
        this.arm(state);
        return false;
      },
    );
  }

  private current(state: ApiState): boolean {
    return !this.closed && this.states.get(state.name) === state;
  }

  private arm(state: ApiState): void {
    if (!this.current(state)) return;
    clearTimeout(state.timer);
    state.timer = setTimeout(() => {
      void this.enqueue(state).then((changed) => {
        if (changed) this.notify();
      });
    }, state.cfg.refreshIntervalMs);
    state.timer.unref();
  }

  private async refresh(state: ApiState): Promise<boolean> {
    const log = this.opts.log;
    const fetched = await this.fetch(state.name, state.cfg, { signal: this.abort.signal });
    if (!this.current(state)) return false;
    let result: RefreshResult;
    if (fetched.ok) {
      result = fetched.document.digest === state.document?.digest ? 'unchanged' : 'ok';
      if (result === 'ok') for (const p of fetched.document.problems) log.warn({ api: state.name }, p);
      state.document = fetched.document;
      state.lastProblem = undefined;
    } else {
      result = 'failed';
      state.lastProblem = fetched.problem;
      log.warn({ api: state.name, problem: fetched.problem, serving: state.document?.digest ?? 'nothing' }, 'fetching an OpenAPI document failed; the last good one keeps serving');
    }
    state.refreshes[result]++;
    if (state.document === undefined) return this.settle(state, undefined, []);
    const lockPath = lockPathFor(state.name, state.cfg);
    // Never waits: while `cortex intents approve` holds the mutex, this refresh serves from what it
    // read and the next one records the new operations.
    const release = acquireLockMutex(lockPath, 0);
    try {
      const lock = readLock(lockPath, state.name);
      if (!lock.ok) {
        // Without the approved intents a retag cannot be told from an old intent: keep what serves.
        state.lastProblem = lock.problem;
        log.error({ api: state.name, lockFile: lockPath, problem: lock.problem }, 'the intents lock file cannot be read; the imported API keeps its current intents');
        return false;
      }
      const outcome = applyLock(state.document.operations, lock.lock, state.name, this.isProtected);
      if (outcome.updatedLock !== undefined && release !== undefined) this.writeLockFile(state.name, lockPath, outcome.updatedLock);
      return this.settle(state, outcome.operations, outcome.pending);
    } finally {
      release?.();
    }
  }

  private writeLockFile(api: string, lockPath: string, lock: IntentLock): void {
    try {
      writeLock(lockPath, lock);
    } catch (err) {
      this.opts.log.error({ api, lockFile: lockPath, err }, 'the intents lock file cannot be written');
    }
  }

  /** Stores what serves now, logs what is new to report; true when it differs from before. */
  private settle(state: ApiState, served: readonly ImportedOperation[] | undefined, pending: readonly PendingChange[]): boolean {
    const fingerprint = JSON.stringify([
      state.document?.digest ?? null,
      served?.map((op) => [op.key, op.intent ?? null, [...op.tags], op.problem ?? null]) ?? null,
      pending.map((p) => [p.key, p.approved, p.proposed]),
    ]);
    auditIntentChanges(this.opts.audit, state.name, state.pending, pending, served ?? []);
    state.served = served;
    state.pending = pending;
    this.report(state);
    if (fingerprint === state.fingerprint) return false;
    state.fingerprint = fingerprint;
    this.opts.log.info({ api: state.name, stage: this.stage, operations: served?.length ?? 0, pending: pending.length }, 'imported API changed');
    return true;
  }

  private report(state: ApiState): void {
    const log = this.opts.log;
    const now = new Set<string>();
    for (const op of state.served ?? []) {
      if (op.problem !== undefined) {
        const key = `unsupported ${op.key} ${op.problem}`;
        now.add(key);
        if (!state.reported.has(key)) log.warn({ api: state.name, operation: op.key, problem: op.problem }, 'an imported operation cannot be served: denied');
      } else if (op.intent === undefined) {
        const key = `no_intent ${op.key}`;
        now.add(key);
        if (!state.reported.has(key)) log.warn({ api: state.name, operation: op.key }, 'an imported operation has no intent: denied (authz.no_intent)');
      }
    }
    for (const p of state.pending) {
      const key = `pending ${p.key} ${JSON.stringify(p.proposed)}`;
      now.add(key);
      if (!state.reported.has(key)) {
        log.warn(
          { api: state.name, stage: this.stage, operation: p.key, approved: p.approved, proposed: p.proposed },
          'an imported operation changed its intent; the approved one holds in this protected stage until cortex intents approve',
        );
      }
    }
    state.reported = now;
  }
}

function newState(name: string, cfg: ImportedApiConfig, settings: string): ApiState {
  return {
    name,
    cfg,
    settings,
    document: undefined,
    served: undefined,
    pending: [],
    fingerprint: '',
    reported: new Set(),
    refreshes: { ok: 0, unchanged: 0, failed: 0 },
    lastProblem: undefined,
    timer: undefined,
    queue: Promise.resolve(),
  };
}
