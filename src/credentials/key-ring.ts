// The signing key ring: what signs now, what is published, and the schedule that rotates it.
// Reads (signer, jwks, publicKey) are synchronous over in-memory state; the state of each key is
// derived from its stored times and the clock (key-schedule.ts), so the signer changes exactly at
// the next key's activatesAt even between ticks. Writes (a new key, a prune) go through
// store.update(), so a fleet sharing a PostgreSQL store agrees on one ring. A tick reloads the
// store and applies what is due; it runs on an unref'd timer, on the store's change notices, and
// from tests that move an injected clock.
import { createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { JSONWebKeySet } from 'jose';
import type { Logger } from 'pino';
import type { SigningKeysConfig } from '../config/schema-credentials.ts';
import { checkKeyPair, newStoredKey } from './key-gen.ts';
import { activeKey, advance, describeKeys, nextViewChangeAt, nextWorkAt, publishedUntil, rotate, stateAt } from './key-schedule.ts';
import type { ScheduleSettings } from './key-schedule.ts';
import { unsealPrivateKey } from './key-seal.ts';
import type { ActiveSigner, KeyRing, KeyRingStore, StoredKey } from './types.ts';

export type KeyRingEvent = { type: 'rotated' | 'created' | 'retired' | 'pruned'; kid: string };

export interface KeyRingOptions {
  store: KeyRingStore;
  /** The key-encryption key (key-seal.ts loadKek). */
  kek: KeyObject;
  now?: () => number;
  /** Longest lifetime of anything signed with the ring: a retired key stays published that long. */
  maxTokenLifetimeMs: number;
  log?: Logger;
  onEvent?: (e: KeyRingEvent) => void;
  /** Backstop reload of the store (real time); 60 s by default. */
  reloadEveryMs?: number;
}

/** The ring plus tick(): reload and apply what is due now (tests call it after moving the clock). */
export interface TickingKeyRing extends KeyRing {
  tick(): Promise<void>;
}

const RELOAD_EVERY_MS = 60_000;
const MIN_TIMER_MS = 10;

interface Material {
  readonly publicKey: KeyObject;
  privateKey?: KeyObject;
}

interface View {
  readonly signer: ActiveSigner;
  readonly jwks: JSONWebKeySet;
  /** The view holds until this time (clock of the ring). */
  readonly until: number;
}

export function scheduleSettings(cfg: SigningKeysConfig, maxTokenLifetimeMs: number): ScheduleSettings {
  return { rotateEveryMs: cfg.rotateEveryMs, publishAheadMs: cfg.publishAheadMs, retainPublicMs: cfg.retainPublicMs, maxTokenLifetimeMs };
}

/** A forced rotation written to the store (the CLI uses it without opening a ring). Returns the new kid. */
export async function rotateStore(
  store: KeyRingStore,
  cfg: SigningKeysConfig,
  kek: KeyObject,
  now: number,
): Promise<{ created: StoredKey; privateKey: KeyObject; retired?: string; pruned: string[]; keys: StoredKey[] }> {
  // A key sealed under a KEK the fleet does not hold would stop every gateway: prove this one first.
  const newest = (await store.load()).at(-1);
  if (newest !== undefined) await checkKeyPair(newest, unsealPrivateKey(newest.sealedPrivateKey, newest.kid, kek));
  const fresh = await newStoredKey(cfg.algorithm, kek, { createdAt: now, activatesAt: now });
  let result: ReturnType<typeof rotate> | undefined;
  const keys = await store.update((current) => {
    result = rotate(current, now, fresh.stored);
    return result.keys;
  });
  const r = result as ReturnType<typeof rotate>;
  return { created: r.created, privateKey: fresh.privateKey, pruned: r.pruned, keys, ...(r.retired === undefined ? {} : { retired: r.retired }) };
}

export async function openKeyRing(cfg: SigningKeysConfig, opts: KeyRingOptions): Promise<TickingKeyRing> {
  const { store, kek, log } = opts;
  const clock = opts.now ?? Date.now;
  const settings = scheduleSettings(cfg, opts.maxTokenLifetimeMs);
  const emit = (type: KeyRingEvent['type'], kid: string): void => opts.onEvent?.({ type, kid });
  const rotateListeners = new Set<(signer: ActiveSigner) => void>();
  const material = new Map<string, Material>();
  let keys: StoredKey[] = [];
  let view: View | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  /**
   * Takes the store's keys: public halves of all, private halves of those that may still sign. The
   * clock is read here, not passed in: a tick that started before the clock moved must not show a
   * state older than what signer() already showed.
   */
  async function adopt(next: StoredKey[], fresh?: { kid: string; privateKey: KeyObject }): Promise<void> {
    const now = clock();
    const adopted = new Map<string, Material>();
    for (const k of next) {
      const m: Material = material.get(k.kid) ?? { publicKey: createPublicKey({ key: k.publicJwk, format: 'jwk' }) };
      if (stateAt(k, now) === 'retired') delete m.privateKey;
      else if (m.privateKey === undefined) {
        m.privateKey = fresh?.kid === k.kid ? fresh.privateKey : unsealPrivateKey(k.sealedPrivateKey, k.kid, kek);
        await checkKeyPair(k, m.privateKey);
      }
      adopted.set(k.kid, m);
    }
    keys = next;
    material.clear();
    for (const [kid, m] of adopted) material.set(kid, m);
    refresh(clock());
  }

  function buildView(now: number): View {
    const active = activeKey(keys, now);
    const privateKey = active === undefined ? undefined : material.get(active.kid)?.privateKey;
    if (active === undefined || privateKey === undefined) throw new Error('signing keys: no key can sign now (the ring is empty or was not loaded)');
    const published = keys.filter((k) => now < publishedUntil(k, settings)).map((k) => ({ ...k.publicJwk, kid: k.kid, alg: k.alg, use: 'sig' }));
    return { signer: { kid: active.kid, alg: active.alg, privateKey }, jwks: { keys: published }, until: nextViewChangeAt(keys, now, settings) };
  }

  /** Recomputes the view; a new signer is announced (after the current call returns). */
  function refresh(now: number): View {
    const before = view?.signer;
    const v = buildView(now);
    view = v;
    if (before !== undefined && before.kid !== v.signer.kid) {
      queueMicrotask(() => {
        emit('retired', before.kid);
        emit('rotated', v.signer.kid);
        for (const l of rotateListeners) l(v.signer);
      });
    }
    return v;
  }

  function current(): View {
    const now = clock();
    return view !== undefined && now < view.until ? view : refresh(now);
  }

  function serial<T>(work: () => Promise<T>): Promise<T> {
    const run = queue.then(work);
    queue = run.catch(() => undefined);
    return run;
  }

  async function step(): Promise<void> {
    const now = clock();
    const loaded = await store.load();
    const probe = advance(loaded, now, settings);
    if (!probe.changed && !probe.needsKey) return adopt(loaded);
    const fresh = probe.needsKey ? await newStoredKey(cfg.algorithm, kek, { createdAt: now, activatesAt: now }) : undefined;
    let result: ReturnType<typeof advance> | undefined;
    const updated = await store.update((cur) => {
      result = advance(cur, now, settings, fresh?.stored);
      return result.changed ? result.keys : undefined;
    });
    if (result?.created !== undefined) {
      log?.info({ kid: result.created.kid, alg: result.created.alg, activatesAt: new Date(result.created.activatesAt).toISOString() }, 'signing keys: created a key');
      emit('created', result.created.kid);
    }
    for (const kid of result?.pruned ?? []) {
      log?.info({ kid }, 'signing keys: pruned a retired key');
      emit('pruned', kid);
    }
    await adopt(updated, fresh === undefined ? undefined : { kid: fresh.stored.kid, privateKey: fresh.privateKey });
  }

  function schedule(): void {
    clearTimeout(timer);
    if (closed) return;
    const now = clock();
    const due = Math.min(view?.until ?? Infinity, nextWorkAt(keys, now, settings));
    const wait = Math.max(MIN_TIMER_MS, Math.min(due - now, opts.reloadEveryMs ?? RELOAD_EVERY_MS, 2 ** 31 - 1));
    timer = setTimeout(() => void tick().catch((err: unknown) => log?.error({ err: (err as Error).message }, 'signing keys: reload failed; keeping the keys held')), wait);
    timer.unref();
  }

  function tick(): Promise<void> {
    return serial(step).finally(schedule);
  }

  try {
    await tick();
  } catch (error) {
    closed = true;
    clearTimeout(timer);
    await store.close();
    throw error;
  }
  const unsubscribe = store.onChange?.(() => void tick().catch((err: unknown) => log?.error({ err: (err as Error).message }, 'signing keys: reload after a change failed')));

  return {
    signer: () => current().signer,
    jwks: () => current().jwks,
    publicKey: (kid) => material.get(kid)?.publicKey,
    list: () => describeKeys(keys, clock(), settings),
    onRotate(listener) {
      rotateListeners.add(listener);
      return () => rotateListeners.delete(listener);
    },
    tick,
    rotateNow: () =>
      serial(async () => {
        const r = await rotateStore(store, cfg, kek, clock());
        log?.info({ kid: r.created.kid, retired: r.retired }, 'signing keys: forced rotation');
        emit('created', r.created.kid);
        for (const kid of r.pruned) emit('pruned', kid);
        await adopt(r.keys, { kid: r.created.kid, privateKey: r.privateKey });
      }).finally(schedule),
    async close() {
      closed = true;
      clearTimeout(timer);
      unsubscribe?.();
      await queue;
      await store.close();
    },
  };
}

/** The longest lifetime of what Cortex signs with the ring, from the credentials section. */
export function maxSignedLifetimeMs(credentials: { assertion?: { lifetimeSeconds?: number }; tokenExchange?: { lifetimeSeconds?: number } | undefined }): number {
  const assertion = credentials.assertion?.lifetimeSeconds ?? 60;
  const delegated = credentials.tokenExchange === undefined ? 0 : (credentials.tokenExchange.lifetimeSeconds ?? 300);
  return Math.max(assertion, delegated) * 1000;
}
