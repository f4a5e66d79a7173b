// The ring's schedule as pure functions of the stored keys and the clock. A key's state is derived
// from its timestamps (next before activatesAt, active until retiresAt, then retired), so every
// instance with the same keys and a sane clock agrees without a write at each activation; the
// store is written only to add a key (first, scheduled next, forced rotation) and to prune one.
import type { KeyInfo, KeyState, StoredKey } from './types.ts';

/** Allowance for verifiers whose clocks run behind: a retired key stays published this much longer. */
export const CLOCK_SKEW_MS = 60_000;

export interface ScheduleSettings {
  readonly rotateEveryMs: number;
  readonly publishAheadMs: number;
  readonly retainPublicMs: number;
  /** Longest lifetime of anything the ring signs (assertions, delegated tokens). */
  readonly maxTokenLifetimeMs: number;
}

export function stateAt(key: StoredKey, now: number): KeyState {
  if (now < key.activatesAt) return 'next';
  if (key.retiresAt !== undefined && now >= key.retiresAt) return 'retired';
  return 'active';
}

/** The key that signs at `now`: the latest activated one that has not retired. */
export function activeKey(keys: readonly StoredKey[], now: number): StoredKey | undefined {
  let best: StoredKey | undefined;
  for (const k of keys) {
    if (stateAt(k, now) === 'active' && (best === undefined || k.activatesAt >= best.activatesAt)) best = k;
  }
  return best;
}

/** Until when a key is in the JWKS: no token it signed can be valid after that. */
export function publishedUntil(key: StoredKey, s: ScheduleSettings): number {
  return key.retiresAt === undefined ? Infinity : key.retiresAt + s.maxTokenLifetimeMs + CLOCK_SKEW_MS;
}

/** When a retired key's public half is dropped (never before it leaves the JWKS). */
export function prunableAt(key: StoredKey, s: ScheduleSettings): number {
  if (key.retiresAt === undefined) return Infinity;
  return Math.max(key.retiresAt + s.retainPublicMs, publishedUntil(key, s));
}

/** When the active key's successor is due to be created (published ahead of its activation). */
function nextDueAt(active: StoredKey, s: ScheduleSettings): number {
  return active.retiresAt === undefined ? active.activatesAt + s.rotateEveryMs - s.publishAheadMs : Infinity;
}

export function describeKeys(keys: readonly StoredKey[], now: number, s: ScheduleSettings): KeyInfo[] {
  return keys.map((k) => {
    const info: { -readonly [P in keyof KeyInfo]: KeyInfo[P] } = { kid: k.kid, alg: k.alg, state: stateAt(k, now), createdAt: k.createdAt, activatesAt: k.activatesAt, published: now < publishedUntil(k, s) };
    if (k.retiresAt !== undefined) info.retiresAt = k.retiresAt;
    return info;
  });
}

function earliestAfter(now: number, times: Iterable<number>): number {
  let at = Infinity;
  for (const t of times) if (t > now && t < at) at = t;
  return at;
}

/** The earliest time after `now` at which a key's state or the JWKS changes (no write needed). */
export function nextViewChangeAt(keys: readonly StoredKey[], now: number, s: ScheduleSettings): number {
  return earliestAfter(
    now,
    keys.flatMap((k) => [k.activatesAt, k.retiresAt ?? Infinity, publishedUntil(k, s)]),
  );
}

/** The earliest time at which advance() has something to write (a next key, a prune); may be past. */
export function nextWorkAt(keys: readonly StoredKey[], now: number, s: ScheduleSettings): number {
  const active = activeKey(keys, now);
  return Math.min(active === undefined ? now : nextDueAt(active, s), ...keys.map((k) => prunableAt(k, s)));
}

export interface Advance {
  readonly keys: StoredKey[];
  /** Whether keys differ from the input (the store must be written). */
  readonly changed: boolean;
  /** A new key was due but none was given: generate one and call again. */
  readonly needsKey: boolean;
  readonly created?: StoredKey;
  readonly pruned: string[];
}

/**
 * The scheduled step at `now`: prune expired public halves; make sure a key signs (the first key of
 * an empty ring activates at once); create the next key publishAheadMs before the active one's
 * time is up. `fresh` is a newly generated key (its times are set here).
 */
export function advance(keys: readonly StoredKey[], now: number, s: ScheduleSettings, fresh?: StoredKey): Advance {
  const pruned = keys.filter((k) => now >= prunableAt(k, s)).map((k) => k.kid);
  const out = keys.filter((k) => !pruned.includes(k.kid));
  const base = { pruned, changed: pruned.length > 0 };
  const active = activeKey(out, now);
  if (active === undefined) {
    const pending = out.find((k) => k.activatesAt > now && k.retiresAt === undefined);
    if (pending !== undefined) {
      // Published already; it signs now rather than leave the ring without a signer.
      return { ...base, changed: true, needsKey: false, keys: out.map((k) => (k === pending ? { ...k, activatesAt: now } : k)) };
    }
    if (fresh === undefined) return { ...base, needsKey: true, keys: out };
    const created: StoredKey = { ...fresh, createdAt: now, activatesAt: now };
    return { ...base, changed: true, needsKey: false, created, keys: [...out, created] };
  }
  if (now < nextDueAt(active, s)) return { ...base, needsKey: false, keys: out };
  if (fresh === undefined) return { ...base, needsKey: true, keys: out };
  const activatesAt = Math.max(now + s.publishAheadMs, active.activatesAt + s.rotateEveryMs);
  const created: StoredKey = { ...fresh, createdAt: now, activatesAt };
  const updated = out.map((k) => (k === active ? { ...k, retiresAt: activatesAt } : k));
  return { ...base, changed: true, needsKey: false, created, keys: [...updated, created] };
}

/**
 * A forced rotation at `now`: `fresh` signs at once, the active key retires now, and a scheduled
 * next key that never signed is dropped (its successor is `fresh`).
 */
export function rotate(keys: readonly StoredKey[], now: number, fresh: StoredKey): { keys: StoredKey[]; created: StoredKey; pruned: string[]; retired?: string } {
  const active = activeKey(keys, now);
  const pruned = keys.filter((k) => k.activatesAt > now).map((k) => k.kid);
  const kept = keys.filter((k) => !pruned.includes(k.kid)).map((k) => (k === active ? { ...k, retiresAt: now } : k));
  const created: StoredKey = { ...fresh, createdAt: now, activatesAt: now };
  const result = { keys: [...kept, created], created, pruned };
  return active === undefined ? result : { ...result, retired: active.kid };
}
