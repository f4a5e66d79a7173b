// A real Chromium (Debian's, at /usr/bin/chromium) driven by playwright-core, for tests of what a
// person sees. Each browser.newContext() starts with an empty profile: no cookies, no storage.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM_PATH}: run scripts/ensure-chromium.sh (browser tests drive a real Chromium).`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ARGS });
}
