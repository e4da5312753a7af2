import { mkdtempSync, rmSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import path from 'node:path';
import { EVALUATION_JOB } from '../../src/pipeline/webhook-events';
import { startSandbox, type BitbucketSandbox } from '../../src/sandbox';
import { backendsUnderTest, createTestDatabase, type Backend, type TestDatabase } from '../store/support/postgres';
import {
  clawgateStatus,
  finalStatus,
  openAgentPullRequest,
  prepareWorkspace,
  startTestClawgate,
  waitFor,
} from '../e2e/harness';

/**
 * Issue 15, "acks that never wait for work": with every worker busy on a slow Bitbucket, webhooks are
 * still answered at once and durably queued, and each is evaluated later, once, with the right
 * verdict. SQLite runs the jobs in the process that answers (the default there) or in a forked worker
 * process; PostgreSQL in the forked worker process of the `all` role (its default).
 */
/** [backend, worker processes]: each backend's default, and SQLite with a forked worker process. */
const CASES: [Backend, number][] = [
  ...backendsUnderTest('server/acks-never-wait-for-work').map((backend): [Backend, number] => [
    backend,
    backend === 'postgres' ? 1 : 0,
  ]),
  ['sqlite', 1],
];

describe.each(CASES)('on %s with %i worker process(es)', (backend, workerProcesses) => {
  let sandbox: BitbucketSandbox;
  let dir: string;
  let database: TestDatabase | undefined;
  beforeEach(async () => {
    sandbox = await startSandbox();
    dir = mkdtempSync(path.join(tmpdir(), 'clawgate-acks-'));
    database = backend === 'postgres' ? await createTestDatabase('acks_busy') : undefined;
  });
  afterEach(async () => {
    await sandbox.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('webhooks get their 2xx while the only worker is blocked on a slow API, then every PR is evaluated once and right', async () => {
    const app = await startTestClawgate(sandbox, {
      databaseUrl: database?.url ?? `sqlite:${path.join(dir, 'db.sqlite')}`,
      env: {
        CLAWGATE_WORKER_CONCURRENCY: '1',
        CLAWGATE_WORKER_PROCESSES: String(workerProcesses),
        LOG_LEVEL: 'silent',
      },
    });
    try {
      expect(app.workerProcesses).toBe(workerProcesses);
      // Forked workers run niced (CLAWGATE_WORKER_NICE, default 10) so the process that acks gets the CPU first.
      for (const pid of app.workerPids()) expect(getPriority(pid)).toBe(Math.min(19, getPriority() + 10));
      const ws = await prepareWorkspace(sandbox, app.url);
      // The first evaluation's first read of its PR hangs for 6 s: the one worker is busy.
      const slow = sandbox.faults.inject({ path: /\/pullrequests\/\d+$/, method: 'GET', latencyMs: 6000, count: 1 });
      const first = openAgentPullRequest(sandbox, ws, 'agent/blocker', {
        'src/blocker.ts': 'export const blocker = 1;\n',
      });
      await waitFor(
        () => (slow.hits() === 1 ? true : undefined),
        10_000,
        'the first evaluation to reach the slow call',
      );

      const prs = Array.from({ length: 8 }, (_, n) =>
        openAgentPullRequest(sandbox, ws, `agent/queued-${n}`, { [`src/q${n}.ts`]: `export const q = ${n};\n` }),
      );
      const byPr = () => sandbox.deliveries.filter((d) => d.event === 'pullrequest:created');
      const acked = await waitFor(
        () => {
          const created = byPr();
          return created.length === 9 && created.every((d) => d.outcome === 'delivered') ? created : undefined;
        },
        10_000,
        'every pullrequest:created delivery answered',
      );
      // Every ack came while the worker was still blocked: nothing waited for work.
      expect(clawgateStatus(sandbox, first.head)?.state).not.toBe('SUCCESSFUL');
      for (const delivery of acked) {
        expect(delivery.attempts).toHaveLength(1);
        expect(delivery.attempts[0]?.status).toBeGreaterThanOrEqual(200);
        expect(delivery.attempts[0]?.status).toBeLessThan(300);
        expect(delivery.attempts[0]?.durationMs).toBeLessThan(2000);
      }
      // A redelivery (Bitbucket retries with the same X-Request-UUID) is acknowledged and not queued twice.
      for (const delivery of acked.slice(1, 4)) {
        const again = await fetch(delivery.url, {
          method: 'POST',
          headers: { ...delivery.headers, 'x-attempt-number': '2' },
          body: delivery.body,
        });
        expect([again.status, await again.text()]).toEqual([204, '']);
      }
      // The queued jobs are durable rows, visible as queue depth while the worker is busy.
      const backlog = await app.queue.backlog();
      const evaluations = backlog.find((row) => row.name === EVALUATION_JOB);
      expect(evaluations?.waiting ?? 0).toBeGreaterThanOrEqual(1);

      for (const pr of [first, ...prs]) expect((await finalStatus(sandbox, pr.head, 60_000)).state).toBe('SUCCESSFUL');
      const workspaceId =
        (await app.store.tenants.findByClientKey(sandbox.listInstallations()[0]?.clientKey ?? ''))?.workspaceId ?? '';
      for (const pr of [first, ...prs]) {
        const stored = await app.store.evaluations.listForPullRequest(workspaceId, 'acme/proj-web', pr.prId);
        expect(stored.map((evaluation) => evaluation.headSha)).toEqual([pr.head]);
      }
    } finally {
      await app.close();
    }
  }, 120_000);
});

describe('a forked worker process that dies', () => {
  let sandbox: BitbucketSandbox;
  let dir: string;
  beforeEach(async () => {
    sandbox = await startSandbox();
    dir = mkdtempSync(path.join(tmpdir(), 'clawgate-acks-'));
  });
  afterEach(async () => {
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('is forked again, and its successor finishes the job it was running (kill -9 mid-job; SQLite, table queue)', async () => {
    const app = await startTestClawgate(sandbox, {
      databaseUrl: `sqlite:${path.join(dir, 'db.sqlite')}`,
      env: { CLAWGATE_WORKER_CONCURRENCY: '1', CLAWGATE_WORKER_PROCESSES: '1', LOG_LEVEL: 'silent' },
    });
    try {
      const ws = await prepareWorkspace(sandbox, app.url);
      const slow = sandbox.faults.inject({ path: /\/pullrequests\/\d+$/, method: 'GET', latencyMs: 10_000, count: 1 });
      const pr = openAgentPullRequest(sandbox, ws, 'agent/crash', { 'src/crash.ts': 'export const crash = 1;\n' });
      await waitFor(() => (slow.hits() === 1 ? true : undefined), 15_000, 'the evaluation to reach the slow call');
      const [victim] = app.workerPids();
      expect(victim).toBeDefined();
      process.kill(victim ?? 0, 'SIGKILL');
      const successor = await waitFor(
        () => app.workerPids().find((pid) => pid !== victim),
        30_000,
        'a new worker process',
      );
      expect(successor).not.toBe(victim);
      expect((await finalStatus(sandbox, pr.head, 30_000)).state).toBe('SUCCESSFUL');
    } finally {
      await app.close();
    }
  }, 90_000);
});
