import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startSandbox, type BitbucketSandbox } from '../../src/sandbox';
import type { ClawgateServer } from '../../src/server/create-server';
import { wpcHash } from '../../src/testkit';
import { callApi, pageJwt, prepareWorkspace, startTestClawgate, type Workspace } from '../e2e/harness';
import { chooseOption, chooseOptionByKeyboard, chosenText } from './support/atlaskit';
import { artifact, describeWithBrowser, launchBrowser, openContext } from './support/browser';
import { ensureFreshWebBuild } from './support/web-build';

/**
 * The settings page's Atlaskit controls in a real browser against the real server: what a user picks
 * in the selects (with the mouse and with the keyboard alone) and types in the forms reaches the API
 * exactly as the native controls sent it, and comes back into the controls on reload; the audit log
 * table pages (25 events a page) and sorts by a column; nothing Atlaskit does breaks the pages' CSP.
 */

const REPO = 'acme/proj-web';

describeWithBrowser('settings controls (Atlaskit select, form, dynamic table) in Chromium', () => {
  let sandbox: BitbucketSandbox;
  let app: ClawgateServer;
  let ws: Workspace;
  let browser: Browser;
  let dir: string;
  let clientKey: string;

  function signed(pathWithQuery: string): string {
    const jwt = pageJwt(sandbox, clientKey, 'GET', pathWithQuery);
    return `${app.url}${pathWithQuery}${pathWithQuery.includes('?') ? '&' : '?'}jwt=${encodeURIComponent(jwt)}`;
  }

  /**
   * Records every Content Security Policy violation in the page, across navigations (Atlaskit's styles
   * and the lazy settings chunk must fit the pages' CSP).
   */
  async function watchCsp(page: Page): Promise<string[]> {
    const violations: string[] = [];
    await page.exposeFunction('__cspViolation', (violation: string) => void violations.push(violation));
    await page.addInitScript(
      `document.addEventListener('securitypolicyviolation', (event) => window.__cspViolation(event.violatedDirective + ' ' + event.blockedURI + ' ' + event.sourceFile + ':' + event.lineNumber));`,
    );
    return violations;
  }

  async function openSettings(page: Page): Promise<void> {
    const response = await page.goto(signed('/connect/configure'));
    expect(response?.headers()['content-security-policy']).toContain("style-src 'self' 'unsafe-inline'");
    await page.getByRole('heading', { name: 'clawgate settings' }).waitFor();
    await page.getByLabel('Repositories (row 1)').waitFor();
  }

  beforeAll(async () => {
    ensureFreshWebBuild();
    dir = mkdtempSync(path.join(tmpdir(), 'clawgate-web-controls-'));
    sandbox = await startSandbox();
    app = await startTestClawgate(sandbox, { databaseUrl: `sqlite:${path.join(dir, 'db.sqlite')}` });
    ws = await prepareWorkspace(sandbox, app.url, { mode: 'enforce' });
    clientKey = sandbox.listInstallations()[0]?.clientKey ?? '';
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await sandbox?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the mode, role and assignment selects and the settings form save what was chosen, and show it again after a reload', async () => {
    const { context, page, consoleErrors } = await openContext(browser, { host: 'bitbucket', width: 1024 });
    const violations = await watchCsp(page);
    try {
      await openSettings(page);
      expect(await chosenText(page, 'Mode')).toBe('enforce');

      // Mode with the keyboard alone; the mission pattern typed; an agent added with the role select.
      await chooseOptionByKeyboard(page, 'Mode', 'warn');
      expect(await chosenText(page, 'Mode')).toBe('warn');
      await page.getByLabel('Mission id pattern (optional)').fill('{repository}#*');
      const addAgent = page.getByRole('group', { name: 'Add a agent' });
      await addAgent.getByLabel('Account UUID', { exact: true }).fill('{0b0b0b0b-1111-2222-3333-444455556666}');
      await chooseOption(addAgent, 'Role', 'read');
      await addAgent.getByRole('button', { name: 'Add agent' }).click();
      await page.getByRole('button', { name: 'Save settings' }).click();
      await page.getByRole('heading', { name: 'Settings saved' }).waitFor();

      const settings = await callApi(app.url, 'GET', '/api/v1/workspaces/acme/settings', ws.bearer);
      expect(settings.json.mode).toBe('warn');
      expect(settings.json.mission_id_pattern).toBe('{repository}#*');
      const agents = settings.json.agents as { account_uuid: string; role: string; agent_did?: string }[];
      expect(agents).toContainEqual({ account_uuid: '{0b0b0b0b-1111-2222-3333-444455556666}', role: 'read' });
      expect(agents.filter((agent) => agent.role === 'write')).toHaveLength(1);

      // A second assignment: a glob, the policy (searchable select, typed), its own mode.
      await page.getByRole('button', { name: 'Add assignment' }).click();
      await page.getByLabel('Repositories (row 2)').fill('acme/other-*');
      const hash = wpcHash(ws.wpc);
      await page.getByLabel('Policy (row 2)', { exact: true }).fill(hash.slice(0, 8));
      await page.getByRole('option', { name: new RegExp(`^${hash.slice(0, 12)}…`) }).click();
      await chooseOption(page, 'Mode (row 2)', 'observe');
      await page.getByRole('button', { name: 'Save assignments' }).click();
      await page
        .getByText('Assignments saved; open agent pull requests are re-evaluated now (newest first).')
        .waitFor();
      const assignments = await callApi(app.url, 'GET', '/api/v1/workspaces/acme/assignments', ws.bearer);
      expect(assignments.json).toEqual([
        { repo: REPO, policy_hash_b64u: hash, mode: null },
        { repo: 'acme/other-*', policy_hash_b64u: hash, mode: 'observe' },
      ]);

      // An API token with the scope chosen in the radio group (Atlaskit radio) carries that scope.
      await page.getByLabel('Label (optional)').fill('radio scope');
      await page.getByRole('radio', { name: /^read: / }).check();
      await page.getByRole('button', { name: 'Create token' }).click();
      await expect(page.getByLabel('New token “radio scope” (read)').inputValue()).resolves.toMatch(/^cgw_/);
      const tokens = await callApi(app.url, 'GET', '/api/v1/workspaces/acme/tokens', ws.bearer);
      const made = (tokens.json.tokens as { label?: string | null; scopes?: string[] | null }[]).find(
        (token) => token.label === 'radio scope',
      );
      expect(made?.scopes).toEqual(['read']);

      // Back from the server into the controls.
      await openSettings(page);
      expect(await chosenText(page, 'Mode')).toBe('warn');
      expect(await page.getByLabel('Mission id pattern (optional)').inputValue()).toBe('{repository}#*');
      expect(await chosenText(page, 'Mode (row 1)')).toBe('workspace mode');
      expect(await chosenText(page, 'Mode (row 2)')).toBe('observe');
      expect(await chosenText(page, 'Policy (row 2)')).toMatch(new RegExp(`^${hash.slice(0, 12)}…`));
      expect(await page.getByRole('table', { name: 'Agent identities' }).innerText()).toContain(
        '{0b0b0b0b-1111-2222-3333-444455556666}',
      );
      await page.screenshot({ path: artifact('settings-atlaskit-controls.png'), fullPage: true });
      expect(violations).toEqual([]);
      expect(consoleErrors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  test('the audit log shows 25 events a page, the next page the rest, and sorts by a column', async () => {
    for (let n = 0; n < 30; n += 1) {
      const created = await callApi(app.url, 'POST', '/api/v1/workspaces/acme/tokens', ws.bearer, {
        label: `paging ${n}`,
        scopes: ['read'],
      });
      expect(created.status).toBe(201);
    }

    const { context, page, consoleErrors } = await openContext(browser, { host: 'bitbucket', width: 1024 });
    const violations = await watchCsp(page);
    try {
      await openSettings(page);
      const table = page.getByRole('table', { name: 'Audit log' });
      const rows = table.locator('tbody tr');
      await rows.first().waitFor();
      expect(await rows.count()).toBe(25);
      const firstPage = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-audit-id')));

      await page.locator('#cg-audit').getByRole('button', { name: 'Next page' }).click();
      await page.waitForFunction(
        `document.querySelector('#cg-audit tbody tr')?.getAttribute('data-audit-id') !== ${JSON.stringify(firstPage[0])}`,
      );
      const secondPage = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-audit-id')));
      expect(secondPage.length).toBeGreaterThan(0);
      expect(secondPage.some((id) => firstPage.includes(id))).toBe(false);
      // Newest first across the pages: ids only go down.
      const ids = [...firstPage, ...secondPage].map(Number);
      expect(ids).toEqual([...ids].sort((a, b) => b - a));

      // Sorting by "What" orders the events by kind.
      // With the keyboard: the column heading is a button.
      await table.getByRole('button', { name: 'What' }).press('Enter');
      await page.locator('#cg-audit th[aria-sort="ascending"]').waitFor();
      const kinds = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-kind') ?? ''));
      expect(kinds.length).toBeGreaterThan(0);
      expect(kinds).toEqual([...kinds].sort((a, b) => a.localeCompare(b)));
      expect(violations).toEqual([]);
      expect(consoleErrors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});
