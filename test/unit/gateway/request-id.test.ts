import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isValidRequestId } from '../../../src/gateway/headers.ts';
import { createRequestIdGenerator, newRequestId } from '../../../src/gateway/request-id.ts';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('request ids are UUIDv7 carrying the time in ms, valid as x-request-id', () => {
  const at = Date.UTC(2026, 10, 26, 4, 30);
  const id = createRequestIdGenerator({ now: () => at, node: 'a1b2c3d4e5f6' })();
  assert.match(id, UUID_V7);
  assert.equal(parseInt(id.slice(0, 8) + id.slice(9, 13), 16), at);
  assert.ok(id.endsWith('-a1b2c3d4e5f6'));
  assert.ok(isValidRequestId(id));
  assert.match(newRequestId(), UUID_V7);
});

test('ids strictly increase: within one ms, across ms, and when the clock steps back', () => {
  const clock = [1000, 1000, 1000, 1001, 999, 999, 1002];
  let i = 0;
  const next = createRequestIdGenerator({ now: () => clock[i++] as number, node: '000000000000' });
  const ids = clock.map(() => next());
  for (let k = 1; k < ids.length; k++) assert.ok((ids[k] as string) > (ids[k - 1] as string), `${ids[k]} after ${ids[k - 1]}`);
  assert.equal(new Set(ids).size, ids.length);
});

test('a counter that runs out within one ms borrows the next ms instead of repeating an id', () => {
  const next = createRequestIdGenerator({ now: () => 5, node: 'ffffffffffff', counterMax: 0x5000 });
  let prev = next();
  for (let k = 0; k < 0x5000; k++) {
    const id = next();
    assert.ok(id > prev);
    prev = id;
  }
  assert.equal(parseInt(prev.slice(0, 8) + prev.slice(9, 13), 16), 5); // the counter's last value in ms 5
  const borrowed = next();
  assert.ok(borrowed > prev);
  assert.equal(parseInt(borrowed.slice(0, 8) + borrowed.slice(9, 13), 16), 6);
});
