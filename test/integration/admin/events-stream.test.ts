// GET /api/events end to end: a real gateway (token exchange, a real IdP, a recording upstream),
// the live stream read with undici, authenticated by the admin token or by the cookie of
// POST /api/session; filters, a slow reader's bounded backlog, and the end of streams at shutdown.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent, RequestAuditEvent } from '../../../src/audit/event.ts';
import { ADMIN_TOKEN } from '../../helpers/gateway.ts';
import { assertProblem, header, send } from '../../helpers/gateway-checks.ts';
import { bearer } from '../../helpers/identity.ts';
import { startExchangeWorld } from '../credentials/exchange-setup.ts';
import type { ExchangeWorld } from '../credentials/exchange-setup.ts';
import { openSse } from './sse-kit.ts';
import type { SseMessage } from './sse-kit.ts';

const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };

const eventOf = (m: SseMessage): AuditEvent => JSON.parse(m.data) as AuditEvent;
const requestTo = (path: string) => (m: SseMessage): boolean => {
  if (m.event !== 'audit') return false;
  const e = eventOf(m);
  return e.type === 'request' && e.what.path === path;
};

describe('GET /api/events', () => {
  let w: ExchangeWorld;
  let alice: string;
  let carol: string;
  before(async () => {
    w = await startExchangeWorld();
    alice = await w.idp.tokenFor({ sub: 'alice' });
    carol = await w.idp.tokenFor({ sub: 'carol' });
  });
  after(async () => {
    await w.close();
  });

  test('refuses a caller without the admin token or session cookie', async () => {
    assertProblem(await send(`${w.gw.adminUrl}/api/events`), 401, 'admin.unauthorized');
    assertProblem(await send(`${w.gw.adminUrl}/api/events`, { headers: { cookie: 'cortex_admin=v1.9999999999.' + 'A'.repeat(43) } }), 401, 'admin.unauthorized');
    const wrong = await send(`${w.gw.adminUrl}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'not-the-token' }) });
    assertProblem(wrong, 401, 'admin.unauthorized');
    assert.equal(header(wrong, 'set-cookie'), undefined);
  });

  test('the session cookie opens the stream, and each request arrives as it is written', async () => {
    const session = await send(`${w.gw.adminUrl}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: ADMIN_TOKEN }) });
    assert.equal(session.status, 204, session.body);
    const setCookie = String(header(session, 'set-cookie'));
    assert.match(setCookie, /^cortex_admin=[^;]+;/);
    for (const attr of ['HttpOnly', 'SameSite=Strict', 'Path=/']) assert.ok(setCookie.includes(attr), `${attr} in ${setCookie}`);
    assert.ok(!setCookie.includes(ADMIN_TOKEN), 'the cookie is not the token itself');

    const stream = await openSse(`${w.gw.adminUrl}/api/events`, { cookie: setCookie.split(';')[0] as string });
    try {
      assert.equal(stream.status, 200);
      assert.match(String(stream.headers['content-type']), /^text\/event-stream/);
      const first = await stream.next((m) => m.retry !== undefined, 5_000, 'the retry field');
      assert.equal(first.retry, 2000);

      for (const path of ['/api/orders', '/api/export']) {
        const reply = await send(`${w.gw.url}${path}`, { headers: bearer(alice) });
        assert.equal(reply.status, 200, reply.body);
        const m = await stream.next(requestTo(path), 10_000, `the event of GET ${path}`);
        assert.match(m.id ?? '', /^.+:\d+$/, 'id is <writer>:<seq>');
        const e = eventOf(m) as RequestAuditEvent;
        assert.equal(e.id, header(reply, 'x-request-id'));
        assert.equal(e.who?.subject, 'alice');
        assert.equal(e.decision?.allow, true);
      }
    } finally {
      stream.close();
    }
  });

  test('a change made with the cookie must come from the admin listener\'s own origin', async () => {
    const session = await send(`${w.gw.adminUrl}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: ADMIN_TOKEN }) });
    const cookie = String(header(session, 'set-cookie')).split(';')[0] as string;
    const post = (origin: string) =>
      send(`${w.gw.adminUrl}/api/revocations`, { method: 'POST', headers: { cookie, origin, 'content-type': 'application/json' }, body: '{}' });
    assertProblem(await post(w.gw.url), 401, 'admin.unauthorized', 'from the gateway\'s port: same site, other origin');
    assertProblem(await post(w.gw.adminUrl), 400, 'request.malformed', 'from the admin origin the cookie is accepted');
  });

  test('filters: user and decision=deny pass only that person\'s denials', async () => {
    const stream = await openSse(`${w.gw.adminUrl}/api/events?user=carol&decision=deny&type=request`, AUTH);
    try {
      assert.equal(stream.status, 200);
      assert.equal((await send(`${w.gw.url}/api/orders`, { headers: bearer(carol) })).status, 200, 'carol may read');
      assert.equal((await send(`${w.gw.url}/api/orders`, { method: 'POST', headers: { ...bearer(alice), 'content-type': 'application/json' }, body: '{}' })).status, 200, 'alice may create');
      const denied = await send(`${w.gw.url}/api/orders`, { method: 'POST', headers: { ...bearer(carol), 'content-type': 'application/json' }, body: '{}' });
      assert.equal(denied.status, 403, denied.body);
      const m = await stream.next((x) => x.event === 'audit', 10_000, 'carol\'s denial');
      const e = eventOf(m) as RequestAuditEvent;
      assert.equal(e.id, header(denied, 'x-request-id'), 'the first event through the filter is the denial');
      assert.equal(e.who?.subject, 'carol');
      assert.equal(e.decision?.allow, false);
      for (const other of stream.received().filter((x) => x.event === 'audit')) {
        const o = eventOf(other) as RequestAuditEvent;
        assert.equal(o.who?.subject, 'carol');
        assert.equal(o.decision?.allow, false);
      }
    } finally {
      stream.close();
    }
  });

  test('an unknown or malformed filter is refused', async () => {
    assertProblem(await send(`${w.gw.adminUrl}/api/events?decision=maybe`, { headers: AUTH }), 400, 'request.malformed');
    assertProblem(await send(`${w.gw.adminUrl}/api/events?colour=red`, { headers: AUTH }), 400, 'request.malformed');
  });

  test('a reader that stops reading gets `dropped` with a count, and the gateway keeps answering', async () => {
    const stream = await openSse(`${w.gw.adminUrl}/api/events?type=request`, AUTH);
    try {
      await stream.next((m) => m.retry !== undefined, 5_000, 'the retry field');
      stream.pause();
      // Long paths make big events (the path is in each), so the socket and the bounded backlog fill sooner:
      // here about 750 such events filled the kernel buffers and the backlog; 3,000 leave a wide margin.
      const long = `/nowhere/${'x'.repeat(7_000)}`;
      for (let batch = 0; batch < 120; batch++) {
        const replies = await Promise.all(Array.from({ length: 25 }, () => send(`${w.gw.url}${long}`)));
        for (const r of replies) assert.equal(r.status, 404);
      }
      const meanwhile = await send(`${w.gw.url}/api/orders`, { headers: bearer(alice) });
      assert.equal(meanwhile.status, 200, 'the gateway answers while a viewer is stuck');
      stream.resume();
      const dropped = await stream.next((m) => m.event === 'dropped', 20_000, 'the dropped event');
      const { count } = JSON.parse(dropped.data) as { count: number };
      assert.ok(Number.isInteger(count) && count > 0, `count ${count}`);
      // After the drop the stream goes on: a new request still arrives.
      const later = await send(`${w.gw.url}/api/export`, { headers: bearer(alice) });
      assert.equal(later.status, 200);
      await stream.next(requestTo('/api/export'), 20_000, 'an event after the drop');
    } finally {
      stream.close();
    }
  });

  test('open streams end cleanly when the admin listener closes, and the shutdown does not wait on them', async () => {
    const a = await openSse(`${w.gw.adminUrl}/api/events`, AUTH);
    const b = await openSse(`${w.gw.adminUrl}/api/events?user=alice`, AUTH);
    await a.next((m) => m.retry !== undefined, 5_000);
    await w.gw.runtime.admin.close();
    assert.equal(await a.ended, 'end');
    assert.equal(await b.ended, 'end');
  });
});
