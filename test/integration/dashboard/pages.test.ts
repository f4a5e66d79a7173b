// The dashboard's pages besides the feed, in a real Chromium. Bob's page lists his calls by request
// id, his denials with their reason, and the agent acting for him; the agent's own page lists what
// it did for him. The explainer's decision, reason and policies equal what the real
// `cortex explain --json` prints for the same caller and request against the same config. The
// routes view has a row per configured route with a grant cell per stage; the overview draws the
// traffic, denial and latency charts and lists the signing keys.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../helpers/browser.ts';
import { startDashboardKit, type Call, type DashboardKit } from '../../helpers/dashboard-kit.ts';
import { attributes, choose, freshView, openDashboard, WAIT_MS, type DashboardPage } from './dashboard-page.ts';

const CORTEX_BIN = fileURLToPath(new URL('../../../bin/cortex.js', import.meta.url));

interface Explained {
  decision: string;
  reason: string;
  policies: string[];
}

/** `cortex explain --json` as a child process, as an operator runs it. */
function cortexExplain(kit: DashboardKit, c: ExplainCase): Promise<Explained> {
  const who = c.agent === undefined ? ['--as', c.person] : ['--agent', c.agent, '--for', c.person];
  const resource = c.resource === undefined ? [] : ['--resource', c.resource];
  const args = [CORTEX_BIN, 'explain', '--config', kit.configPath, ...who, ...resource, '--json', c.method, c.path];
  const child = spawn(process.execPath, args, { env: kit.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('close', (code) => {
      if (code !== 0 && code !== 1) return reject(new Error(`cortex explain exited ${code}: ${stderr}`));
      const e = JSON.parse(stdout) as Explained;
      resolve({ decision: e.decision, reason: e.reason, policies: [...e.policies].sort() });
    });
  });
}

interface ExplainCase {
  label: string;
  person: string;
  agent?: string;
  method: string;
  path: string;
  /** The route's resource attributes, as `--resource NAME=VALUE` and the page's attribute field take them. */
  resource?: string;
}

const CASES: ExplainCase[] = [
  { label: 'bob reads the orders list', person: 'bob', method: 'GET', path: '/orders' },
  { label: 'bob deletes an order', person: 'bob', method: 'DELETE', path: '/orders/ord_1003' },
  { label: 'the agent for bob reads the orders list', person: 'bob', agent: 'assistant', method: 'GET', path: '/orders' },
  { label: 'the agent for bob deletes an order', person: 'bob', agent: 'assistant', method: 'DELETE', path: '/orders/ord_1003' },
  { label: "bob reads alice's order (owner given)", person: 'bob', method: 'GET', path: '/orders/ord_1001', resource: 'owner=alice' },
  { label: 'bob reads his own order (owner given)', person: 'bob', method: 'GET', path: '/orders/ord_1003', resource: 'owner=bob' },
  { label: "the agent for bob reads alice's order (owner given)", person: 'bob', agent: 'assistant', method: 'GET', path: '/orders/ord_1001', resource: 'owner=alice' },
];

