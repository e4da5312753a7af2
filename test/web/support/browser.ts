import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/**
 * Debian's Chromium driven by playwright-core (`apt-get install chromium`). Jest's global setup looks for it once
 * and prints the one line that says the browser suites are skipped when it is absent
 * (test/support/global-setup.ts; .ci/run sets CLAWGATE_REQUIRE_CHROMIUM so CI cannot lose them).
 */

export const CHROMIUM_PATH = process.env.CLAWGATE_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
export const ARTIFACTS = path.resolve(__dirname, '..', '..', '..', 'test-artifacts', 'web');

/** `describe`, or `describe.skip` when there is no browser (the global setup said so once). */
export function describeWithBrowser(name: string, body: () => void): void {
  if (process.env.CLAWGATE_NO_CHROMIUM !== '1' && existsSync(CHROMIUM_PATH)) {
    describe(name, body);
    return;
  }
  describe.skip(name, body);
}

export async function launchBrowser(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_FLAGS, headless: true });
}

/**
 * The stand-in for Bitbucket's all.js: an AP that hands out the page's own session token as its
 * context token (the server accepts both the same way) and records what the page asked of it.
 */
export const AP_STUB = `
window.__apCalls = [];
window.AP = {
  context: {
    getToken: function (callback) {
      window.__apCalls.push(['getToken']);
      var meta = document.querySelector('meta[name="token"]');
      callback(meta ? meta.content : '');
    }
  },
  resize: function (width, height) { window.__apCalls.push(['resize', width, height]); }
};`;

export interface PageOptions {
  /** Serve the AP stub for all.js (inside Bitbucket) or fail it (a tab of its own). */
  readonly host: 'bitbucket' | 'outside';
  readonly width: number;
  readonly height?: number;
}

/** A page whose only reachable server is 127.0.0.1; all.js is stubbed or refused as asked. */
export async function openContext(
  browser: Browser,
  options: PageOptions,
): Promise<{ context: BrowserContext; page: Page; consoleErrors: string[] }> {
  const context = await browser.newContext({
    viewport: { width: options.width, height: options.height ?? 900 },
    acceptDownloads: true,
  });
  // Routes run newest first: everything off loopback is refused, then all.js is answered (or not).
  await context.route(
    (url) => url.hostname !== '127.0.0.1',
    (route) => route.abort('internetdisconnected'),
  );
  if (options.host === 'bitbucket')
    await context.route('**/all.js', (route) =>
      route.fulfill({ status: 200, contentType: 'application/javascript', body: AP_STUB }),
    );
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on('pageerror', (error) => consoleErrors.push(`pageerror: ${error.message}`));
  return { context, page, consoleErrors };
}

export function artifact(name: string): string {
  return path.join(ARTIFACTS, name);
}
