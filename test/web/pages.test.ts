import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createQueryStringHash, encodeSymmetric, fromMethodAndUrl } from 'atlassian-jwt';
import type { Browser, Page } from 'playwright-core';
import { startSandbox, type BitbucketSandbox } from '../../src/sandbox';
import type { ClawgateServer } from '../../src/server/create-server';
import { PLACEHOLDER_REPO, wpcTemplate } from '../../src/core/policy/wpc-templates';
import { makeBitbucketWpc, wpcHash } from '../../src/testkit';
import {
  callApi,
  finalStatus,
  openAgentPullRequest,
  pageJwt,
  prepareWorkspace,
  startTestClawgate,
  waitFor,
  type Workspace,
} from '../e2e/harness';
import { chooseOption } from './support/atlaskit';
import { artifact, describeWithBrowser, launchBrowser, openContext } from './support/browser';
import { openAgentPullRequestWithTools } from './support/agent-work';
import { ensureFreshWebBuild } from './support/web-build';

/**
 * The pages in a real browser against the real server, driven through the Bitbucket sandbox: the PR
 * panel shows the receipts of a real evaluation, the details page of a failed PR lists the denied path,
 * and the settings page uploads a WPC, assigns it, and the next evaluation uses it. Screenshots go to
 * test-artifacts/web/.
 */

const REPO = 'acme/proj-web';

