import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { TracingSlot, tracingSdkLoads } from '../../../src/telemetry/tracing.ts';

void test('an unconfigured slot stays the no-op: no SDK loaded, nothing to flush or close', async () => {
  const slot = new TracingSlot();
  await slot.configure(undefined, pino({ level: 'silent' }));
  assert.equal(slot.current, undefined);
  assert.equal(tracingSdkLoads(), 0);
  await slot.flush();
  await slot.close();
});

void test('a configured slot loads the SDK once, however often it is configured, and close() returns it to the no-op', async () => {
  const slot = new TracingSlot();
  const cfg = { otlpEndpoint: 'http://127.0.0.1:9/v1/traces', serviceName: 'cortex', sampleRatio: 0 };
  await slot.configure(cfg, pino({ level: 'silent' }));
  await slot.configure(cfg, pino({ level: 'silent' }));
  assert.equal(tracingSdkLoads(), 1);
  assert.ok(slot.current);
  await slot.close();
  assert.equal(slot.current, undefined);
});
