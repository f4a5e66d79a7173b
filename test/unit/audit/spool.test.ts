import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChain } from '../../../src/audit/chain.ts';
import { buildAuditEvent } from '../../../src/audit/event.ts';
import type { ChainedRecord } from '../../../src/audit/record.ts';
import type { SinkStats } from '../../../src/audit/sink.ts';
import { createBatchedSink } from '../../../src/audit/sinks/batched-sink.ts';
import { Spool } from '../../../src/audit/spool.ts';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'cortex-spool-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function records(n: number, writer = 'w'): ChainedRecord[] {
  const chain = createChain(writer);
  return Array.from({ length: n }, (_, i) =>
    chain.next(
      buildAuditEvent({
        id: `req-${i + 1}`,
        time: Date.UTC(2025, 0, 1) + i,
        stage: 'test',
        request: { method: 'GET', host: 'h', path: `/k/${'ü'.repeat(i % 3)}`, clientIp: '127.0.0.1' },
        outcome: { status: 200, code: 'ok', durationMs: 1, bytesIn: 0, bytesOut: 0 },
      }),
    ),
  );
}

/** A store that fails while `down` is true, and keeps what it committed (ignoring known seqs). */
function memoryStore() {
  const rows = new Map<number, ChainedRecord>();
  const state = { down: false, batches: 0 };
  return {
    state,
    rows,
    seqs: () => [...rows.keys()],
    writeBatch(batch: readonly ChainedRecord[]): Promise<void> {
      if (state.down) return Promise.reject(new Error('connection refused'));
      state.batches++;
      for (const r of batch) if (!rows.has(r.seq)) rows.set(r.seq, r);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}

void test('the spool keeps records in order, exactly as hashed, and truncates once all are committed', (t) => {
  const file = join(tempDir(t), 'nested', 's.spool');
  const spool = new Spool(file, 1 << 20);
  const all = records(25);
  assert.deepEqual(spool.append(all.slice(0, 10)), { written: 10, dropped: 0 });
  assert.deepEqual(spool.append(all.slice(10)), { written: 15, dropped: 0 });
  const got: ChainedRecord[] = [];
  while (!spool.empty) {
    const { records: batch, bytes } = spool.peek(7);
    assert.ok(batch.length <= 7);
    got.push(...batch);
    spool.commit(bytes);
  }
  assert.deepEqual(got, all);
  assert.equal(statSync(file).size, 0);
  spool.close();
});

void test('past maxBytes records are dropped and counted, the ones before kept', (t) => {
  const all = records(100);
  const oneLine = Buffer.byteLength(JSON.stringify({ w: 'w', s: 1, p: all[0]?.prevHash, h: all[0]?.hash, j: all[0]?.json }) + '\n');
  const spool = new Spool(join(tempDir(t), 's.spool'), oneLine * 10 + 5);
  const r = spool.append(all);
  assert.ok(r.written >= 8 && r.written <= 10, `written ${r.written}`);
  assert.equal(r.written + r.dropped, 100);
  assert.deepEqual(spool.peek(1000).records.map((x) => x.seq), all.slice(0, r.written).map((x) => x.seq));
  spool.close();
});

void test('a spool left on disk is found by the next run, and a torn last line is skipped', (t) => {
  const file = join(tempDir(t), 's.spool');
  const first = new Spool(file, 1 << 20);
  first.append(records(3));
  first.close();
  writeFileSync(file, '{"w":"w","s":4,"p', { flag: 'a' });
  const second = new Spool(file, 1 << 20);
  const { records: batch, bytes } = second.peek(100);
  assert.deepEqual(batch.map((r) => r.seq), [1, 2, 3]);
  second.commit(bytes);
  const torn = second.peek(100);
  assert.deepEqual(torn.records, []);
  second.commit(torn.bytes);
  assert.equal(second.empty, true);
  second.close();
});

void test('a failing store: batches spool in order, later ones too, and replay delivers all once, in seq order', async (t) => {
  const dir = tempDir(t);
  const store = memoryStore();
  const spool = new Spool(join(dir, 's.spool'), 1 << 20);
  const sink = createBatchedSink({ name: 's', store, spool, maxEvents: 4, maxDelayMs: 5 });
  const all = records(40);
  for (const r of all.slice(0, 10)) sink.write(r);
  await sink.flush();
  assert.deepEqual(store.seqs(), [...Array(10).keys()].map((i) => i + 1));

  store.state.down = true;
  for (const r of all.slice(10, 20)) sink.write(r);
  await sink.flush(); // one bounded replay attempt; the store is still down
  const stats = sink.stats?.() as SinkStats;
  assert.equal(stats.queueDepth, 0);
  assert.ok(stats.spoolBytes > 0);
  assert.ok(stats.batchesError > 0);
  assert.equal(sink.recording?.(), true, 'spooling is recording');

  store.state.down = false;
  // The store is back, but the spool is not empty: these go behind it, not before it.
  for (const r of all.slice(20)) sink.write(r);
  await sink.flush();
  assert.deepEqual(store.seqs(), all.map((r) => r.seq));
  assert.equal(sink.stats?.().spoolBytes, 0);
  assert.equal(sink.stats?.().dropped, 0);
  assert.equal(sink.stats?.().events, 40);
  await sink.close();
});

void test('a full spool with the store down drops, stops recording, and recovers when the store is back', async (t) => {
  const dir = tempDir(t);
  const store = memoryStore();
  const spool = new Spool(join(dir, 's.spool'), 2000);
  const sink = createBatchedSink({ name: 's', store, spool, maxEvents: 50, maxDelayMs: 5 });
  store.state.down = true;
  for (const r of records(50)) sink.write(r);
  await sink.flush();
  assert.ok((sink.stats?.().dropped ?? 0) > 0);
  assert.equal(sink.recording?.(), false);

  store.state.down = false;
  await sink.flush();
  assert.equal(sink.recording?.(), true);
  assert.equal(sink.stats?.().spoolBytes, 0);
  assert.deepEqual(store.seqs(), store.seqs().map((_, i) => i + 1), 'what was kept is a gapless prefix');
  await sink.close();
});

void test('a restart replays the previous run\'s spool before anything new', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 's.spool');
  const old = records(5, 'old');
  const leftover = new Spool(file, 1 << 20);
  leftover.append(old);
  leftover.close();

  const store = memoryStore();
  const seen: string[] = [];
  const writeBatch = store.writeBatch.bind(store);
  const sink = createBatchedSink({
    name: 's',
    store: { ...store, writeBatch: (b: readonly ChainedRecord[]) => (seen.push(...b.map((r) => `${r.writer}:${r.seq}`)), writeBatch(b)) },
    spool: new Spool(file, 1 << 20),
    maxEvents: 100,
    maxDelayMs: 5,
  });
  for (const r of records(2, 'new')) sink.write(r);
  await sink.close();
  assert.deepEqual(seen, ['old:1', 'old:2', 'old:3', 'old:4', 'old:5', 'new:1', 'new:2']);
  assert.equal(statSync(file).size, 0);
});
