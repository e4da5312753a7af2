import type { Browser, Page } from 'playwright-core';
import { startSignInWorld, type SignInWorld } from '../webhooks/support/sign-in-world';
import { artifact, describeWithBrowser, launchBrowser, openContext } from './support/browser';
import { ensureFreshWebBuild } from './support/web-build';

/**
 * Sign in with Bitbucket in a real browser (issue 8): a webhook workspace's people open clawgate's
 * pages from a build status link, land on "Sign-in needed", sign in through the sandbox's OAuth
 * consent page and come back to the page they asked for; the workspace admin sees the settings, a
 * repository reader sees their repository's verdict and nothing else. Screenshots go to test-artifacts/web/.
 */

describeWithBrowser('Sign in with Bitbucket in Chromium', () => {
  let world: SignInWorld;
  let browser: Browser;

  beforeAll(async () => {
    ensureFreshWebBuild();
    world = await startSignInWorld();
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await world?.close();
  });

  /** From the sign-in-needed page: name the workspace, approve as `nickname` on the consent page. */
  async function signInFromPage(page: Page, nickname: string): Promise<void> {
    await page.getByTestId('auth-required').waitFor();
    await page.getByLabel('Bitbucket workspace').fill('acme');
    await page.getByRole('button', { name: 'Sign in with Bitbucket' }).click();
    await page.locator(`button[data-user="${nickname}"]`).click();
  }

  test('the workspace admin signs in from the settings link and gets the settings page', async () => {
    const { context, page, consoleErrors } = await openContext(browser, { host: 'outside', width: 1280 });
    try {
      const bare = await page.goto(`${world.app.url}/connect/configure`);
      expect(bare?.status()).toBe(401);
      await signInFromPage(page, 'acme-admin');
      await page.waitForURL(`${world.app.url}/connect/configure`);
      await page.getByRole('heading', { name: 'clawgate settings' }).waitFor();
      await page.getByRole('heading', { name: 'Mode', exact: false }).first().waitFor();
      expect(await page.getByText('could not be loaded').count()).toBe(0);
      await page.screenshot({ path: artifact('sign-in-admin-settings.png'), fullPage: true });
      expect(consoleErrors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  test('a reader of proj-a opens its verdict from the status link, but not proj-b’s nor the settings', async () => {
    const { context, page } = await openContext(browser, { host: 'outside', width: 1280 });
    try {
      // The build status link as Bitbucket opens it: a new tab, the status mark in its query, no sign-in.
      const detailsA = `${world.app.url}/connect/details/${world.evaluationA}`;
      expect((await page.goto(`${detailsA}?cg=1733550000000.${'A'.repeat(22)}`))?.status()).toBe(401);
      await page.screenshot({ path: artifact('sign-in-needed-offers-bitbucket.png'), fullPage: true });
      await signInFromPage(page, 'rita');
      await page.waitForURL(detailsA);
      await page.getByRole('heading', { name: 'clawgate verification details' }).waitFor();
      await page.getByRole('heading', { name: '2. Verdict' }).waitFor();
      await page.screenshot({ path: artifact('sign-in-reader-details.png'), fullPage: true });

      // Another repository's verdict: the page opens (the session is valid) but the API refuses it.
      await page.goto(`${world.app.url}/connect/details/${world.evaluationB}`);
      await page.getByText('The evaluation could not be loaded').waitFor();
      expect(await page.getByRole('heading', { name: '2. Verdict' }).count()).toBe(0);

      // The settings: refused by the page, which says why.
      const settings = await page.goto(`${world.app.url}/connect/configure`);
      expect(settings?.status()).toBe(403);
      await page.getByTestId('auth-required').waitFor();
      expect(await page.getByTestId('auth-required').getAttribute('data-problem')).toBe('forbidden');
      expect(await page.getByRole('heading', { name: 'clawgate settings' }).count()).toBe(0);
    } finally {
      await context.close();
    }
  }, 60_000);
});
