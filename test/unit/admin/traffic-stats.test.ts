// GET /api/stats's counters: 10-second buckets over the last hour, request events only, denied as
// /api/audit counts it, 5xx errors, and p50/p95 from a fixed histogram.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEvent } from '../../../src/audit/event.ts';
import { BUCKET_MS, LATENCY_BOUNDS_MS, createTrafficStats, quantile, statsEndpoint } from '../../../src/admin/traffic-stats.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function request(status: number, durationMs: number, over: { allow?: boolean; code?: string } = {}): AuditEvent {
  return {
    v: 1,
    type: 'request',
    id: 'r',
    time: new Date(T0).toISOString(),
    stage: 'dev',
    who: null,
    what: { method: 'GET', host: 'h', path: '/' },
    decision: over.allow === undefined ? null : { allow: over.allow, mode: 'enforce', policyIds: [], reason: '' },
    outcome: { status, code: over.code ?? 'ok', durationMs, bytesIn: 0, bytesOut: 0 },
    client: { ip: '127.0.0.1' },
  };
}

const system: AuditEvent = { v: 1, type: 'system', id: 's', time: new Date(T0).toISOString(), stage: 'dev', action: 'admin_call', who: null, details: {}, outcome: { status: 401, code: 'admin.unauthorized' } };

test('counts requests, denials (decisions and authn/authz refusals) and 5xx per bucket; system events are not traffic', () => {
  const stats = createTrafficStats();
  stats.observe(request(200, 4), T0 + 1_000);
  stats.observe(request(403, 2, { allow: false, code: 'authz.denied' }), T0 + 2_000);
  stats.observe(request(401, 1, { code: 'authn.missing_credential' }), T0 + 3_000);
  stats.observe(request(404, 1, { code: 'route.not_found' }), T0 + 4_000);
  stats.observe(request(502, 30, { code: 'upstream.unavailable' }), T0 + 5_000);
  stats.observe(system, T0 + 5_000);
  stats.observe(request(200, 8), T0 + BUCKET_MS + 1);
  const buckets = stats.buckets(15 * 60_000, T0 + BUCKET_MS + 5);
  assert.equal(buckets.length, 90);
  const [older, newest] = buckets.slice(-2);
  assert.deepEqual({ ...older, p50Ms: undefined, p95Ms: undefined }, { t: T0, requests: 5, denied: 2, errors: 1, p50Ms: undefined, p95Ms: undefined });
  assert.equal(newest?.t, T0 + BUCKET_MS);
  assert.equal(newest?.requests, 1);
  assert.equal(buckets[0]?.t, T0 + BUCKET_MS - 89 * BUCKET_MS, 'oldest first, covering the window');
  assert.deepEqual(buckets[0], { t: buckets[0]?.t, requests: 0, denied: 0, errors: 0, p50Ms: null, p95Ms: null }, 'empty buckets are included');
});

test('a bucket older than the hour is forgotten when its slot is reused', () => {
  const stats = createTrafficStats();
  stats.observe(request(200, 1), T0);
  stats.observe(request(200, 1), T0 + 3_600_000);
  const hour = stats.buckets(3_600_000, T0 + 3_600_000);
  assert.equal(hour.length, 360);
  assert.equal(hour.reduce((n, b) => n + b.requests, 0), 1);
  assert.equal(stats.buckets(3_600_000, T0 + 7_200_000).reduce((n, b) => n + b.requests, 0), 0, 'an hour later nothing is left');
});

test('p50 and p95 come from the histogram, within the bin of the true value, never above the largest seen', () => {
  const stats = createTrafficStats();
  for (let i = 1; i <= 100; i++) stats.observe(request(200, i), T0);
  const [b] = stats.buckets(BUCKET_MS, T0);
  const near = (got: number | null | undefined, want: number) => {
    assert.ok(got !== null && got !== undefined);
    const bin = LATENCY_BOUNDS_MS.findIndex((ub) => want <= ub);
    const lower = bin <= 0 ? 0 : (LATENCY_BOUNDS_MS[bin - 1] ?? 0);
    assert.ok(got >= lower && got <= (LATENCY_BOUNDS_MS[bin] ?? Infinity), `${got} in the bin of ${want}`);
  };
  near(b?.p50Ms, 50);
  near(b?.p95Ms, 95);
  assert.equal(quantile(new Uint32Array(LATENCY_BOUNDS_MS.length + 1), 0, 0.5, 0), null);
  const overflow = new Uint32Array(LATENCY_BOUNDS_MS.length + 1);
  overflow[LATENCY_BOUNDS_MS.length] = 1;
  const high = quantile(overflow, 1, 0.95, 45_000) ?? 0;
  assert.ok(high > 30_000 && high <= 45_000, `beyond the last bound: between it and the largest value seen (${high})`);
  assert.ok((quantile(Uint32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 4]), 4, 0.95, 31) ?? 0) <= 31, 'never above the largest value seen');
});

test('GET /api/stats: window=15m|1h, nothing else', () => {
  const stats = createTrafficStats();
  const ok = statsEndpoint({ requestId: 'r', query: new URLSearchParams('window=1h') }, stats, T0);
  assert.equal(ok.status, 200);
  const body = JSON.parse(ok.body) as { bucketMs: number; now: number; buckets: unknown[] };
  assert.equal(body.bucketMs, 10_000);
  assert.equal(body.now, T0);
  assert.equal(body.buckets.length, 360);
  assert.equal((JSON.parse(statsEndpoint({ requestId: 'r', query: new URLSearchParams() }, stats, T0).body) as { buckets: unknown[] }).buckets.length, 90);
  assert.equal(statsEndpoint({ requestId: 'r', query: new URLSearchParams('window=2d') }, stats, T0).status, 400);
  assert.equal(statsEndpoint({ requestId: 'r', query: new URLSearchParams('since=1h') }, stats, T0).status, 400);
  assert.equal(statsEndpoint({ requestId: 'r', query: new URLSearchParams() }, undefined, T0).status, 404);
});
