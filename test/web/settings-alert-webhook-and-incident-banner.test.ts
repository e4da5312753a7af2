import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { startSandbox, type BitbucketSandbox } from '../../src/sandbox';
import type { ClawgateServer } from '../../src/server/create-server';
import { finalStatus, pageJwt, prepareWorkspace, startTestClawgate } from '../e2e/harness';
import { describeWithBrowser, launchBrowser, openContext } from './support/browser';
import { ensureFreshWebBuild } from './support/web-build';

/**
 * Issue 9 alerts on the settings page, in Chromium against the real server: the banner lists the
 * week's incidents, and the admin sets the alert webhook URL, sees the signing secret once, and
 * rotates it; the incident then reaches the (loopback) receiver.
 */

const REPO = 'acme/proj-web';

describeWithBrowser('settings page: alert webhook and incident banner', () => {
  let sandbox: BitbucketSandbox;
  let app: ClawgateServer;
  let browser: Browser;
  let dir: string;
  let clientKey: string;
  let receiver: Server;
  let receiverUrl: string;
  const received: string[] = [];

  function signed(pathWithQuery: string): string {
    const jwt = pageJwt(sandbox, clientKey, 'GET', pathWithQuery);
    return `${app.url}${pathWithQuery}${pathWithQuery.includes('?') ? '&' : '?'}jwt=${encodeURIComponent(jwt)}`;
  }

  beforeAll(async () => {
    ensureFreshWebBuild();
    dir = mkdtempSync(path.join(tmpdir(), 'clawgate-web-alerts-'));
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push(Buffer.concat(chunks).toString('utf8'));
        response.statusCode = 204;
        response.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/alerts`;
    sandbox = await startSandbox();
    app = await startTestClawgate(sandbox, {
      databaseUrl: `sqlite:${path.join(dir, 'db.sqlite')}`,
      env: { CLAWGATE_ALERT_ALLOW_LOOPBACK: '1', CLAWGATE_ALERT_RETRY_BASE_MS: '50' },
    });
    await prepareWorkspace(sandbox, app.url, { mode: 'enforce' });
    clientKey = sandbox.listInstallations()[0]?.clientKey ?? '';
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await sandbox?.close();
    await new Promise((resolve) => receiver?.close(resolve));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the banner names an incident; the admin sets the webhook, sees the secret once, rotates it; the next incident is delivered', async () => {
    const [pushed] = sandbox.push(REPO, {
      branch: 'main',
      actor: 'claw-bot',
      commits: [
        { author: 'claw-bot', message: 'straight to main', files: { 'src/direct.ts': 'export const d = 1;\n' } },
      ],
    });
    if (pushed === undefined) throw new Error('nothing pushed');
    expect((await finalStatus(sandbox, pushed.hash)).state).toBe('FAILED');

    const { context, page, consoleErrors } = await openContext(browser, { host: 'bitbucket', width: 1024 });
    try {
      await page.goto(signed('/connect/configure'));
      const banner = page.getByTestId('open-incidents');
      await banner.waitFor();
      expect((await banner.innerText()).replace(/\s+/g, ' ')).toContain('direct push main in acme/proj-web');

      await page.getByLabel('Alert webhook URL').fill(receiverUrl);
      await page.getByRole('button', { name: 'Set webhook' }).click();
      const secret = await page.getByTestId('alert-secret').innerText();
      expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
      await page.getByRole('button', { name: 'Rotate secret' }).click();
      // The new secret replaces the old one (a locator filter: no script evaluated in the page, which the CSP forbids).
      await page.getByTestId('alert-secret').filter({ hasNotText: secret }).waitFor();
      expect(await page.getByTestId('alert-secret').innerText()).toMatch(/^whsec_/);
      await page.reload();
      await page.getByRole('button', { name: 'Rotate secret' }).waitFor();
      expect(await page.getByTestId('alert-secret').count()).toBe(0);
      expect(consoleErrors).toEqual([]);
    } finally {
      await context.close();
    }

    const [again] = sandbox.push(REPO, {
      branch: 'main',
      actor: 'claw-bot',
      commits: [{ author: 'claw-bot', message: 'again', files: { 'src/again.ts': 'export const a = 1;\n' } }],
    });
    await finalStatus(sandbox, again?.hash ?? '');
    await app.alertDeliverer.runOnce();
    const deadline = Date.now() + 10_000;
    while (!received.some((body) => body.includes(again?.hash ?? '-')) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received.some((body) => body.includes(again?.hash ?? '-'))).toBe(true);
  }, 60_000);
});
