import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { runVerify } from '../../src/cli/verify-command';
import { startSandbox, type BitbucketSandbox } from '../../src/sandbox';
import type { ClawgateServer } from '../../src/server/create-server';
import { makeScenario } from '../../src/testkit';
import { callApi, finalStatus, pageJwt, prepareWorkspace, startTestClawgate, type Workspace } from '../e2e/harness';
import { artifact, describeWithBrowser, launchBrowser, openContext } from './support/browser';
import { ensureFreshWebBuild } from './support/web-build';

/**
 * The Trust Pulse and evidence packs in a real browser: the PR panel shows the pulse (tools, duration,
 * the diff comparison) under "self-reported by the agent's harness"; the details page downloads an
 * evidence pack that `clawgate verify` accepts; the recent-agent-runs review page lists the runs with
 * their pulses and verdicts.
 */

const REPO = 'acme/proj-web';

describeWithBrowser('Trust Pulse, evidence pack and recent agent runs in Chromium', () => {
  let sandbox: BitbucketSandbox;
  let app: ClawgateServer;
  let ws: Workspace;
  let browser: Browser;
  let dir: string;
  let clientKey: string;
  let prId = 0;
  let evaluationId = '';

  function signed(pathWithQuery: string): string {
    const jwt = pageJwt(sandbox, clientKey, 'GET', pathWithQuery);
    return `${app.url}${pathWithQuery}${pathWithQuery.includes('?') ? '&' : '?'}jwt=${encodeURIComponent(jwt)}`;
  }

  beforeAll(async () => {
    ensureFreshWebBuild();
    dir = mkdtempSync(path.join(tmpdir(), 'clawgate-web-pulse-'));
    sandbox = await startSandbox();
    app = await startTestClawgate(sandbox, { databaseUrl: `sqlite:${path.join(dir, 'db.sqlite')}` });
    ws = await prepareWorkspace(sandbox, app.url, { mode: 'enforce' });
    clientKey = sandbox.listInstallations()[0]?.clientKey ?? '';
    browser = await launchBrowser();

    const work = sandbox.commit(REPO, {
      branch: 'agent/pulse-page',
      author: 'claw-bot',
      message: 'agent work',
      files: { 'src/page.ts': 'export const page = 1;\n', 'src/other.ts': 'export const other = 1;\n' },
    });
    const s = makeScenario({
      workspace: 'acme',
      repoSlug: 'proj-web',
      commit: work.hash,
      wpc: ws.wpc,
      startMs: Date.now() - 60_000,
      ...ws.keys,
      trustPulse: {
        tools: [
          { name: 'edit_file', calls: 12 },
          { name: 'bash', calls: 3 },
        ],
        files: [
          { path: 'src/page.ts', touches: 4 },
          { path: '.github/workflows/ci.yml', touches: 1 },
          { path: 'config/[REDACTED]', touches: 1 },
        ],
        durationMs: 125_000,
      },
    });
    const upload = await callApi(app.url, 'POST', '/api/v1/workspaces/acme/bundles', ws.bearer, {
      bundle: s.bundle.envelope,
      urm: s.bundle.urm,
      trust_pulse: s.bundle.trustPulse,
    });
    if (upload.status !== 201) throw new Error(`upload ${upload.status}`);
    prId = sandbox.openPullRequest(REPO, {
      source: 'agent/pulse-page',
      author: 'claw-bot',
      title: 'pulse page',
      description: `Proof-Bundle: ${s.bundle.bundleId}`,
    }).id;
    expect((await finalStatus(sandbox, work.hash)).state).toBe('SUCCESSFUL');
    const list = await callApi(
      app.url,
      'GET',
      `/api/v1/workspaces/acme/evaluations?repo=${REPO}&pr=${prId}`,
      ws.bearer,
    );
    evaluationId = (list.json.evaluations as { id: string }[])[0]?.id ?? '';
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await sandbox?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the PR panel shows the pulse under "self-reported by the agent\'s harness" with its diff comparison, at 360 px', async () => {
    const { context, page, consoleErrors } = await openContext(browser, { host: 'bitbucket', width: 360 });
    try {
      await page.goto(signed(`/connect/panel?repo=${encodeURIComponent(sandbox.repository(REPO).uuid)}&pr=${prId}`));
      await page.locator('[data-verdict="PASS"]').waitFor();
      const pulse = page.locator('.cg-pulse[data-pulse-status="verified"]');
      await pulse.waitFor();
      const text = (await pulse.innerText()).replace(/\s+/g, ' ');
      expect(text).toContain("Self-reported by the agent's harness");
      expect(text).toContain('2 min 5 s');
      expect(await page.locator('tr[data-tool="edit_file"]').innerText()).toMatch(/edit_file\s+12/);
      expect(await page.locator('[data-pulse-list="unreported"]').innerText()).toContain('src/other.ts');
      expect(await page.locator('[data-pulse-list="not-in-diff"]').innerText()).toContain('.github/workflows/ci.yml');
      expect(await page.locator('[data-pulse-list="denied"]').innerText()).toContain('**/.github/**');
      expect(await page.locator('[data-pulse-list="redacted"]').innerText()).toContain('config/[REDACTED]');
      const widths = (await page.evaluate(
        '({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })',
      )) as { scroll: number; client: number };
      expect(widths.scroll).toBeLessThanOrEqual(widths.client);
      await page.screenshot({ path: artifact('pr-panel-trust-pulse.png'), fullPage: true });
      expect(consoleErrors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  test('the details page downloads an evidence pack that `clawgate verify` re-verifies offline', async () => {
    const { context, page, consoleErrors } = await openContext(browser, { host: 'bitbucket', width: 1100 });
    try {
      await page.goto(signed(`/connect/details/${evaluationId}`));
      await page.getByRole('heading', { name: "Trust Pulse: self-reported by the agent's harness" }).waitFor();
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Download evidence pack' }).click(),
      ]);
      expect(download.suggestedFilename()).toBe(`clawgate-evidence-${evaluationId}.json`);
      const file = path.join(dir, 'downloaded-evidence.json');
      await download.saveAs(file);
      const keys = await callApi(app.url, 'GET', '/api/v1/evidence-keys', '');
      const signer = (keys.json.keys as { did: string }[])[0]?.did ?? '';
      const out: string[] = [];
      const code = await runVerify([file, '--evidence-signer', signer], {
        stdout: (s) => void out.push(s),
        stderr: (s) => void out.push(s),
        now: () => Date.now(),
        env: {},
      });
      expect(out.join('')).toContain('Evidence: PASS (OK)');
      expect(code).toBe(0);
      expect(readFileSync(file, 'utf8').endsWith('\n')).toBe(true);
      expect(consoleErrors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  test('the recent agent runs page lists the run with its verdict and pulse; the settings page links to it', async () => {
    const { context, page, consoleErrors } = await openContext(browser, { host: 'bitbucket', width: 1100 });
    try {
      await page.goto(signed('/connect/agent-runs'));
      await page.getByRole('heading', { name: 'Recent agent runs' }).waitFor();
      const row = page.locator(`tr[data-run="${evaluationId}"]`);
      await row.waitFor();
      const text = (await row.innerText()).replace(/\s+/g, ' ');
      expect(text).toContain(`${REPO} #${prId}`);
      expect(text).toContain('edit_file ×12');
      expect(text).toContain('1 denied path reported');
      expect(text).toContain('1 changed file not reported');
      expect(await row.locator('[data-verdict="PASS"]').count()).toBe(1);
      await page.screenshot({ path: artifact('agent-runs.png'), fullPage: true });

      await page.goto(signed('/connect/configure'));
      const link = page.getByRole('link', { name: 'Open the recent agent runs' });
      await link.waitFor();
      expect(await link.getAttribute('href')).toMatch(
        new RegExp(`^${app.url.replace(/[.]/g, '\\.')}/connect/agent-runs\\?`),
      );
      await page.locator(`#cg-agent-runs tr[data-run="${evaluationId}"]`).waitFor();
      expect(consoleErrors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});
