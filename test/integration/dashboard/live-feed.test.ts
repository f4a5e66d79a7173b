// The live feed in a real Chromium: calls made through the gateway as alice, bob and the assistant
// agent acting for bob appear as rows with the request id the caller saw; pause holds new rows
// back (counting them) until resume; the denied-only, person and agent filters narrow what is shown.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../helpers/browser.ts';
import { startDashboardKit, type Call, type Caller, type DashboardKit } from '../../helpers/dashboard-kit.ts';
import { cell, countIn, eventually, feedRow, feedRows, openDashboard, WAIT_MS, type DashboardPage, type DomElement } from './dashboard-page.ts';

const ALICE: Caller = { as: 'alice' };
const BOB: Caller = { as: 'bob' };
const ASSISTANT_FOR_BOB: Caller = { agent: 'assistant', for: 'bob' };

async function expectRow(page: Page, call: Call, who: string, decision: 'allow' | 'deny'): Promise<void> {
  const row = feedRow(page, call.requestId);
  await row.waitFor({ timeout: WAIT_MS });
  assert.match(await cell(row, 'feed-who'), new RegExp(who));
  assert.equal(await cell(row, 'feed-decision'), decision);
  assert.equal(await cell(row, 'feed-status-code'), String(call.status));
  assert.equal(await cell(row, 'feed-path'), call.path);
  const link = await row.getByTestId('feed-who').evaluate((el: DomElement) => (el.closest('a') ?? el.querySelector('a'))?.getAttribute('href'));
  assert.match(link ?? '', new RegExp(`#/people/${who}$`), 'who links to their page');
}

/**
 * A filter may reopen the event stream: until the page shows a fresh call of `caller` that the
 * filter keeps, calls made in between could be missed. Sends one a second until one of them shows.
 */