describeWithBrowser('web pages in Chromium', () => {
  let sandbox: BitbucketSandbox;
  let app: ClawgateServer;
  let ws: Workspace;
  let browser: Browser;
  let dir: string;
  let clientKey: string;

  /** A page URL signed the way Bitbucket signs iframe URLs (qsh over the path and query). */
  function signed(pathWithQuery: string): string {
    const jwt = pageJwt(sandbox, clientKey, 'GET', pathWithQuery);
    return `${app.url}${pathWithQuery}${pathWithQuery.includes('?') ? '&' : '?'}jwt=${encodeURIComponent(jwt)}`;
  }

  /** A Bitbucket-signed page URL whose token expired ten minutes ago. */
  function expiredLink(pathWithQuery: string): string {
    const installation = sandbox.getInstallation({ clientKey });
    if (!installation) throw new Error('not installed');
    const iat = Math.floor(Date.now() / 1000) - 900;
    const sub = sandbox.workspaceAdmin(installation.workspace).accountId;
    const jwt = encodeSymmetric(
      {
        iss: clientKey,
        sub,
        iat,
        exp: iat + 300,
        qsh: createQueryStringHash(fromMethodAndUrl('GET', pathWithQuery), false),
      },
      installation.sharedSecret,
    );
    return `${app.url}${pathWithQuery}?jwt=${encodeURIComponent(jwt)}`;
  }

  function panelPath(prId: number): string {
    return `/connect/panel?repo=${encodeURIComponent(sandbox.repository(REPO).uuid)}&pr=${prId}`;
  }

  /** Form controls and buttons without an accessible name (a visible label, aria-label(ledby) or text). */
  async function unlabelledControls(page: Page): Promise<string[]> {
    return (await page.evaluate(`[...document.querySelectorAll('input, select, textarea, button')]
      .filter((el) => el.type !== 'hidden' && el.type !== 'file')
      .filter((el) => {
        const label = el.labels && el.labels.length > 0 ? el.labels[0].textContent : '';
        const name = label || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || (el.tagName === 'BUTTON' ? el.textContent : '');
        return !name || name.trim() === '';
      })
      .map((el) => el.outerHTML.slice(0, 160))`)) as string[];
  }

  async function noHorizontalOverflow(page: Page): Promise<void> {
    // Evaluated in the page (a string: the test's own TypeScript has no DOM types).
    const widths = (await page.evaluate(
      '({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })',
    )) as { scroll: number; client: number };
    expect(widths.scroll).toBeLessThanOrEqual(widths.client);
  }

  beforeAll(async () => {
    ensureFreshWebBuild();
    dir = mkdtempSync(path.join(tmpdir(), 'clawgate-web-'));
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

  test('the PR panel shows the verdict and the receipts of a real evaluation, fits 360 px, and links to the details', async () => {
    const pr = openAgentPullRequestWithTools(sandbox, ws, 'agent/panel', {
      'src/panel.ts': 'export const panel = 1;\n',
    });
    expect((await finalStatus(sandbox, pr.head)).state).toBe('SUCCESSFUL');

    const { context, page, consoleErrors } = await openContext(browser, { host: 'bitbucket', width: 360 });
    try {
      const response = await page.goto(signed(panelPath(pr.prId)));
      expect(response?.status()).toBe(200);
      await page.locator('[data-verdict="PASS"]').waitFor();
      await expect(page.getByRole('heading', { name: 'Receipts' }).isVisible()).resolves.toBe(true);

      // The timeline, oldest first: a model call (provider/model, tokens, latency, time, trusted
      // gateway), the tool calls and the side effect.
      const kinds = await page
        .locator('.cg-timeline-entry')
        .evaluateAll((entries) => entries.map((entry) => entry.getAttribute('data-kind')));
      expect(kinds).toEqual(['model_call', 'tool_call', 'side_effect', 'tool_call']);
      const calls = page.locator('[data-kind="model_call"]');
      const first = (await calls.first().innerText()).replace(/\s+/g, ' ');
      expect(first).toContain('anthropic / claude-sonnet-4');
      expect(first).toMatch(/1,200 \/ 300/);
      expect(first).toMatch(/850 ms/);
      expect(first).toContain('trusted');
      expect(first).not.toContain('not trusted');
      expect(await calls.first().locator('time').getAttribute('datetime')).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      const gatewayTitle = await calls.first().locator('code[title^="did:key:"]').first().getAttribute('title');
      expect(gatewayTitle).toBe(ws.keys.gateway.did);
      const tools = (await page.locator('[data-kind="tool_call"]').allInnerTexts()).map((text) =>
        text.replace(/\s+/g, ' '),
      );
      expect(tools[0]).toContain('write_file');
      expect(tools[0]).toMatch(/40 ms/);
      expect(tools[1]).toContain('bash');
      expect(await page.locator('[data-kind="side_effect"]').innerText()).toContain('network egress');

      // The policy and the token in brief; the bundle id.
      const body = (await page.locator('main').innerText()).replace(/\s+/g, ' ');
      expect(body).toContain(wpcHash(ws.wpc));
      expect(body).toContain('proxy:call');
      expect(body).toContain(pr.bundleId);

      // Inside Bitbucket: the API calls used AP's token, and the frame was resized to the content.
      const apCalls = (await page.evaluate('window.__apCalls')) as unknown[][];
      expect(apCalls.some((call) => call[0] === 'getToken')).toBe(true);
      expect(apCalls.some((call) => call[0] === 'resize')).toBe(true);
      await expect(page.getByTestId('outside-bitbucket').count()).resolves.toBe(0);
      await noHorizontalOverflow(page);
      await page.screenshot({ path: artifact('panel-pass-360.png'), fullPage: true });

      // The details link opens this evaluation's details in a new tab (no AP there).
      const link = page.getByRole('link', { name: 'Open the details of this verdict' });
      await link.waitFor();
      const [details] = await Promise.all([context.waitForEvent('page'), link.click()]);
      await details.getByRole('heading', { name: '1. Criteria enforced' }).waitFor();
      await details.locator('[data-verdict="PASS"]').waitFor();
      expect(consoleErrors).toEqual([]);

      // Re-check: a new evaluation of the same head appears and the panel shows it.
      const before = await callApi(
        app.url,
        'GET',
        `/api/v1/workspaces/acme/evaluations?repo=${REPO}&pr=${pr.prId}`,
        ws.bearer,
      );
      await page.getByRole('button', { name: 'Re-check' }).click();
      await page.getByText('Re-check requested; waiting for the new verdict…').waitFor();
      await page
        .getByText('Re-check requested; waiting for the new verdict…')
        .waitFor({ state: 'detached', timeout: 20_000 });
      const after = await callApi(
        app.url,
        'GET',
        `/api/v1/workspaces/acme/evaluations?repo=${REPO}&pr=${pr.prId}`,
        ws.bearer,
      );
      expect((after.json.evaluations as unknown[]).length).toBe((before.json.evaluations as unknown[]).length + 1);
    } finally {
      await context.close();
    }
  }, 45_000);

  test('the panel’s states: no verdict yet, not an agent PR, no bundle found (keyboard re-check), clawgate error', async () => {
    const { context, page } = await openContext(browser, { host: 'bitbucket', width: 360 });
    try {
      await page.goto(signed(panelPath(9999)));
      await page.getByText('Evaluation in progress').waitFor();

      sandbox.commit(REPO, {
        branch: 'human/change',
        author: 'alice',
        message: 'a human change',
        files: { 'docs/human.md': '# by hand\n' },
      });
      const human = sandbox.openPullRequest(REPO, { source: 'human/change', author: 'alice', title: 'human change' });
      await waitFor(
        async () => {
          const list = await callApi(
            app.url,
            'GET',
            `/api/v1/workspaces/acme/evaluations?repo=${REPO}&pr=${human.id}`,
            ws.bearer,
          );
          return (list.json.evaluations as unknown[]).length > 0 ? true : undefined;
        },
        20_000,
        'the human PR evaluation',
      );
      await page.goto(signed(panelPath(human.id)));
      await page.getByRole('heading', { name: 'Not an agent pull request' }).waitFor();
      await noHorizontalOverflow(page);

      // An agent (a registered agent account) that brought no bundle.
      sandbox.commit(REPO, {
        branch: 'agent/no-bundle',
        author: 'claw-bot',
        message: 'agent work, no bundle',
        files: { 'src/nobundle.ts': 'export const x = 1;\n' },
      });
      const bare = sandbox.openPullRequest(REPO, { source: 'agent/no-bundle', author: 'claw-bot', title: 'no bundle' });
      await waitFor(
        async () => {
          const list = await callApi(
            app.url,
            'GET',
            `/api/v1/workspaces/acme/evaluations?repo=${REPO}&pr=${bare.id}`,
            ws.bearer,
          );
          return (list.json.evaluations as unknown[]).length > 0 ? true : undefined;
        },
        20_000,
        'the bundle-less PR evaluation',
      );
      await page.goto(signed(panelPath(bare.id)));
      await page.getByRole('heading', { name: 'No proof bundle found' }).waitFor();
      await page.locator('[data-verdict="FAIL"]').waitFor();
      expect(await page.locator('.cg-check-fail[data-code="BUNDLE_NOT_FOUND"]').count()).toBeGreaterThan(0);

      // Keyboard only: Tab to Re-check, press Enter.
      for (let presses = 0; presses < 40; presses += 1) {
        await page.keyboard.press('Tab');
        if ((await page.evaluate('document.activeElement && document.activeElement.textContent')) === 'Re-check') break;
      }
      expect(await page.evaluate('document.activeElement && document.activeElement.textContent')).toBe('Re-check');
      await page.keyboard.press('Enter');
      await page.getByText('Re-check requested; waiting for the new verdict…').waitFor();
      expect(await unlabelledControls(page)).toEqual([]);
      await noHorizontalOverflow(page);
      await page.screenshot({ path: artifact('panel-no-bundle-360.png'), fullPage: true });

      // clawgate itself failing: the panel says so, with what to do.
      await page.route('**/api/v1/**', (route) =>
        route.fulfill({
          status: 500,
          contentType: 'application/json',
          body: JSON.stringify({ error: { code: 'INTERNAL_ERROR', message: 'something broke' } }),
        }),
      );
      await page.goto(signed(panelPath(bare.id)));
      await page.getByText('clawgate error: the verdict could not be loaded').waitFor();
      expect(await page.locator('main').innerText()).toContain('INTERNAL_ERROR');
    } finally {
      await context.close();
    }
  }, 30_000);

  test('the details page of a failed PR lists the denied path; without a sign-in it explains itself instead of a JSON 401', async () => {
    const pr = openAgentPullRequest(sandbox, ws, 'agent/pipelines', {
      'bitbucket-pipelines.yml': 'pipelines: {}\n',
      'src/ok.ts': 'export const ok = 1;\n',
    });
    const status = await finalStatus(sandbox, pr.head);
    expect(status.state).toBe('FAILED');
    const statusUrl = String(status.url);
    // The status opens the details page of this very evaluation (its query carries the status mark).
    expect(statusUrl).toMatch(new RegExp(`^${app.url}/connect/details/[0-9a-f-]{36}(\\?|$)`));

    const { context, page, consoleErrors } = await openContext(browser, { host: 'outside', width: 1280 });
    try {
      // The build status link as Bitbucket opens it: a new tab, no JWT.
      const bare = await page.goto(statusUrl);
      expect(bare?.status()).toBe(401);
      expect(bare?.headers()['content-type']).toContain('text/html');
      await page.getByTestId('auth-required').waitFor();
      expect(await page.getByTestId('auth-required').getAttribute('data-problem')).toBe('missing');
      expect(await unlabelledControls(page)).toEqual([]);
      await page.screenshot({ path: artifact('details-sign-in-needed.png'), fullPage: true });

      // An auditor outside Bitbucket can read it with a workspace API token.
      await page.getByLabel('Workspace (slug)').fill('acme');
      await page.getByLabel('API token', { exact: true }).fill(ws.bearer.replace(/^Bearer /, ''));
      await page.getByRole('button', { name: 'Show the verdict' }).click();
      await page.locator('[data-verdict="FAIL"]').waitFor();

      // Signed (as from the panel's link): the criteria first, then the verdict, then the files.
      await page.goto(signed(new URL(statusUrl).pathname));
      await page.getByTestId('outside-bitbucket').waitFor();
      await page.locator('[data-verdict="FAIL"]').waitFor();
      const headings = await page.getByRole('heading', { level: 2 }).allInnerTexts();
      expect(headings.filter((heading) => /^\d\. /.test(heading)).slice(0, 3)).toEqual([
        '1. Criteria enforced',
        '2. Verdict',
        '3. Files',
      ]);
      const denied = page.locator('tr[data-denied="true"]');
      await expect(denied.count()).resolves.toBe(1);
      expect(await denied.innerText()).toContain('bitbucket-pipelines.yml');
      expect(await denied.innerText()).toContain('denied path');
      const allowed = page.locator('tr[data-denied="false"]').filter({ hasText: 'src/ok.ts' });
      expect(await allowed.innerText()).toContain('attested by the agent');
      expect(await page.locator('tr').filter({ hasText: '.clawsig/proof_bundle.json' }).innerText()).toContain(
        'changed after attestation',
      );
      const failing = page.locator('.cg-check-fail[data-code="PATH_DENIED"]').first();
      expect(await failing.innerText()).toContain('A changed path matches a denied glob');
      expect(await failing.innerText()).toContain('bitbucket-pipelines.yml');
      expect(await page.locator('tr[data-rule="policy.paths"]').getAttribute('data-outcome')).toBe('fail');
      // The WPC's own clauses, listed as the criteria.
      expect(await page.getByLabel('Policy clauses').innerText()).toContain('**/bitbucket-pipelines.yml');
      // Why it is agent work (issue 9): the agent opened it, wrote and pushed its commits, and it names a bundle.
      const why = await page.getByTestId('cg-agent-work').innerText();
      expect(why).toContain('opened by a registered agent identity');
      expect(why).toContain('was pushed by a registered agent identity');
      expect(why).toContain('names a proof bundle');
      await page.screenshot({ path: artifact('details-denied-path.png'), fullPage: true });

      // Downloads: the stored bundle and the stored verdict.
      const [bundleDownload] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Download proof bundle' }).click(),
      ]);
      const bundle = JSON.parse(readFileSync(await bundleDownload.path(), 'utf8')) as {
        payload: { bundle_id: string };
      };
      expect(bundle.payload.bundle_id).toBe(pr.bundleId);
      const [verdictDownload] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Download verdict JSON' }).click(),
      ]);
      const verdict = JSON.parse(readFileSync(await verdictDownload.path(), 'utf8')) as {
        status: string;
        reason_code: string;
        subject: string;
      };
      expect(verdict).toMatchObject({ status: 'FAIL', reason_code: 'PATH_DENIED' });
      expect(verdict.subject).toContain(`${REPO}#${pr.prId}@${pr.head}`);

      // An expired link says so.
      const expired = await page.goto(expiredLink(new URL(statusUrl).pathname));
      expect(expired?.status()).toBe(401);
      expect(await page.getByTestId('auth-required').getAttribute('data-problem')).toBe('expired');
      await page.getByText('This link has expired').waitFor();
      expect(consoleErrors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 45_000);

  test('settings: a template (the same as clawgate wpc init) fills the policy editor and, with the repository named, uploads', async () => {
    const { context, page, consoleErrors } = await openContext(browser, { host: 'bitbucket', width: 1024 });
    try {
      await page.goto(signed('/connect/configure'));
      await page.getByRole('heading', { name: 'clawgate settings' }).waitFor();
      const editor = page.getByLabel('Policy document (a Bitbucket WPC, or a signed WPC envelope), as JSON');
      await chooseOption(page, 'Start from a template', 'Clawsig work_policy_contract v2 (official form, statements)');
      await page.getByRole('button', { name: 'Use template' }).click();
      expect(JSON.parse(await editor.inputValue())).toEqual(wpcTemplate('clawsig-v2'));
      await chooseOption(page, 'Start from a template', /^Bitbucket WPC \(recommended\)/);
      await page.getByRole('button', { name: 'Use template' }).click();
      const text = await editor.inputValue();
      expect(JSON.parse(text)).toEqual(wpcTemplate('bitbucket'));
      await editor.fill(text.replace(PLACEHOLDER_REPO, REPO));
      await page.getByRole('button', { name: 'Upload policy' }).click();
      await page.getByText('Policy stored').waitFor();
      const hash = wpcHash(wpcTemplate('bitbucket', { repos: [REPO] }));
      expect(await page.getByRole('status').filter({ hasText: 'Policy stored' }).innerText()).toContain(hash);
      expect(await unlabelledControls(page)).toEqual([]);
      expect(consoleErrors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 45_000);

  test('settings: upload a WPC, assign it to the repository, and the next evaluation uses it', async () => {
    const { context, page, consoleErrors } = await openContext(browser, { host: 'bitbucket', width: 1024 });
    try {
      await page.goto(signed('/connect/configure'));
      await page.getByRole('heading', { name: 'clawgate settings' }).waitFor();
      await page.getByText('What actually blocks a merge').waitFor();
      expect(await page.locator('#cg-blocking').innerText()).toContain('Only Bitbucket Premium prevents a merge');

      // A stricter policy: only one model family.
      const wpc = {
        ...makeBitbucketWpc({ repos: [REPO], allowedProviders: ['anthropic'], allowedModels: ['claude-sonnet-*'] }),
        policy_id: 'web-settings-test',
      };
      const hash = wpcHash(wpc);
      await page
        .getByLabel('Policy document (a Bitbucket WPC, or a signed WPC envelope), as JSON')
        .fill(JSON.stringify(wpc, null, 2));
      await page.getByRole('button', { name: 'Upload policy' }).click();
      await page.getByText('Policy stored').waitFor();
      expect(await page.getByRole('status').filter({ hasText: 'Policy stored' }).innerText()).toContain(hash);
      await page.locator(`tr[data-policy-hash="${hash}"]`).waitFor();
      expect(await page.locator(`.cg-policy-view[data-policy-hash="${hash}"]`).innerText()).toContain(
        '"policy_id": "web-settings-test"',
      );

      // Assign it: the first (and only) row names the repository.
      await expect(page.getByLabel('Repositories (row 1)').inputValue()).resolves.toBe(REPO);
      await chooseOption(page, 'Policy (row 1)', new RegExp(`^${hash.slice(0, 12)}…`));
      await page.getByRole('button', { name: 'Save assignments' }).click();
      await page
        .getByText('Assignments saved; open agent pull requests are re-evaluated now (newest first).')
        .waitFor();
      const assignments = await callApi(app.url, 'GET', '/api/v1/workspaces/acme/assignments', ws.bearer);
      expect(assignments.json).toEqual([{ repo: REPO, policy_hash_b64u: hash, mode: null }]);

      // The blocking checklist: under Connect's scopes Bitbucket will not show branch restrictions.
      await page.getByRole('button', { name: 'Check merge checks' }).click();
      await page.getByText('clawgate cannot read this repository’s branch restrictions').waitFor();

      // An API token is shown once.
      await page.getByLabel('Label (optional)').fill('browser test');
      await page.getByRole('button', { name: 'Create token' }).click();
      await expect(page.getByLabel('New token “browser test”').inputValue()).resolves.toMatch(/^cgw_/);
      expect(await unlabelledControls(page)).toEqual([]);
      await page.screenshot({ path: artifact('settings.png'), fullPage: true });

      // The next agent PR is judged under the new policy.
      const pr = openAgentPullRequest(sandbox, { ...ws, wpc }, 'agent/after-settings', {
        'src/after.ts': 'export const after = 1;\n',
      });
      expect((await finalStatus(sandbox, pr.head)).state).toBe('SUCCESSFUL');
      const list = await callApi(
        app.url,
        'GET',
        `/api/v1/workspaces/acme/evaluations?repo=${REPO}&pr=${pr.prId}`,
        ws.bearer,
      );
      expect((list.json.evaluations as { policy_hash_b64u: string }[])[0]?.policy_hash_b64u).toBe(hash);
      await page.goto(signed(panelPath(pr.prId)));
      await page.locator('[data-verdict="PASS"]').waitFor();
      expect(await page.locator('main').innerText()).toContain(hash);

      // An incident's status links to the settings page, which says what happened.
      const [pushed] = sandbox.push(REPO, {
        branch: 'main',
        actor: 'claw-bot',
        commits: [
          { author: 'claw-bot', message: 'straight to main', files: { 'src/direct.ts': 'export const d = 1;\n' } },
        ],
      });
      if (pushed === undefined) throw new Error('nothing pushed');
      const incidentStatus = await finalStatus(sandbox, pushed.hash);
      const incidentUrl = new URL(String(incidentStatus.url));
      expect(incidentUrl.pathname).toBe('/connect/configure');
      await page.goto(signed(`${incidentUrl.pathname}${incidentUrl.search}`));
      const notice = page.getByTestId('incident');
      await notice.waitFor();
      expect(await notice.getAttribute('data-incident')).toBe(incidentUrl.searchParams.get('incident'));
      const noticeText = (await notice.innerText()).replace(/\s+/g, ' ');
      expect(noticeText).toContain('direct push main');
      expect(noticeText).toContain(pushed.hash);
      // The audit log marks the incident's event (on the page of the table shown first).
      await page.locator('#cg-audit tr.cg-highlight[data-kind="incident"]').waitFor();
      expect(consoleErrors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 45_000);
});
