// The secret file source: every way a file gets replaced (in place, rename over, a Kubernetes
// `..data` symlink swap, delete and recreate) is picked up without a restart; a file that turns
// empty or disappears keeps the last good value; no value ever reaches a log line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { FileSecret, openSecret } from '../../../src/credentials/upstream-secrets/secret-source.ts';

function captureLog() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

async function until(check: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function setup(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'cortex-secret-'));
  const captured = captureLog();
  const opened: FileSecret[] = [];
  t.after(() => {
    for (const s of opened) s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const open = (file: string) => {
    const s = new FileSecret({ file, log: captured.log, label: 'credential for upstream orders', pollMs: 200 });
    opened.push(s);
    return s;
  };
  const assertNoValueLogged = (...values: string[]) => {
    for (const line of captured.lines) for (const v of values) assert.ok(!line.includes(v), `a log line holds a secret value: ${line}`);
  };
  return { dir, open, lines: captured.lines, assertNoValueLogged };
}

void test('a secret file is read at start, its trailing newline trimmed', (t) => {
  const s = setup(t);
  const file = join(s.dir, 'token');
  writeFileSync(file, 's3cret-one\n');
  assert.equal(s.open(file).current(), 's3cret-one');
});

void test('a file rewritten in place is picked up, logged without its value', async (t) => {
  const s = setup(t);
  const file = join(s.dir, 'token');
  writeFileSync(file, 'value-in-place-1');
  const secret = s.open(file);
  let changes = 0;
  secret.onChange(() => changes++);
  writeFileSync(file, 'value-in-place-2\n');
  await until(() => secret.current() === 'value-in-place-2', 'the new value');
  assert.equal(changes, 1);
  assert.ok(s.lines.some((l) => l.includes('credential for upstream orders refreshed (file changed)')), s.lines.join('\n'));
  s.assertNoValueLogged('value-in-place-1', 'value-in-place-2');
});

void test('a file replaced by rename (how editors and deploy tools save) is picked up', async (t) => {
  const s = setup(t);
  const file = join(s.dir, 'token');
  writeFileSync(file, 'renamed-old');
  const secret = s.open(file);
  writeFileSync(join(s.dir, '.token.tmp'), 'renamed-new');
  renameSync(join(s.dir, '.token.tmp'), file);
  await until(() => secret.current() === 'renamed-new', 'the renamed file');
  s.assertNoValueLogged('renamed-old', 'renamed-new');
});

void test('a Kubernetes secret mount (token -> ..data/token, ..data swapped by rename) is picked up', async (t) => {
  const s = setup(t);
  mkdirSync(join(s.dir, '..2026_01_01_v1'));
  writeFileSync(join(s.dir, '..2026_01_01_v1', 'token'), 'k8s-old');
  symlinkSync('..2026_01_01_v1', join(s.dir, '..data'));
  symlinkSync('..data/token', join(s.dir, 'token'));
  const secret = s.open(join(s.dir, 'token'));
  assert.equal(secret.current(), 'k8s-old');
  // What the kubelet's atomic writer does: a new timestamped directory, a temp link to it renamed over ..data.
  mkdirSync(join(s.dir, '..2026_01_02_v2'));
  writeFileSync(join(s.dir, '..2026_01_02_v2', 'token'), 'k8s-new');
  symlinkSync('..2026_01_02_v2', join(s.dir, '..data_tmp'));
  renameSync(join(s.dir, '..data_tmp'), join(s.dir, '..data'));
  rmSync(join(s.dir, '..2026_01_01_v1'), { recursive: true });
  await until(() => secret.current() === 'k8s-new', 'the swapped secret');
  s.assertNoValueLogged('k8s-old', 'k8s-new');
});

void test('a file deleted keeps the last value (with a warning); recreated, it is picked up', async (t) => {
  const s = setup(t);
  const file = join(s.dir, 'token');
  writeFileSync(file, 'deleted-old');
  const secret = s.open(file);
  unlinkSync(file);
  await until(() => s.lines.some((l) => l.includes('unreadable (ENOENT)')), 'the warning');
  assert.equal(secret.current(), 'deleted-old');
  writeFileSync(file, 'recreated-new');
  await until(() => secret.current() === 'recreated-new', 'the recreated file');
  s.assertNoValueLogged('deleted-old', 'recreated-new');
});

void test('an empty file keeps the last value, warned about once; a good value later is picked up', async (t) => {
  const s = setup(t);
  const file = join(s.dir, 'token');
  writeFileSync(file, 'empty-old');
  const secret = s.open(file);
  writeFileSync(file, '\n');
  await until(() => s.lines.some((l) => l.includes('the secret file is empty; keeping the last value')), 'the warning');
  await new Promise((r) => setTimeout(r, 500)); // a few polls: the warning is not repeated
  assert.equal(s.lines.filter((l) => l.includes('is empty')).length, 1);
  assert.equal(secret.current(), 'empty-old');
  writeFileSync(file, 'after-empty');
  await until(() => secret.current() === 'after-empty', 'the good value');
  s.assertNoValueLogged('empty-old', 'after-empty');
});

void test('a value a header cannot carry (a line break inside) keeps the last value', async (t) => {
  const s = setup(t);
  const file = join(s.dir, 'token');
  writeFileSync(file, 'good-value');
  const secret = s.open(file);
  writeFileSync(file, 'bad\r\nx-injected: 1');
  await until(() => s.lines.some((l) => l.includes('characters a header cannot carry')), 'the warning');
  assert.equal(secret.current(), 'good-value');
});

void test('a secret file missing at start is a config problem (a typo should not become 503s)', (t) => {
  const s = setup(t);
  const opened = openSecret({ file: join(s.dir, 'nope') }, { log: pino({ level: 'silent' }), label: 'credential for upstream orders' });
  assert.equal(opened.ok, false);
  assert.match(opened.ok ? '' : opened.problem, /holds no usable secret/);
  const inline = openSecret({ value: 'a\nb' }, { log: pino({ level: 'silent' }), label: 'x' });
  assert.equal(inline.ok, false);
});