async function untilFilterLive(kit: DashboardKit, page: Page, caller: Caller, method: string, path: string): Promise<void> {
  const sent: string[] = [];
  await eventually(async () => {
    sent.push((await kit.call(caller, method, path)).requestId);
    const deadline = Date.now() + 1_000;
    while (Date.now() < deadline) {
      for (const id of sent) if ((await feedRow(page, id).count()) > 0) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return undefined;
  }, `a ${method} ${path} row under the filter`);
}

describe('dashboard: the live feed', () => {
  let kit: DashboardKit;
  let browser: Browser;
  let dash: DashboardPage;

  before(async () => {
    kit = await startDashboardKit();
    browser = await launchChromium();
    dash = await openDashboard(browser, kit, '#/');
  });
  after(async () => {
    await dash?.context.close();
    await browser?.close();
    await kit?.close();
  });

  test('calls as alice, bob and the agent for bob appear live with their request id, who, decision and status', async () => {
    const { page } = dash;
    await page.getByTestId('feed-status').filter({ hasText: 'live' }).waitFor({ timeout: WAIT_MS });
    const aliceReads = await kit.call(ALICE, 'GET', '/orders');
    const bobReads = await kit.call(BOB, 'GET', '/orders');
    const bobDeletes = await kit.call(BOB, 'DELETE', '/orders/ord_1003');
    const agentReads = await kit.call(ASSISTANT_FOR_BOB, 'GET', '/orders');
    assert.deepEqual([aliceReads.status, bobReads.status, bobDeletes.status, agentReads.status], [200, 200, 403, 200]);
    await expectRow(page, aliceReads, 'alice', 'allow');
    await expectRow(page, bobReads, 'bob', 'allow');
    await expectRow(page, bobDeletes, 'bob', 'deny');
    await expectRow(page, agentReads, 'assistant', 'allow');
    assert.match(await cell(feedRow(page, agentReads.requestId), 'feed-kind'), /agent/);
    assert.match(await cell(feedRow(page, bobReads.requestId), 'feed-intent'), /orders:read/);
    assert.match(await cell(feedRow(page, bobReads.requestId), 'feed-latency'), /\d/);
    // Newest first.
    const order = (await feedRows(page)).map((r) => r.requestId);
    assert.ok(order.indexOf(agentReads.requestId) < order.indexOf(aliceReads.requestId), 'the newest call is above the oldest');
  });

  test('pause holds new rows back and counts them; resume shows them', async () => {
    const { page } = dash;
    const pause = page.getByTestId('feed-pause');
    await pause.click();
    await page.getByTestId('feed-status').filter({ hasText: 'paused' }).waitFor({ timeout: WAIT_MS });
    assert.equal((await pause.textContent())?.trim(), 'Resume');
    const held = [await kit.call(ALICE, 'GET', '/orders'), await kit.call(BOB, 'GET', '/orders/ord_1001')];
    const buffered = await eventually(async () => {
      const n = countIn(await page.getByTestId('feed-buffered').textContent({ timeout: WAIT_MS }));
      return n !== undefined && n >= held.length ? n : undefined;
    }, 'the buffered count to reach the calls made while paused');
    assert.ok(buffered >= held.length);
    for (const call of held) assert.equal(await feedRow(page, call.requestId).count(), 0, 'no row appears while paused');
    await pause.click();
    await page.getByTestId('feed-status').filter({ hasText: 'live' }).waitFor({ timeout: WAIT_MS });
    assert.equal((await pause.textContent())?.trim(), 'Pause');
    await expectRow(page, held[0] as Call, 'alice', 'allow');
    await expectRow(page, held[1] as Call, 'bob', 'deny');
  });

  test('denied only shows only denials', async () => {
    const { page } = dash;
    await page.getByTestId('feed-denied-only').check();
    await untilFilterLive(kit, page, BOB, 'DELETE', '/orders/ord_1004');
    const allowed = await kit.call(ALICE, 'GET', '/orders');
    const denied = await kit.call(ASSISTANT_FOR_BOB, 'DELETE', '/orders/ord_1003');
    assert.deepEqual([allowed.status, denied.status], [200, 403]);
    await expectRow(page, denied, 'assistant', 'deny');
    assert.equal(await feedRow(page, allowed.requestId).count(), 0, 'an allowed call is not shown');
    const rows = await feedRows(page);
    assert.ok(rows.length > 0);
    for (const row of rows) assert.ok(row.decision === 'deny' || row.status === '401' || row.status === '403', `only denials: ${JSON.stringify(row)}`);
    await page.getByTestId('feed-denied-only').uncheck();
  });

  test('user=bob shows only bob and the agent acting for him', async () => {
    const { page } = dash;
    await page.getByTestId('feed-filter-user').fill('bob');
    await page.getByTestId('feed-filter-user').press('Enter');
    await untilFilterLive(kit, page, BOB, 'GET', '/orders');
    const alices = await kit.call(ALICE, 'GET', '/orders');
    const bobs = await kit.call(BOB, 'GET', '/orders/ord_1003');
    const agents = await kit.call(ASSISTANT_FOR_BOB, 'GET', '/orders');
    await expectRow(page, bobs, 'bob', 'allow');
    await expectRow(page, agents, 'assistant', 'allow');
    assert.equal(await feedRow(page, alices.requestId).count(), 0, "alice's call is not shown");
    const rows = await feedRows(page);
    for (const row of rows) {
      // The token exchange that made the agent's token traded bob's token: it concerns bob too.
      if (row.path === '/.cortex/token') continue;
      assert.match(row.who, /bob|assistant/, `only bob's calls and his agent's: ${JSON.stringify(row)}`);
    }
  });

  test('agent=assistant shows only what the agent did', async () => {
    const { page } = dash;
    await page.getByTestId('feed-filter-user').fill('');
    await page.getByTestId('feed-filter-user').press('Enter');
    await page.getByTestId('feed-filter-agent').fill('assistant');
    await page.getByTestId('feed-filter-agent').press('Enter');
    await untilFilterLive(kit, page, ASSISTANT_FOR_BOB, 'GET', '/orders');
    const bobs = await kit.call(BOB, 'GET', '/orders');
    const agents = await kit.call(ASSISTANT_FOR_BOB, 'GET', '/orders/ord_1004');
    await expectRow(page, agents, 'assistant', 'allow');
    assert.equal(await feedRow(page, bobs.requestId).count(), 0, "bob's own call is not shown");
    for (const row of await feedRows(page)) {
      if (row.path === '/.cortex/token') continue; // the exchange that made the agent's token
      assert.equal(row.kind, 'agent', `only the agent's calls: ${JSON.stringify(row)}`);
    }
  });
});
