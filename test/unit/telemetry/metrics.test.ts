import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry, register as globalRegistry, type OpenMetricsContentType } from 'prom-client';
import { createMetrics } from '../../../src/telemetry/metrics.ts';

/** Metric names from `# TYPE` lines and from sample lines, so nothing slips past the prefix check. */
function metricNames(body: string): Set<string> {
  const names = new Set<string>();
  for (const line of body.split('\n')) {
    if (line === '') continue;
    const match = line.startsWith('#') ? /^# (?:HELP|TYPE) (\S+)/.exec(line) : /^([^{\s]+)/.exec(line);
    if (match?.[1] !== undefined) names.add(match[1]);
  }
  return names;
}

test('render shows the series each call records, with their values', async () => {
  const metrics = createMetrics();
  metrics.request('orders', 'GET', 200, 'ok', 0.003, 'user');
  metrics.request('orders', 'GET', 200, 'ok', 0.004, 'user');
  metrics.request('orders', 'POST', 403, 'authz.denied', 0.0002);
  metrics.upstream('orders-api', 'ok', 0.002);
  metrics.upstream('orders-api', 'timeout', 10);
  metrics.clientError('request.header_too_large');
  metrics.configReload('ok');
  metrics.configReload('error');
  metrics.setSnapshotGeneration(7);
  metrics.auditEvent('jsonl', 'ok');
  metrics.auditEvent('jsonl', 'dropped');
  metrics.setInflight(3);

  const { contentType, body } = await metrics.render();
  assert.match(contentType, /^text\/plain; version=0\.0\.4/);

  const expected = [
    'cortex_requests_total{route="orders",method="GET",status="200",code="ok",kind="user"} 2',
    'cortex_requests_total{route="orders",method="POST",status="403",code="authz.denied",kind="none"} 1',
    'cortex_request_duration_seconds_count{route="orders"} 3',
    'cortex_request_duration_seconds_bucket{le="0.0005",route="orders"} 1',
    'cortex_request_duration_seconds_bucket{le="0.005",route="orders"} 3',
    'cortex_upstream_requests_total{upstream="orders-api",outcome="ok"} 1',
    'cortex_upstream_requests_total{upstream="orders-api",outcome="timeout"} 1',
    'cortex_upstream_duration_seconds_bucket{le="10",upstream="orders-api"} 2',
    'cortex_upstream_duration_seconds_bucket{le="+Inf",upstream="orders-api"} 2',
    'cortex_client_errors_total{code="request.header_too_large"} 1',
    'cortex_config_reloads_total{result="ok"} 1',
    'cortex_config_reloads_total{result="error"} 1',
    'cortex_config_generation 7',
    'cortex_audit_events_total{sink="jsonl",result="ok"} 1',
    'cortex_audit_events_total{sink="jsonl",result="dropped"} 1',
    'cortex_requests_in_flight 3',
  ];
  const lines = new Set(body.split('\n'));
  for (const line of expected) assert.ok(lines.has(line), `missing: ${line}`);

  const lastReload = /^cortex_config_last_reload_success_timestamp_seconds (\S+)$/m.exec(body);
  assert.ok(lastReload?.[1] !== undefined, 'last reload timestamp present');
  assert.ok(Math.abs(Number(lastReload[1]) - Date.now() / 1000) < 60);
});

test('every metric name, default process metrics included, starts with cortex_', async () => {
  const metrics = createMetrics();
  metrics.request('r', 'GET', 200, 'ok', 0.001);
  const names = metricNames((await metrics.render()).body);
  assert.ok(names.has('cortex_process_cpu_user_seconds_total'), 'default process metrics are included');
  for (const name of names) assert.ok(name.startsWith('cortex_'), `${name} lacks the cortex_ prefix`);
});

test('each instance owns its registry and leaves the global one alone', async () => {
  const a = createMetrics();
  const b = createMetrics();
  a.setSnapshotGeneration(1);
  b.setSnapshotGeneration(2);
  assert.notEqual(a.registry, b.registry);
  assert.match((await a.render()).body, /^cortex_config_generation 1$/m);
  assert.match((await b.render()).body, /^cortex_config_generation 2$/m);
  assert.doesNotMatch(await globalRegistry.metrics(), /cortex_/);
});

test('a hot series keeps counting into the one series it found', async () => {
  const metrics = createMetrics();
  for (let i = 0; i < 1000; i++) metrics.request('hot', 'GET', 200, 'ok', 0.001, 'service');
  const { body } = await metrics.render();
  assert.match(body, /^cortex_requests_total\{route="hot",method="GET",status="200",code="ok",kind="service"\} 1000$/m);
});

test('histogram buckets are inclusive upper bounds, with sum and count', async () => {
  const metrics = createMetrics();
  for (const seconds of [0.0005, 0.0006, 0.001, 12]) metrics.upstream('u', 'ok', seconds);
  const lines = new Set((await metrics.render()).body.split('\n'));
  for (const line of [
    'cortex_upstream_duration_seconds_bucket{le="0.0005",upstream="u"} 1',
    'cortex_upstream_duration_seconds_bucket{le="0.001",upstream="u"} 3',
    'cortex_upstream_duration_seconds_bucket{le="10",upstream="u"} 3',
    'cortex_upstream_duration_seconds_bucket{le="+Inf",upstream="u"} 4',
    'cortex_upstream_duration_seconds_sum{upstream="u"} 12.0021',
    'cortex_upstream_duration_seconds_count{upstream="u"} 4',
  ]) {
    assert.ok(lines.has(line), `missing: ${line}`);
  }
});

test('the registry also renders JSON and OpenMetrics, and resets', async () => {
  const metrics = createMetrics();
  metrics.request('r', 'GET', 200, 'ok', 0.01);
  const json = await metrics.registry.getMetricsAsJSON();
  const requests = json.find((m) => m.name === 'cortex_requests_total');
  assert.deepEqual(requests?.values, [{ value: 1, labels: { route: 'r', method: 'GET', status: '200', code: 'ok', kind: 'none' } }]);

  // The registry is typed for Prometheus text; a scraper may still switch it to OpenMetrics.
  (metrics.registry as unknown as Registry<OpenMetricsContentType>).setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const open = await metrics.render();
  assert.match(open.contentType, /^application\/openmetrics-text/);
  assert.match(open.body, /^cortex_requests_total\{route="r",method="GET",status="200",code="ok",kind="none"\} 1$/m);
  assert.match(open.body, /^# TYPE cortex_requests counter$/m);

  metrics.registry.resetMetrics();
  metrics.request('r', 'GET', 200, 'ok', 0.01);
  assert.match((await metrics.render()).body, /^cortex_requests_total\{[^}]*\} 1$/m);
});

test('decision latency and signing-key age', async () => {
  const metrics = createMetrics();
  metrics.authz('orders', 'orders:read', 'allow', 0.00003);
  metrics.authz('orders', 'orders:read', 'deny', 0.002);
  const created = Date.now() - 90_000;
  metrics.setSigningKeys(() => [{ kid: 'k1', state: 'active', createdAt: created }, { kid: 'k0', state: 'retired', createdAt: created - 1000 }]);
  const { body } = await metrics.render();
  assert.match(body, /^cortex_decision_duration_seconds_bucket\{le="0.00005"\} 1$/m);
  assert.match(body, /^cortex_decision_duration_seconds_count 2$/m);
  const age = /^cortex_signing_key_age_seconds\{kid="k1",state="active"\} (\S+)$/m.exec(body);
  assert.ok(age && Number(age[1]) >= 90, body);
  assert.match(body, /^cortex_signing_key_age_seconds\{kid="k0",state="retired"\} /m);
});
