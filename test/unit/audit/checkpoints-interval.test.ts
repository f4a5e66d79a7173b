// The Checkpointer's interval (audit.checkpointIntervalMs), on an injected clock and scheduler: a
// burst of batches is signed once at once and once when the interval is up, never with more than one
// checkpoint pending; flush() and shutdown sign the head at once.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { createChain } from '../../../src/audit/chain.ts';
import { Checkpointer, parseCheckpointLines } from '../../../src/audit/checkpoints.ts';
import type { AuditEvent } from '../../../src/audit/event.ts';
import type { ChainedRecord, Checkpoint } from '../../../src/audit/record.ts';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signer = { kid: 'k1', alg: 'ES256', privateKey };
const INTERVAL = 10_000;

/** A clock that moves only when told, and the timers due by then. */
function fakeTime(start: number) {
  let now = start;
  let timers: { at: number; fn: () => void }[] = [];
  return {
    now: () => now,
    schedule(fn: () => void, delayMs: number): () => void {
      const t = { at: now + delayMs, fn };
      timers.push(t);
      return () => void (timers = timers.filter((x) => x !== t));
    },
    pending: () => timers.length,
    dueAt: () => timers.map((t) => t.at),
    /** Each due timer runs with the clock at its own time. */
    advance(ms: number): void {
      const until = now + ms;
      for (let t = timers.find((x) => x.at <= until); t !== undefined; t = timers.find((x) => x.at <= until)) {
        const due = t;
        timers = timers.filter((x) => x !== due);
        now = Math.max(now, due.at);
        due.fn();
      }
      now = until;
    },
  };
}

function setup(start = Date.parse('2026-03-01T00:00:00Z')) {
  const time = fakeTime(start);
  const stored: Checkpoint[] = [];
  const lines: string[] = [];
  const cps = new Checkpointer({
    signer: () => signer,
    store: () => ({ writeCheckpoint: (cp) => Promise.resolve(void stored.push(cp)) }),
    output: { append: (line) => Promise.resolve(void lines.push(line)), close: () => Promise.resolve() },
    intervalMs: INTERVAL,
    now: time.now,
    schedule: (fn, ms) => time.schedule(fn, ms),
  });
  const chain = createChain('h/1/2/ab');
  const next = (): ChainedRecord => chain.next({ v: 1, type: 'request', id: 'r' } as unknown as AuditEvent);
  return { time, stored, lines, cps, next };
}

/** Lets the signing in flight finish (it runs on real crypto, not on the fake clock). */
async function settle(done: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i++) await new Promise((r) => setImmediate(r));
}

const seqs = (stored: Checkpoint[]): [number, string][] => stored.map((c) => [c.seq, c.reason]);

describe('Checkpointer with checkpointIntervalMs', () => {
  it('signs a burst of 100 batches in 1 s with one checkpoint at once and one scheduled at last + interval', async () => {
    const { time, stored, lines, cps, next } = setup();
    const start = time.now();
    let last: ChainedRecord | undefined;
    for (let i = 0; i < 100; i++) {
      last = next();
      cps.onBatchCommitted('db', last);
      assert.ok(time.pending() <= 1, 'never more than one checkpoint pending');
      time.advance(10);
      await Promise.resolve();
    }
    await settle(() => stored.length > 0 && time.pending() > 0);
    assert.deepEqual(seqs(stored), [[1, 'batch']]);
    assert.deepEqual(time.dueAt(), [start + INTERVAL]);

    time.advance(INTERVAL);
    await cps.flush();
    assert.deepEqual(seqs(stored), [[1, 'batch'], [100, 'batch']]);
    assert.equal(stored[1]?.hash, last?.hash, 'the scheduled checkpoint covers the newest committed record');
    assert.equal(stored[1]?.time, new Date(start + INTERVAL).toISOString());
    assert.equal(time.pending(), 0, 'nothing new: nothing scheduled');

    await cps.close();
    assert.deepEqual(seqs(stored), [[1, 'batch'], [100, 'batch'], [100, 'shutdown']]);
    assert.deepEqual(parseCheckpointLines(lines.join('')), stored);
  });

  it('shutdown signs the head at once and cancels the pending checkpoint', async () => {
    const { time, stored, cps, next } = setup();
    cps.onBatchCommitted('db', next());
    await cps.flush();
    for (let i = 0; i < 5; i++) cps.onBatchCommitted('db', next());
    assert.equal(time.pending(), 1);
    await cps.closeSink('db');
    assert.deepEqual(seqs(stored), [[1, 'batch'], [6, 'shutdown']]);
    assert.equal(time.pending(), 0);
    time.advance(INTERVAL);
    cps.onBatchCommitted('db', next());
    await cps.close();
    assert.equal(stored.length, 2, 'a closed sink signs nothing more');
  });

  it('flush() signs the newest record at once, and the interval restarts from it', async () => {
    const { time, stored, cps, next } = setup();
    cps.onBatchCommitted('db', next());
    cps.onBatchCommitted('db', next());
    await cps.flush();
    assert.deepEqual(seqs(stored), [[1, 'batch'], [2, 'batch']]);
    assert.equal(time.pending(), 0);
    time.advance(INTERVAL - 1);
    cps.onBatchCommitted('db', next());
    assert.deepEqual(time.dueAt(), [time.now() + 1]);
    time.advance(1);
    await cps.flush();
    assert.deepEqual(seqs(stored), [[1, 'batch'], [2, 'batch'], [3, 'batch']]);
  });

  it('keeps one interval per writer: a second writer signs at once', async () => {
    const { stored, cps, next } = setup();
    const other = createChain('h/1/2/cd').next({ v: 1, type: 'request', id: 'x' } as unknown as AuditEvent);
    cps.onBatchCommitted('db', next());
    cps.onBatchCommitted('db', next());
    cps.onBatchCommitted('db', other);
    await settle(() => stored.length >= 2);
    // The two writers sign concurrently: either may be stored first.
    assert.deepEqual(stored.map((c) => [c.writer, c.seq]).sort(), [['h/1/2/ab', 1], ['h/1/2/cd', 1]]);
    await cps.close();
  });
});
