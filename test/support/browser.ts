import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_MISSING } from './tools';

/**
 * Headless Chromium for the browser tests: Debian's package, which the global setup finds
 * (CHROMIUM_PATH, PATH) or installs as root, driven by playwright-core. Never downloaded; a missing
 * browser fails the test, never skips.
 */

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
  const executablePath = process.env.CHROMIUM_PATH;
  if (!executablePath) throw new Error(CHROMIUM_MISSING);
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
}

/** What went wrong on a page (console errors, uncaught exceptions, failed requests), and what it loaded. */
export function watchPage(
  page: Page,
  options: { ignorePageErrors?: RegExp[] } = {},
): { errors: string[]; requests: string[] } {
  const watched = { errors: [] as string[], requests: [] as string[] };
  page.on('console', (message) => {
    if (message.type() === 'error') watched.errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => {
    if (!options.ignorePageErrors?.some((pattern) => pattern.test(error.message)))
      watched.errors.push(`page error: ${error.message}`);
  });
  page.on('requestfailed', (request) => {
    const reason = request.failure()?.errorText ?? '';
    // A request the page cancelled itself (a single-page app switching tabs) did not fail.
    if (reason !== 'net::ERR_ABORTED') watched.errors.push(`request failed: ${request.url()} ${reason}`);
  });
  page.on('request', (request) => watched.requests.push(request.url()));
  return watched;
}
