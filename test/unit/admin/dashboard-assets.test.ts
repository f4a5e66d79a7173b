// The dashboard's static files on the admin listener, served from a built dist folder made here.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createDashboardAssets, DASHBOARD_CSP } from '../../../src/admin/dashboard-assets.ts';
import type { AdminReply } from '../../../src/admin/replies.ts';

const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

const INDEX = '<!doctype html><script type="module" src="/assets/main-ABC123.js"></script>';
const SCRIPT = 'console.log("dashboard")';
const STYLE = 'body{color:#111}';

/** A dist folder as dashboard/build.mjs writes it, inside a fresh temp dir (the dir is returned). */
function builtDist(): { root: string; dist: string } {
  const root = mkdtempSync(join(tmpdir(), 'cortex-dashboard-'));
  made.push(root);
  const dist = join(root, 'dist');
  mkdirSync(join(dist, 'assets'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), INDEX);
  writeFileSync(join(dist, 'assets', 'main-ABC123.js'), SCRIPT);
  writeFileSync(join(dist, 'assets', 'main-DEF456.css'), STYLE);
  writeFileSync(join(dist, 'assets', 'notes.bin'), 'not a served type');
  writeFileSync(join(root, 'secret.txt'), 'outside dist');
  return { root, dist };
}

function answer(dist: string, method: string, path: string): AdminReply {
  const reply = createDashboardAssets(dist).answer(method, path, 'req-1');
  assert.ok(reply !== undefined, `${method} ${path} is a dashboard path`);
  return reply;
}

function assertSecurityHeaders(reply: AdminReply): void {
  assert.equal(reply.headers?.['content-security-policy'], DASHBOARD_CSP);
  assert.equal(reply.headers?.['x-frame-options'], 'DENY');
  assert.equal(reply.headers?.['referrer-policy'], 'no-referrer');
}

test('GET / answers index.html, never cached, under the strict CSP', () => {
  const { dist } = builtDist();
  for (const path of ['/', '/index.html']) {
    const reply = answer(dist, 'GET', path);
    assert.equal(reply.status, 200);
    assert.equal(reply.contentType, 'text/html; charset=utf-8');
    assert.equal(reply.body, INDEX);
    assert.equal(reply.headers?.['cache-control'], 'no-store');
    assertSecurityHeaders(reply);
  }
  assert.equal(answer(dist, 'HEAD', '/').status, 200, 'HEAD too (the server drops the body)');
  assert.match(DASHBOARD_CSP, /script-src 'self'; style-src 'self';/);
  assert.doesNotMatch(DASHBOARD_CSP, /unsafe-inline/);
});

test('hashed assets are served with their type and cached for good', () => {
  const { dist } = builtDist();
  const js = answer(dist, 'GET', '/assets/main-ABC123.js');
  assert.equal(js.status, 200);
  assert.equal(js.contentType, 'text/javascript; charset=utf-8');
  assert.equal(js.body, SCRIPT);
  assert.equal(js.headers?.['cache-control'], 'public, max-age=31536000, immutable');
  assertSecurityHeaders(js);
  const css = answer(dist, 'GET', '/assets/main-DEF456.css');
  assert.equal(css.contentType, 'text/css; charset=utf-8');
  assert.equal(css.body, STYLE);
});

test('unknown names, unserved types and traversal are refused with 404', () => {
  const { dist } = builtDist();
  const refused = [
    '/assets/',
    '/assets/missing.js',
    '/assets/notes.bin',
    '/assets/../index.html',
    '/assets/../../secret.txt',
    '/assets/..%2F..%2Fsecret.txt',
    '/assets/%2e%2e/secret.txt',
    '/assets/sub/main-ABC123.js',
    '/assets//main-ABC123.js',
  ];
  for (const path of refused) {
    const reply = answer(dist, 'GET', path);
    assert.equal(reply.status, 404, path);
    assert.equal((JSON.parse(reply.body) as { code: string }).code, 'admin.not_found', path);
    assert.doesNotMatch(reply.body, /outside dist|console\.log/, path);
  }
});

test('only GET and HEAD; every other path is left to the endpoint table', () => {
  const { dist } = builtDist();
  const post = answer(dist, 'POST', '/');
  assert.equal(post.status, 405);
  assert.equal(post.headers?.allow, 'GET, HEAD');
  assert.equal(answer(dist, 'DELETE', '/assets/main-ABC123.js').status, 405);
  const assets = createDashboardAssets(dist);
  for (const path of ['/healthz', '/api/status', '/metrics', '/assetsx/main-ABC123.js', '/index.htm']) {
    assert.equal(assets.answer('GET', path, 'req-1'), undefined, path);
  }
});

test('a missing dist answers 503 admin.dashboard_not_built, then serves once the dashboard is built', () => {
  const root = mkdtempSync(join(tmpdir(), 'cortex-dashboard-'));
  made.push(root);
  const dist = join(root, 'dist');
  const assets = createDashboardAssets(dist);
  const reply = assets.answer('GET', '/', 'req-1');
  assert.equal(reply?.status, 503);
  assert.equal(reply.contentType, 'text/html; charset=utf-8');
  assert.match(reply.body, /npm run build:dashboard/);
  assert.match(reply.body, /admin\.dashboard_not_built/);
  assertSecurityHeaders(reply);
  assert.equal(assets.answer('GET', '/assets/main-ABC123.js', 'req-1')?.status, 404);

  mkdirSync(join(dist, 'assets'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), INDEX);
  writeFileSync(join(dist, 'assets', 'main-ABC123.js'), SCRIPT);
  assert.equal(assets.answer('GET', '/', 'req-2')?.body, INDEX);
  assert.equal(assets.answer('GET', '/assets/main-ABC123.js', 'req-3')?.body, SCRIPT);
});

test('a rebuild is picked up at the next visit to /, with its new asset names', () => {
  const { dist } = builtDist();
  const assets = createDashboardAssets(dist);
  assert.equal(assets.answer('GET', '/assets/main-NEW789.js', 'req-1')?.status, 404);
  const rebuilt = INDEX.replace('main-ABC123.js', 'main-NEW789.js');
  writeFileSync(join(dist, 'index.html'), rebuilt);
  writeFileSync(join(dist, 'assets', 'main-NEW789.js'), 'console.log("v2")');
  const later = new Date(Date.now() + 60_000);
  utimesSync(join(dist, 'index.html'), later, later);
  assert.equal(assets.answer('GET', '/', 'req-2')?.body, rebuilt);
  assert.equal(assets.answer('GET', '/assets/main-NEW789.js', 'req-3')?.body, 'console.log("v2")');
  rmSync(join(dist, 'index.html'));
  assert.equal(assets.answer('GET', '/', 'req-4')?.status, 503, 'a removed dist is reported, not served from memory');
});
