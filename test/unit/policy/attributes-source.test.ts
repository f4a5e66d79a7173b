// The attribute source against a real HTTP server on port 0: the URL filled from path parameters,
// fields picked from the JSON answer, 404 as "no such object", every other failure as a failed
// lookup, and the per-URL cache and single flight.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { createAttributeSource, fillTemplate, pickAttributes, templateParams } from '../../../src/policy/attribute-source.ts';
import type { AttributeSourceConfig } from '../../../src/policy/attribute-source.ts';

const seen: string[] = [];
let base = '';
let server: http.Server;

const ANSWERS: Record<string, (res: http.ServerResponse) => void> = {
  '/orders/ord_1': (res) => json(res, 200, { owner: 'bob', customer: { id: 'c-7' }, teams: ['a', 'b', 'a'] }),
  '/orders/ord_2': (res) => json(res, 200, { owner: 42 }),
  '/orders/gone': (res) => json(res, 404, { code: 'orders.not_found' }),
  '/orders/broken': (res) => json(res, 500, { owner: 'bob' }),
  '/orders/garbled': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"owner": "bo'),
  '/orders/slow': () => {},
  '/orders/a%2Fb%20c': (res) => json(res, 200, { owner: 'slashed' }),
};

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

before(async () => {
  server = http.createServer((req, res) => {
    seen.push(req.url ?? '');
    const answer = ANSWERS[req.url ?? ''];
    if (answer) answer(res);
    else json(res, 404, {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const source = (over: Partial<AttributeSourceConfig> = {}, now?: () => number) =>
  createAttributeSource({ url: `${base}/orders/{id}`, pick: { owner: 'owner' }, timeoutMs: 2000, cacheSeconds: 5, ...over }, now ? { now } : {});

const countOf = (path: string): number => seen.filter((u) => u === path).length;

test('templates: the parameters named, each value percent-encoded, a missing one refused', () => {
  assert.deepEqual(templateParams('http://x/{tenant}/orders/{id}'), ['tenant', 'id']);
  assert.equal(fillTemplate('http://x/orders/{id}', { id: 'a/b c' }), 'http://x/orders/a%2Fb%20c');
  assert.equal(fillTemplate('http://x/orders/{id}', {}), undefined);
});

test('picking: top-level and dotted fields, strings and string sets, and what does not fit', () => {
  const answer = { owner: 'bob', customer: { id: 'c-7' }, teams: ['a', 'b', 'a'], n: 1 };
  assert.deepEqual(pickAttributes(answer, { owner: 'owner', customer: 'customer.id', teams: { field: 'teams', type: 'set' } }), {
    ok: true, found: true, attributes: { owner: 'bob', customer: 'c-7', teams: ['a', 'b'] },
  });
  assert.deepEqual(pickAttributes(answer, { owner: 'missing' }), { ok: false, error: "field 'missing' is missing" });
  assert.deepEqual(pickAttributes(answer, { owner: 'n' }), { ok: false, error: "field 'n' is not a string" });
  assert.deepEqual(pickAttributes(answer, { teams: { field: 'owner', type: 'set' } }), { ok: false, error: "field 'owner' is not an array of strings" });
  assert.equal(pickAttributes(['owner'], { owner: 'owner' }).ok, false);
});

test('a lookup fills the URL, encodes the parameter, and picks the attributes', async () => {
  assert.deepEqual(await source().lookup({ id: 'ord_1' }), { ok: true, found: true, attributes: { owner: 'bob' } });
  assert.deepEqual(await source().lookup({ id: 'a/b c' }), { ok: true, found: true, attributes: { owner: 'slashed' } });
  assert.equal(countOf('/orders/a%2Fb%20c'), 1);
});

test('a 404 is a lookup that found nothing: no attributes, not a failure', async () => {
  assert.deepEqual(await source().lookup({ id: 'gone' }), { ok: true, found: false, attributes: {} });
});

test('every other failure is a failed lookup, with its cause', async () => {
  const cases: [string, Partial<AttributeSourceConfig>, RegExp][] = [
    ['broken', {}, /answered 500/],
    ['garbled', {}, /other than JSON/],
    ['ord_2', {}, /'owner' is not a string/],
    ['ord_1', { pick: { owner: 'nobody' } }, /'nobody' is missing/],
    ['slow', { timeoutMs: 150 }, /did not answer within 150 ms/],
  ];
  for (const [id, over, error] of cases) {
    const found = await source(over).lookup({ id });
    assert.equal(found.ok, false, id);
    if (!found.ok) assert.match(found.error, error, id);
  }
  const down = createAttributeSource({ url: 'http://127.0.0.1:1/orders/{id}', pick: { owner: 'owner' }, timeoutMs: 2000, cacheSeconds: 5 });
  const found = await down.lookup({ id: 'ord_1' });
  assert.equal(found.ok, false);
  if (!found.ok) assert.match(found.error, /unreachable \(ECONNREFUSED\)/);
});

test('answers are cached per URL for cacheSeconds, and one lookup per URL is in flight', async () => {
  let nowMs = 1_000_000;
  const s = source({}, () => nowMs);
  const before = countOf('/orders/ord_1');
  const [a, b] = await Promise.all([s.lookup({ id: 'ord_1' }), s.lookup({ id: 'ord_1' })]);
  assert.deepEqual(a, b);
  await s.lookup({ id: 'ord_1' });
  assert.equal(countOf('/orders/ord_1') - before, 1, 'concurrent and repeated lookups share one request');
  assert.deepEqual(s.stats(), { lookups: 1, hits: 2 });
  nowMs += 5_001;
  await s.lookup({ id: 'ord_1' });
  assert.equal(countOf('/orders/ord_1') - before, 2, 'past cacheSeconds the source is asked again');
});

test('failures are not cached', async () => {
  const s = source();
  const before = countOf('/orders/broken');
  await s.lookup({ id: 'broken' });
  await s.lookup({ id: 'broken' });
  assert.equal(countOf('/orders/broken') - before, 2);
});
