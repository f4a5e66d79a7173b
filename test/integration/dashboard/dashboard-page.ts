// What the dashboard's browser tests share: a signed-in page on a view, and reading what the page
// shows through the data-testid names its views carry (dashboard/src). Every wait is bounded.
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import type { DashboardKit } from '../../helpers/dashboard-kit.ts';

export const WAIT_MS = 15_000;

/** The little of the DOM the in-page functions use (the project's TypeScript has no DOM library). */
export interface DomElement {
  readonly tagName: string;
  readonly textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): DomElement | null;
  closest(selector: string): DomElement | null;
}

export interface DashboardPage {
  context: BrowserContext;
  page: Page;
}

/** A new context signed in with the admin token, on `view` (a hash route such as '#/people/bob'). */
export async function openDashboard(browser: Browser, kit: DashboardKit, view = '#/'): Promise<DashboardPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await kit.signInWithToken(context);
  await page.goto(`${kit.adminUrl}/${view}`);
  await page.getByTestId('whoami').waitFor({ timeout: WAIT_MS });
  return { context, page };
}

/** Another page in the same signed-in context, on `view`: a fresh document, with no state from before. */
export async function freshView(context: BrowserContext, kit: DashboardKit, view: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${kit.adminUrl}/${view}`);
  await page.getByTestId('whoami').waitFor({ timeout: WAIT_MS });
  return page;
}

export function feedRow(page: Page, requestId: string): Locator {
  return page.locator(`[data-testid="feed-row"][data-request-id="${requestId}"]`);
}

/** The text of the cell `testId` in `row`, trimmed. */
export async function cell(row: Locator, testId: string): Promise<string> {
  return ((await row.getByTestId(testId).textContent({ timeout: WAIT_MS })) ?? '').trim();
}

export interface FeedRowView {
  requestId: string;
  who: string;
  kind: string;
  decision: string;
  status: string;
  path: string;
}

/** Every feed row the page shows now, read in one pass in the page. */
export async function feedRows(page: Page): Promise<FeedRowView[]> {
  return page.getByTestId('feed-row').evaluateAll((rows: DomElement[]) => {
    const text = (row: DomElement, id: string): string => row.querySelector(`[data-testid="${id}"]`)?.textContent?.trim() ?? '';
    return rows.map((row) => ({
      requestId: row.getAttribute('data-request-id') ?? '',
      who: text(row, 'feed-who'),
      kind: text(row, 'feed-kind'),
      decision: text(row, 'feed-decision'),
      status: text(row, 'feed-status-code'),
      path: text(row, 'feed-path'),
    }));
  });
}

/** Polls `probe` until it returns a value other than undefined; throws with `what` after `ms`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, ms = WAIT_MS): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The first whole number in a text ("3 new" -> 3), or undefined. */
export function countIn(text: string | null): number | undefined {
  const m = /\d+/.exec(text ?? '');
  return m === null ? undefined : Number(m[0]);
}

/** Sets a form control the contract allows to be a select or a text input. */
export async function choose(control: Locator, value: string): Promise<void> {
  const tag = await control.evaluate((el: DomElement) => el.tagName.toLowerCase());
  if (tag === 'select') await control.selectOption(value);
  else await control.fill(value);
}

/** The values of attribute `name` on every element `list` matches, in page order. */
export async function attributes(list: Locator, name: string): Promise<string[]> {
  return list.evaluateAll((els: DomElement[], n: string) => els.map((el) => el.getAttribute(n) ?? ''), name);
}
