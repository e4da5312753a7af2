import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadAppConfig } from '../../src/config/app-config';
import { runDemo } from '../../src/demo/run-demo';
import { evaluatePullRequest } from '../../src/pipeline/evaluation/evaluate-pull-request';
import { startSandbox, type BitbucketSandbox } from '../../src/sandbox';
import { freePort } from '../../src/server/free-port';
import { backendsUnderTest, createTestDatabase } from '../store/support/postgres';
import {
  callApi,
  clawgateStatus,
  finalStatus,
  openAgentPullRequest,
  prepareWorkspace,
  startTestClawgate,
  TEST_SECRET_KEY,
  waitFor,
} from './harness';

describe.each(backendsUnderTest('e2e/pipeline'))('e2e on %s: the demo story', (backend) => {
  test('every verdict as expected (store and queue on this backend)', async () => {
    const database = backend === 'postgres' ? await createTestDatabase('e2e_demo') : undefined;
    try {
      const outcome = await runDemo({ print: () => undefined, databaseUrl: database?.url, timeoutMs: 80_000 });
      expect(outcome.results.filter((r) => !r.ok)).toEqual([]);
      expect(outcome.ok).toBe(true);
    } finally {
      await database?.drop();
    }
  }, 120_000);
});

describe('e2e: pipeline behaviour', () => {
  let sandbox: BitbucketSandbox;
  let dir: string;
  beforeEach(async () => {
    sandbox = await startSandbox();
    dir = mkdtempSync(path.join(tmpdir(), 'clawgate-e2e-'));
  });
  afterEach(async () => {
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('INPROGRESS is posted first, then the verdict; every app call carried a valid JWT', async () => {
    const app = await startTestClawgate(sandbox, { databaseUrl: `sqlite:${path.join(dir, 'db.sqlite')}` });
    try {
      const ws = await prepareWorkspace(sandbox, app.url);
      const pr = openAgentPullRequest(sandbox, ws, 'agent/one', { 'src/one.ts': 'export const one = 1;\n' });
      const status = await finalStatus(sandbox, pr.head);
      expect(status.state).toBe('SUCCESSFUL');
      const states = sandbox.received.statuses
        .filter((w) => w.commit === pr.head)
        .map((w) => (w.body as { state?: string }).state);
      expect(states[0]).toBe('INPROGRESS');
      expect(states[states.length - 1]).toBe('SUCCESSFUL');
      expect(sandbox.received.authFailures).toEqual([]);
    } finally {
      await app.close();
    }
  }, 30_000);

  test('a failure of clawgate itself in enforce mode publishes FAILED, never SUCCESSFUL', async () => {
    const app = await startTestClawgate(sandbox, { databaseUrl: `sqlite:${path.join(dir, 'db.sqlite')}` });
    try {
      const ws = await prepareWorkspace(sandbox, app.url);
      sandbox.faults.inject({ path: /\/diffstat\//, status: 500, count: 1000 });
      const pr = openAgentPullRequest(sandbox, ws, 'agent/broken', { 'src/b.ts': 'export const b = 1;\n' });
      const status = await finalStatus(sandbox, pr.head, 25_000);
      expect(status.state).toBe('FAILED');
      expect(String(status.description)).toContain('CLAWGATE_ERROR');
      expect(
        sandbox.received.statuses.some(
          (w) => w.commit === pr.head && (w.body as { state?: string }).state === 'SUCCESSFUL',
        ),
      ).toBe(false);
    } finally {
      sandbox.faults.clear();
      await app.close();
    }
  }, 40_000);

  test('a new commit re-evaluates the new head; a job for the older head is dropped', async () => {
    const app = await startTestClawgate(sandbox, { databaseUrl: `sqlite:${path.join(dir, 'db.sqlite')}` });
    try {
      const ws = await prepareWorkspace(sandbox, app.url);
      const pr = openAgentPullRequest(sandbox, ws, 'agent/moving', { 'src/m.ts': 'export const m = 1;\n' });
      await finalStatus(sandbox, pr.head);
      const newer = sandbox.commit('acme/proj-web', {
        branch: 'agent/moving',
        author: 'alice',
        message: 'human fix',
        files: { 'src/m.ts': 'export const m = 2;\n' },
      });
      const status = await finalStatus(sandbox, newer.hash);
      expect(['SUCCESSFUL', 'FAILED']).toContain(status.state);
      const installation = sandbox.listInstallations()[0];
      const outcome = await evaluatePullRequest(
        {
          workspaceId: (await app.store.tenants.findByClientKey(installation?.clientKey ?? ''))?.workspaceId ?? '',
          clientKey: installation?.clientKey ?? '',
          repoFullName: 'acme/proj-web',
          prId: pr.prId,
          headHint: pr.head.slice(0, 12),
          trigger: 'pullrequest:updated',
          deliveryId: 'stale-delivery',
        },
        {
          store: app.store,
          config: loadAppConfig({ CLAWGATE_ALLOWED_HOSTS: new URL(sandbox.baseUrl).host }),
          logger: pino({ level: 'silent' }),
        },
      );
      expect(outcome.status).toBe('superseded');
    } finally {
      await app.close();
    }
  }, 30_000);

  test("revocations saved through the settings API apply to the next evaluation (re-check) and to a revoked account's next PR", async () => {
    const app = await startTestClawgate(sandbox, { databaseUrl: `sqlite:${path.join(dir, 'db.sqlite')}` });
    try {
      const ws = await prepareWorkspace(sandbox, app.url);
      const pr = openAgentPullRequest(sandbox, ws, 'agent/revoked', { 'src/r.ts': 'export const r = 1;\n' });
      expect((await finalStatus(sandbox, pr.head)).state).toBe('SUCCESSFUL');
      const current = await callApi(app.url, 'GET', '/api/v1/workspaces/acme/settings', ws.bearer);
      const revocations = current.json.revocations as Record<string, string[]>;
      const saved = await callApi(app.url, 'PUT', '/api/v1/workspaces/acme/settings', ws.bearer, {
        ...current.json,
        revocations: { ...revocations, bundle_ids: [pr.bundleId], agent_dids: [ws.keys.agent.did] },
      });
      expect(saved.status).toBe(200);
      const recheck = await callApi(
        app.url,
        'POST',
        `/api/v1/workspaces/acme/repositories/proj-web/pullrequests/${pr.prId}/recheck`,
        ws.bearer,
        {},
      );
      expect(recheck.status).toBe(202);
      const failed = await waitFor(
        () => {
          const status = clawgateStatus(sandbox, pr.head);
          return status?.state === 'FAILED' ? status : undefined;
        },
        20_000,
        'the revoked verdict',
      );
      expect(String(failed.description)).toMatch(/REVOKED_(AGENT|BUNDLE)/);
      const list = await callApi(
        app.url,
        'GET',
        `/api/v1/workspaces/acme/evaluations?repo=acme%2Fproj-web&pr=${pr.prId}`,
        ws.bearer,
      );
      const latest = (list.json.evaluations as { id: string }[])[0];
      const detail = await callApi(
        app.url,
        'GET',
        `/api/v1/workspaces/acme/evaluations/${latest?.id ?? ''}`,
        ws.bearer,
      );
      const codes = (detail.json.verdict as { checks: { code: string; outcome: string }[] }).checks
        .filter((c) => c.outcome === 'fail')
        .map((c) => c.code);
      expect(codes).toEqual(expect.arrayContaining(['REVOKED_AGENT', 'REVOKED_BUNDLE']));

      // Revoking the agent's Bitbucket account: its next PR fails too, even without any bundle.
      const unrevoked = await callApi(app.url, 'GET', '/api/v1/workspaces/acme/settings', ws.bearer);
      const accountRevoked = await callApi(app.url, 'PUT', '/api/v1/workspaces/acme/settings', ws.bearer, {
        ...unrevoked.json,
        revocations: {
          ...(unrevoked.json.revocations as Record<string, string[]>),
          bundle_ids: [],
          agent_dids: [],
          account_uuids: [ws.botUuid],
        },
      });
      expect(accountRevoked.status).toBe(200);
      const bare = sandbox.commit('acme/proj-web', {
        branch: 'agent/no-bundle',
        author: 'claw-bot',
        message: 'no bundle',
        files: { 'src/nb.ts': 'export const nb = 1;\n' },
      });
      sandbox.openPullRequest('acme/proj-web', { source: 'agent/no-bundle', author: 'claw-bot', title: 'no bundle' });
      const revokedAccount = await finalStatus(sandbox, bare.hash);
      expect(revokedAccount.state).toBe('FAILED');
      expect(String(revokedAccount.description)).toContain('REVOKED_AGENT');
    } finally {
      await app.close();
    }
  }, 30_000);

  test('a job survives the app being killed mid-job and finishes after restart', async () => {
    const port = await freePort();
    const env = {
      ...process.env,
      PORT: String(port),
      APP_BASE_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: `sqlite:${path.join(dir, 'db.sqlite')}`,
      CLAWGATE_SECRET_KEY: TEST_SECRET_KEY,
      CLAWGATE_ALLOWED_HOSTS: new URL(sandbox.baseUrl).host,
      CLAWGATE_WORKER_ID: 'e2e-worker',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
    };
    const cli = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.ts');
    const start = (): ChildProcess =>
      spawn(process.execPath, ['--import', 'tsx', cli, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const healthy = async () =>
      waitFor(
        async () =>
          (await fetch(`http://127.0.0.1:${port}/healthz`)
            .then((r) => r.ok)
            .catch(() => false)) || undefined,
        20_000,
        'clawgate to start',
      );
    let child = start();
    try {
      await healthy();
      const ws = await prepareWorkspace(sandbox, `http://127.0.0.1:${port}`);
      // Hold the job inside gather: the commit diffstat answers only after 10 s.
      sandbox.faults.inject({ path: /\/diffstat\/[0-9a-f]{40}/, latencyMs: 10_000, count: 1 });
      const pr = openAgentPullRequest(sandbox, ws, 'agent/crash', { 'src/c.ts': 'export const c = 1;\n' });
      await waitFor(() => clawgateStatus(sandbox, pr.head)?.state === 'INPROGRESS' || undefined, 20_000, 'INPROGRESS');
      await waitFor(() => sandbox.faults.served.length > 0 || undefined, 20_000, 'the slow request');
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      expect(clawgateStatus(sandbox, pr.head)?.state).toBe('INPROGRESS');
      child = start();
      await healthy();
      const status = await finalStatus(sandbox, pr.head, 30_000);
      expect(status.state).toBe('SUCCESSFUL');
    } finally {
      child.kill('SIGKILL');
    }
  }, 90_000);
});
