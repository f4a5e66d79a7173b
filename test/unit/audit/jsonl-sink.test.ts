import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createChain } from '../../../src/audit/chain.ts';
import { buildAuditEvent } from '../../../src/audit/event.ts';
import type { AuditEvent } from '../../../src/audit/event.ts';
import type { ChainedRecord } from '../../../src/audit/record.ts';
import { createJsonlSink } from '../../../src/audit/jsonl-sink.ts';
import { AuditLog, createAuditLog } from '../../../src/audit/sink.ts';
import type { AuditSink, SinkResult } from '../../../src/audit/sink.ts';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'cortex-audit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function event(i: number): AuditEvent {
  return buildAuditEvent({
    id: `req-${i}`,
    time: Date.UTC(2025, 0, 1) + i,
    stage: 'test',
    request: { method: 'GET', host: 'h', path: `/items/${i}`, clientIp: '127.0.0.1' },
    outcome: { status: 200, code: 'ok', durationMs: 1, bytesIn: 0, bytesOut: 0 },
  });
}

const chain = createChain('test/1/0/00000000');
function record(i: number): ChainedRecord {
  return chain.next(event(i));
}

/** The event of a record line `{ writer, seq, prevHash, hash, event }`. */
function eventOf(line: string): AuditEvent {
  return (JSON.parse(line) as { event: AuditEvent }).event;
}

function lines(path: string): string[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  return text === '' ? [] : text.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
}

async function until(check: () => boolean, what: string): Promise<void> {
  // Generous deadline: this waits for a behaviour, it does not measure time.
  for (let i = 0; i < 300; i++) {
    if (check()) return;
    await sleep(20);
  }
  assert.fail(`timed out waiting for ${what}`);
}

void test('1,000 events then close: exactly 1,000 parseable lines, in order', async (t) => {
  const path = join(tempDir(t), 'nested', 'dir', 'audit.jsonl');
  const sink = createJsonlSink(path);
  for (let i = 0; i < 1000; i++) sink.write(record(i));
  await sink.close();

  const got = lines(path);
  assert.equal(got.length, 1000);
  let prev = '';
  got.forEach((line, i) => {
    const r = JSON.parse(line) as { writer: string; seq: number; prevHash: string; hash: string; event: AuditEvent };
    assert.deepEqual(Object.keys(r), ['writer', 'seq', 'prevHash', 'hash', 'event']);
    assert.equal(r.event.id, `req-${i}`);
    assert.equal(r.event.v, 1);
    if (i > 0) assert.equal(r.prevHash, prev);
    prev = r.hash;
  });
});

void test('the file is created with mode 0600', async (t) => {
  const path = join(tempDir(t), 'audit.jsonl');
  const sink = createJsonlSink(path);
  sink.write(record(1));
  await sink.close();
  assert.equal(statSync(path).mode & 0o777, 0o600);
});

void test('a quiet sink flushes on its timer, without close', async (t) => {
  const path = join(tempDir(t), 'audit.jsonl');
  const sink = createJsonlSink(path);
  t.after(() => sink.close());
  sink.write(record(7));
  // One small event is far below minLength: only the timer can push it out.
  await until(() => lines(path).length === 1, 'the timer flush');
  assert.equal(eventOf(lines(path)[0] ?? '').id, 'req-7');
});

void test('flush() resolves once earlier events are in the file', async (t) => {
  const path = join(tempDir(t), 'audit.jsonl');
  const sink = createJsonlSink(path, { flushIntervalMs: 60_000 });
  t.after(() => sink.close());
  sink.write(record(1));
  sink.write(record(2));
  await sink.flush();
  assert.equal(lines(path).length, 2);
});

void test('appends to an existing file', async (t) => {
  const path = join(tempDir(t), 'audit.jsonl');
  const first = createJsonlSink(path);
  first.write(record(1));
  await first.close();
  const second = createJsonlSink(path);
  second.write(record(2));
  await second.close();
  assert.deepEqual(
    lines(path).map((l) => eventOf(l).id),
    ['req-1', 'req-2'],
  );
});

void test('writes after close throw from the sink and are counted as dropped by AuditLog', async (t) => {
  const path = join(tempDir(t), 'audit.jsonl');
  const sink = createJsonlSink(path);
  await sink.close();
  assert.throws(() => sink.write(record(1)), /closed/);
  await sink.close(); // idempotent
});

void test('a destination that cannot be opened surfaces through AuditLog as drops, never as a throw', async (t) => {
  const dir = tempDir(t);
  const good = join(dir, 'good.jsonl');
  const unopenable = join(dir, 'is-a-directory');
  mkdirSync(unopenable);
  const results: [string, SinkResult][] = [];
  const warnings: Record<string, unknown>[] = [];
  const log = createAuditLog(
    [createJsonlSink(good, { name: 'good' }), createJsonlSink(unopenable, { name: 'bad' })],
    (sink, result) => results.push([sink, result]),
    { warn: (obj) => warnings.push(obj) },
  );

  await until(() => {
    log.write(event(results.length));
    return results.some(([s, r]) => s === 'bad' && r === 'dropped');
  }, 'the open error');
  assert.ok(results.filter(([s]) => s === 'good').every(([, r]) => r === 'ok'));
  assert.equal(warnings[0]?.sink, 'bad');
  await log.close();
  assert.equal(lines(good).length, results.filter(([s]) => s === 'good').length);
});

void test('AuditLog fans out to every sink and contains a throwing one', async () => {
  const seen: string[] = [];
  const ok: AuditSink = {
    name: 'memory',
    write: (r) => void seen.push(r.event.id),
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  const broken: AuditSink = {
    name: 'broken',
    write: () => {
      throw new Error('disk on fire');
    },
    flush: () => Promise.reject(new Error('still on fire')),
    close: () => Promise.resolve(),
  };
  const results: string[] = [];
  const warnings: Record<string, unknown>[] = [];
  let now = 0;
  const log = new AuditLog([ok, broken], {
    onResult: (sink, result) => results.push(`${sink}:${result}`),
    log: { warn: (obj) => warnings.push(obj) },
    logIntervalMs: 1000,
    now: () => now,
  });

  log.write(event(1));
  log.write(event(2));
  now = 1000;
  log.write(event(3));
  assert.deepEqual(seen, ['req-1', 'req-2', 'req-3']);
  assert.deepEqual(results, ['memory:ok', 'broken:dropped', 'memory:ok', 'broken:dropped', 'memory:ok', 'broken:dropped']);
  // Logged once, then throttled: the next log line says how many were not logged.
  assert.equal(warnings.length, 2);
  assert.equal(warnings[1]?.suppressed, 1);

  await log.flush(); // a sink's flush failure is logged, not thrown
  assert.equal(warnings.length, 3);
  await log.close();
  log.write(event(4));
  assert.deepEqual(seen, ['req-1', 'req-2', 'req-3']);
  assert.deepEqual(results.slice(-2), ['memory:dropped', 'broken:dropped']);
});

void test('AuditLog survives a throwing result callback and rejects duplicate sink names', () => {
  const sink: AuditSink = { name: 's', write: () => {}, flush: () => Promise.resolve(), close: () => Promise.resolve() };
  const log = createAuditLog([sink], () => {
    throw new Error('metrics broke');
  });
  log.write(event(1));
  assert.throws(() => new AuditLog([sink, sink]), /duplicate/);
});
