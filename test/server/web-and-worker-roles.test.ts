import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadAppConfig } from '../../src/config/app-config';
import { startSandbox, type BitbucketSandbox } from '../../src/sandbox';
import { startClawgate } from '../../src/server/create-server';
import { freePort } from '../../src/server/free-port';
import { clawgateStatus, finalStatus, openAgentPullRequest, prepareWorkspace, TEST_SECRET_KEY } from '../e2e/harness';

/**
 * `clawgate serve --role web` and `--role worker` on one database (docs/operations.md "Roles"): the
 * web process acks and queues but never evaluates; the worker evaluates what the web process queued
 * and answers nothing but health and metrics.
 */
describe('roles web and worker', () => {
  let sandbox: BitbucketSandbox;
  let dir: string;
  beforeEach(async () => {
    sandbox = await startSandbox();
    dir = mkdtempSync(path.join(tmpdir(), 'clawgate-roles-'));
  });
  afterEach(async () => {
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a web process queues without evaluating; a worker on the same database evaluates it; the worker serves no surface', async () => {
    const port = await freePort();
    const config = loadAppConfig({
      PORT: String(port),
      APP_BASE_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: `sqlite:${path.join(dir, 'db.sqlite')}`,
      CLAWGATE_SECRET_KEY: TEST_SECRET_KEY,
      CLAWGATE_ALLOWED_HOSTS: new URL(sandbox.baseUrl).host,
      CLAWGATE_METRICS_TOKEN: 'metrics-token-0123456789abcdef',
    });
    const logger = pino({ level: 'silent' });
    const web = await startClawgate({ config, port, logger, pollIntervalMs: 50, env: {}, role: 'web' });
    let worker: Awaited<ReturnType<typeof startClawgate>> | undefined;
    try {
      expect([web.role, web.workerProcesses]).toEqual(['web', 0]);
      const ws = await prepareWorkspace(sandbox, web.url);
      const pr = openAgentPullRequest(sandbox, ws, 'agent/roles', { 'src/roles.ts': 'export const roles = 1;\n' });
      await sandbox.waitForDeliveries();
      const created = sandbox.deliveries.find((d) => d.event === 'pullrequest:created');
      expect(created?.attempts[0]?.status).toBe(204);
      // Nothing evaluates it: the job waits, durably.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(clawgateStatus(sandbox, pr.head)).toBeUndefined();
      expect((await web.queue.backlog()).find((row) => row.name === 'evaluate-pull-request')?.waiting).toBe(1);
      const scrape = async (url: string) =>
        (await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer metrics-token-0123456789abcdef' } })).text();
      expect(await scrape(web.url)).toMatch(/clawgate_queue_waiting_jobs\{job="evaluate-pull-request"\} 1/);

      worker = await startClawgate({ config, port: 0, logger, pollIntervalMs: 50, env: {}, role: 'worker' });
      expect((await finalStatus(sandbox, pr.head, 30_000)).state).toBe('SUCCESSFUL');
      expect((await fetch(`${worker.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${worker.url}/connect/webhook`, { method: 'POST' })).status).toBe(404);
      expect((await fetch(`${worker.url}/api/v1/workspaces/acme/evaluations`)).status).toBe(404);
      const metrics = await scrape(worker.url);
      expect(metrics).toMatch(/clawgate_evaluations_total\{state="PASS",status="SUCCESSFUL"\} 1/);
      await new Promise((resolve) => setTimeout(resolve, 1100)); // past the gauges' 1 s snapshot
      const webMetrics = await scrape(web.url);
      expect(webMetrics).toMatch(/clawgate_webhook_ack_seconds_count\{surface="connect",status="2xx"\} [1-9]/);
      expect(webMetrics).toMatch(/clawgate_queue_waiting_jobs\{job="evaluate-pull-request"\} 0/);
    } finally {
      await worker?.close();
      await web.close();
    }
  }, 60_000);
});
