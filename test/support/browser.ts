import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Headless Chromium for the browser tests: Debian's package (`apt-get install -y chromium`, as CI
 * does), driven by playwright-core. Never downloaded; a missing browser fails the test, never skips.
 */
export const CHROMIUM_PATH = process.env.SPOTDAG_CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Without the background-networking flags, sandboxed CI refuses Chromium's own connections. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `the browser tests need Chromium at ${CHROMIUM_PATH} and it is not there: install it with ` +
        '`apt-get install -y chromium` (.ci/run does), or set SPOTDAG_CHROMIUM_PATH to a Chromium binary',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

/** What went wrong on a page (console errors, uncaught exceptions, failed requests), and what it loaded. */
export function watchPage(page: Page): { errors: string[]; requests: string[] } {
  const watched = { errors: [] as string[], requests: [] as string[] };
  page.on('console', (message) => {
    if (message.type() === 'error') watched.errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => watched.errors.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => {
    const reason = request.failure()?.errorText ?? '';
    // A request the page cancelled itself (a single-page app switching tabs) did not fail.
    if (reason !== 'net::ERR_ABORTED') watched.errors.push(`request failed: ${request.url()} ${reason}`);
  });
  page.on('request', (request) => watched.requests.push(request.url()));
  return watched;
}
