// `npm run screenshot`: the README's picture of the dashboard's live feed, taken by the tooling the
// browser tests use. Starts cortex dev's pieces in-process (test/helpers/dashboard-kit.ts), sends a
// realistic mix of calls as alice, bob, carol and the assistant agent acting for bob (some allowed,
// some denied), and photographs the live feed at 1280x800 into docs/images/dashboard-live-feed.png.
import { mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { launchChromium } from '../test/helpers/browser.ts';
import { startDashboardKit, type Call, type Caller } from '../test/helpers/dashboard-kit.ts';

const OUT = join(import.meta.dirname, '..', 'docs', 'images', 'dashboard-live-feed.png');
const WAIT_MS = 15_000;

const ALICE: Caller = { as: 'alice' };
const BOB: Caller = { as: 'bob' };
const CAROL: Caller = { as: 'carol' };
const AGENT: Caller = { agent: 'assistant', for: 'bob' };

/** Oldest first, as a morning of the demo might go: reads, an order, and what policy refuses. */
const TRAFFIC: Array<[Caller, string, string, unknown?]> = [
  [ALICE, 'GET', '/orders'],
  [BOB, 'GET', '/orders'],
  [BOB, 'GET', '/orders/ord_1003'],
  [BOB, 'POST', '/orders', { item: 'Desk lamp', quantity: 1 }],
  [AGENT, 'GET', '/orders'],
  [BOB, 'GET', '/orders/ord_1001'],
  [CAROL, 'GET', '/orders/ord_1004'],
  [AGENT, 'GET', '/orders/ord_1004'],
  [AGENT, 'DELETE', '/orders/ord_1004'],
  [ALICE, 'GET', '/orders/ord_1005'],
  [BOB, 'DELETE', '/orders/ord_1003'],
  [CAROL, 'GET', '/orders'],
  [AGENT, 'GET', '/orders/ord_1001'],
  [ALICE, 'DELETE', '/orders/ord_1006'],
  [BOB, 'GET', '/orders'],
];

async function main(): Promise<void> {
  const kit = await startDashboardKit();
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
    const page = await kit.signInWithToken(context);
    await page.goto(`${kit.adminUrl}/#/`);
    await page.locator('[data-testid="feed-status"]', { hasText: 'live' }).waitFor({ timeout: WAIT_MS });
    const calls: Call[] = [];
    for (const [caller, method, path, body] of TRAFFIC) {
      calls.push(await kit.call(caller, method, path, body));
      // Apart enough that the feed's clock column reads like traffic, not one burst.
      await new Promise((r) => setTimeout(r, 150));
    }
    // One caller with no credential at all: refused before any policy runs.
    await fetch(`${kit.gatewayUrl}/orders`, { headers: { accept: 'application/json' } }).then((r) => r.arrayBuffer());
    const last = calls.at(-1) as Call;
    await page.locator(`[data-testid="feed-row"][data-request-id="${last.requestId}"]`).waitFor({ timeout: WAIT_MS });
    await page.mouse.move(0, 0);
    mkdirSync(dirname(OUT), { recursive: true });
    await page.screenshot({ path: OUT });
    const denied = calls.filter((c) => c.status === 401 || c.status === 403).length;
    console.log(`wrote ${relative(process.cwd(), OUT)} (${calls.length + 1} calls, ${denied + 1} refused)`);
    await context.close();
  } finally {
    await browser.close();
    await kit.close();
  }
}

await main();
