import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { SandboxForge, startSandbox, type BitbucketSandbox } from '../../src/sandbox';
import type { ClawgateServer } from '../../src/server/create-server';
import { finalStatus, openAgentPullRequest } from '../e2e/harness';
import { prepareForgeWorkspace, startForgeClawgate } from '../e2e/forge-harness';
import { FORGE_UI_DIST, ensureFreshForgeBuild } from '../forge/support/forge-build';
import { artifact, describeWithBrowser, launchBrowser, openContext } from './support/browser';

/**
 * The pages as Forge Custom UI in a real browser: the built resource (forge/static/app) is served as
 * Forge's CDN would serve it, and the Custom UI bridge (`globalThis.__bridge`) is answered by the
 * sandbox's Forge, which turns `invokeRemote` into signed calls to clawgate. The same React pages as
 * under Connect show the PR's verdict and the workspace settings; a user outside the workspace gets
 * nothing.
 */

const CDN = 'https://forge-cdn.invalid/clawgate/';

describeWithBrowser('Forge Custom UI pages in Chromium', () => {
  let sandbox: BitbucketSandbox;
  let forge: SandboxForge;
  let app: ClawgateServer;
  let browser: Browser;

  beforeAll(async () => {
    ensureFreshForgeBuild();
    sandbox = await startSandbox();
    forge = await SandboxForge.create(sandbox);
    app = await startForgeClawgate(sandbox, forge);
    browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await forge?.waitForIdle();
    await app?.close();
    await sandbox?.close();
  });

  async function openModule(
    accountId: string,
    moduleKey: string,
    extension: Record<string, unknown>,
  ): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
    const { context, page, consoleErrors } = await openContext(browser, { host: 'outside', width: 900 });
    await context.route(`${CDN}**`, (route) => {
      const relative = new URL(route.request().url()).pathname.replace('/clawgate/', '') || 'index.html';
      const file = path.join(FORGE_UI_DIST, relative);
      if (!file.startsWith(FORGE_UI_DIST)) return route.abort();
      const type = file.endsWith('.js') ? 'application/javascript' : file.endsWith('.css') ? 'text/css' : 'text/html';
      return route.fulfill({ status: 200, contentType: type, body: readFileSync(file) });
    });
    const bridge = forge.bridge({ workspace: 'acme', accountId, moduleKey, extension: extension as never });
    await page.exposeFunction('__sandboxForgeBridge', (name: string, payload: unknown) => bridge(name, payload));
    await page.addInitScript(
      `globalThis.__bridge = { callBridge: (name, payload) => globalThis.__sandboxForgeBridge(name, payload) };`,
    );
    await page.goto(`${CDN}index.html`);
    return { page, errors: consoleErrors, close: () => context.close() };
  }

  test('the PR panel and the settings page work under Forge, for workspace members only', async () => {
    const ws = await prepareForgeWorkspace(sandbox, forge, app.url);
    const pr = openAgentPullRequest(sandbox, ws, 'agent/forge-ui', { 'src/ui.ts': 'export const ui = 1;\n' });
    await finalStatus(sandbox, pr.head);
    const repoUuid = sandbox.repository('acme/proj-web').uuid;

    const panel = await openModule(ws.aliceAccountId, 'clawgate-pr-panel', {
      type: 'pullrequest',
      repository: { uuid: repoUuid },
      pullRequest: { id: pr.prId },
    });
    try {
      await panel.page.locator('[data-verdict="PASS"]').waitFor({ timeout: 20_000 });
      const text = (await panel.page.locator('main').innerText()).replace(/\s+/g, ' ');
      expect(text).toContain(pr.bundleId);
      await panel.page.screenshot({ path: artifact('forge-pr-panel.png'), fullPage: true });
      expect(panel.errors).toEqual([]);
    } finally {
      await panel.close();
    }

    const settings = await openModule(ws.aliceAccountId, 'clawgate-ws-settings', { type: 'workspace' });
    try {
      await settings.page.getByText('Enforce', { exact: false }).first().waitFor({ timeout: 20_000 });
      const text = (await settings.page.locator('main').innerText()).replace(/\s+/g, ' ');
      // Per plan: whether the Forge merge check can be Required, and how to turn it on.
      expect(text).toContain('The clawgate merge check (Forge app)');
      expect(text).toContain('Custom merge checks');
      expect(text).toMatch(/Premium Yes: a Required check/);
      await settings.page.screenshot({ path: artifact('forge-settings.png'), fullPage: true });
      expect(settings.errors).toEqual([]);
    } finally {
      await settings.close();
    }

    const stranger = sandbox.createUser({ nickname: 'mallory', displayName: 'Mallory' });
    sandbox.setWorkspacePermission('acme', stranger, 'none');
    const refused = await openModule(stranger.accountId, 'clawgate-pr-panel', {
      type: 'pullrequest',
      repository: { uuid: repoUuid },
      pullRequest: { id: pr.prId },
    });
    try {
      await refused.page.getByText('clawgate could not load this page', { exact: false }).waitFor({ timeout: 20_000 });
      expect(await refused.page.locator('[data-verdict]').count()).toBe(0);
    } finally {
      await refused.close();
    }
  }, 120_000);
});