describe('dashboard: person pages, the explainer, routes and overview', () => {
  let kit: DashboardKit;
  let browser: Browser;
  let dash: DashboardPage;
  let bobReads: Call;
  let bobReadsAlices: Call;
  let bobDeletes: Call;
  let agentReads: Call;
  let agentDeletes: Call;
  let expected: Promise<Explained[]>;

  before(async () => {
    kit = await startDashboardKit();
    // The CLI runs take a while each (a fresh Node loading the policy engine): all at once, meanwhile.
    expected = Promise.all(CASES.map((c) => cortexExplain(kit, c)));
    expected.catch(() => undefined);
    browser = await launchChromium();
    await kit.call({ as: 'alice' }, 'GET', '/orders');
    bobReads = await kit.call({ as: 'bob' }, 'GET', '/orders');
    bobReadsAlices = await kit.call({ as: 'bob' }, 'GET', '/orders/ord_1001');
    bobDeletes = await kit.call({ as: 'bob' }, 'DELETE', '/orders/ord_1003');
    agentReads = await kit.call({ agent: 'assistant', for: 'bob' }, 'GET', '/orders/ord_1003');
    agentDeletes = await kit.call({ agent: 'assistant', for: 'bob' }, 'DELETE', '/orders/ord_1004');
    assert.deepEqual(
      [bobReads, bobReadsAlices, bobDeletes, agentReads, agentDeletes].map((c) => c.status),
      [200, 403, 403, 200, 403],
    );
    await kit.untilAudited([bobReads, bobReadsAlices, bobDeletes, agentReads, agentDeletes]);
    dash = await openDashboard(browser, kit, '#/');
  });
  after(async () => {
    await dash?.context.close();
    await browser?.close();
    await kit?.close();
  });

  test("bob's page lists his calls, his denials with the reason, and the agent acting for him", async () => {
    const page = await freshView(dash.context, kit, '#/people/bob');
    await page.getByTestId('person-name').filter({ hasText: 'bob' }).waitFor({ timeout: WAIT_MS });
    const call = page.locator(`[data-testid="person-call"][data-request-id="${bobReads.requestId}"]`);
    await call.waitFor({ timeout: WAIT_MS });
    assert.match((await call.textContent()) ?? '', /GET/);
    assert.match((await call.textContent()) ?? '', /\/orders/);
    for (const denied of [bobReadsAlices, bobDeletes]) {
      const row = page.getByTestId('person-denial').filter({ hasText: denied.path }).filter({ hasText: denied.method });
      await row.first().waitFor({ timeout: WAIT_MS });
      // The decision's reason (the reason code when there is none): authz.denied for both.
      assert.match((await row.first().textContent()) ?? '', /authz\.denied/);
    }
    const agent = page.getByTestId('person-agent').filter({ hasText: 'assistant' });
    await agent.first().waitFor({ timeout: WAIT_MS });
    await page.close();
  });

  test("the agent's page lists what it did for bob and what it was denied", async () => {
    const page = await freshView(dash.context, kit, '#/people/assistant');
    await page.getByTestId('person-name').filter({ hasText: 'assistant' }).waitFor({ timeout: WAIT_MS });
    await page.locator(`[data-testid="person-call"][data-request-id="${agentReads.requestId}"]`).waitFor({ timeout: WAIT_MS });
    const denial = page.getByTestId('person-denial').filter({ hasText: agentDeletes.path });
    await denial.first().waitFor({ timeout: WAIT_MS });
    assert.match((await denial.first().textContent()) ?? '', /authz\.denied/);
    await page.close();
  });

  for (const [i, c] of CASES.entries()) {
    test(`the explainer agrees with cortex explain: ${c.label}`, async () => {
      const cli = (await expected)[i] as Explained;
      const page = await freshView(dash.context, kit, '#/explain');
      await choose(page.getByTestId('explain-who'), c.person);
      if (c.agent !== undefined) await choose(page.getByTestId('explain-agent'), c.agent);
      await choose(page.getByTestId('explain-method'), c.method);
      await choose(page.getByTestId('explain-path'), c.path);
      if (c.resource !== undefined) await choose(page.getByTestId('explain-resource'), c.resource);
      await page.getByTestId('explain-submit').click();
      const decision = page.getByTestId('explain-decision');
      await decision.filter({ hasText: /^(allow|deny)$/ }).waitFor({ timeout: WAIT_MS });
      const shown: Explained = {
        decision: ((await decision.textContent()) ?? '').trim(),
        reason: ((await page.getByTestId('explain-reason').textContent({ timeout: WAIT_MS })) ?? '').trim(),
        policies: (await page.getByTestId('explain-policy').allTextContents()).map((t) => t.trim()).sort(),
      };
      assert.equal(shown.decision, cli.decision);
      // The ownership rule must be what decides when the owner is someone else: given attributes reach the decision.
      if (c.resource === 'owner=alice') assert.equal(shown.decision, 'deny');
      assert.ok(shown.reason.includes(cli.reason), `the page's reason "${shown.reason}" names ${cli.reason}`);
      assert.deepEqual(shown.policies, cli.policies);
      await page.close();
    });
  }

  test('the routes view lists each configured route with its per-stage grant cells', async () => {
    const page = await freshView(dash.context, kit, '#/routes');
    await page.getByTestId('route-row').first().waitFor({ timeout: WAIT_MS });
    const shown = await attributes(page.getByTestId('route-row'), 'data-route');
    const res = await fetch(`${kit.adminUrl}/api/routes`, { headers: { authorization: `Bearer ${kit.adminToken}` } });
    const configured = ((await res.json()) as { routes: Array<{ id: string }> }).routes.map((r) => r.id);
    assert.ok(configured.length > 0);
    assert.deepEqual([...shown].sort(), [...configured].sort());
    const list = page.locator('[data-testid="route-row"][data-route="orders-list"]');
    const stages = await attributes(list.getByTestId('route-stage'), 'data-stage');
    assert.ok(stages.length > 0, 'a grant cell per stage');
    assert.ok(stages.includes('dev'), `the running stage has a cell: ${stages.join(', ')}`);
    // orders:read is held by customers (bob) in the dev config.
    const dev = list.locator('[data-testid="route-stage"][data-stage="dev"]');
    assert.match((await dev.textContent()) ?? '', /customer/);
    await page.close();
  });

  test('the overview draws the three charts and lists the signing keys', async () => {
    const page = await freshView(dash.context, kit, '#/overview');
    for (const chart of ['chart-traffic', 'chart-denials', 'chart-latency']) {
      await page.getByTestId(chart).locator('canvas').first().waitFor({ timeout: WAIT_MS });
    }
    await page.getByTestId('key-row').first().waitFor({ timeout: WAIT_MS });
    const keys = await fetch(`${kit.adminUrl}/api/keys`, { headers: { authorization: `Bearer ${kit.adminToken}` } });
    const body = (await keys.json()) as { keys?: Array<{ kid: string }> };
    const kids = (body.keys ?? []).map((k) => k.kid);
    assert.ok(kids.length > 0);
    assert.deepEqual((await attributes(page.getByTestId('key-row'), 'data-kid')).sort(), [...kids].sort());
    await page.close();
  });
});
