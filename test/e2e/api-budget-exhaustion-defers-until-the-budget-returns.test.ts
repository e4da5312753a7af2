import { EVALUATION_JOB } from '../../src/pipeline/webhook-events';
import { startSandbox, type BitbucketSandbox } from '../../src/sandbox';
import type { ClawgateServer } from '../../src/server/create-server';
import { createTestDatabase, type TestDatabase } from '../store/support/postgres';
import {
  clawgateStatus,
  finalStatus,
  openAgentPullRequest,
  prepareWorkspace,
  startTestClawgate,
  waitFor,
  type Workspace,
  repositoryCalls,
  tenantOf,
} from './harness';

/**
 * Issue 9, "on 429, back off and retry later instead of dropping", through the sandbox and the real
 * server. Out of API budget (the installation's hour spent, or Bitbucket answering 429), an
 * evaluation is deferred: queued again as a delayed job due when the budget returns, the head keeping
 * a status that is not SUCCESSFUL and says it waits; once the budget is back, every head gets its
 * true verdict — a compliant PR SUCCESSFUL, a violating one FAILED. The agent cannot turn the wait
 * into SUCCESSFUL or silence by keeping the budget spent, nor can a deferred job for an old head
 * outlive a newer head's job.
 */

const HOUR = 3_600_000;
const REPO = 'acme/proj-web';
const VIOLATION = { '.github/workflows/ci.yml': 'on: push\n' };

/** What the metrics say about deferrals, summed over workspaces. */
async function deferrals(app: ClawgateServer, cause: 'budget' | 'rate_limited'): Promise<number> {
  const metric = await app.metrics.registry.getSingleMetric('clawgate_evaluation_deferrals_total')?.get();
  return (metric?.values ?? []).filter((v) => v.labels.cause === cause).reduce((sum, v) => sum + v.value, 0);
}

describe('the installation hour spent (table queue, SQLite)', () => {
  let sandbox: BitbucketSandbox;
  let app: ClawgateServer;
  let ws: Workspace;
  // The budget's clock runs ahead of the wall clock by `offset`; the test moves it to let hours pass.
  let offset = 0;

  beforeAll(async () => {
    sandbox = await startSandbox();
    // 300 calls an hour, 60 of them for writes only: reads stop at 240.
    app = await startTestClawgate(sandbox, {
      env: {
        CLAWGATE_API_CALLS_PER_HOUR: '300',
        CLAWGATE_API_WRITE_RESERVE: '60',
        CLAWGATE_API_CALLS_PER_EVALUATION: '40',
        CLAWGATE_API_DEFER_JITTER_MS: '500',
      },
      apiBudgetNow: () => Date.now() + offset,
    });
    ws = await prepareWorkspace(sandbox, app.url, { mode: 'enforce' });
  }, 30_000);

  afterAll(async () => {
    await app.close();
    await sandbox.close();
  });

  test('heads wait with a non-SUCCESSFUL status, their jobs are due when the budget returns and make no call before; then each gets its true verdict, and a newer head wins', async () => {
    const tenant = await tenantOf(app);
    // The agent kept the installation busy: 4,800 calls in the previous clock hour. The estimate
    // counts the share of them still inside the rolling hour, ceil(4800·(H−t)/H): 240 or more (all
    // of the reads) until t* = H − 239·H/4800, 3,420,750 ms into the hour. Writes keep their room.
    const P = 4800;
    const hourStart = (Math.floor(Date.now() / HOUR) + 2) * HOUR;
    for (let i = 0; i < P; i++)
      await app.store.apiCalls.take(tenant.workspaceId, tenant.clientKey, hourStart - 1, 10_000);
    const tStar = HOUR - (239 * HOUR) / P;
    // Reads return (with no call counted this hour) 15 s of wall-clock time from now.
    const readsReturnAt = Date.now() + 15_000;
    offset = hourStart + tStar - readsReturnAt;

    const from = sandbox.received.requests.length;
    const statusesFrom = sandbox.received.statuses.length;
    // The agent's PRs while the budget is spent: compliant ones and violating ones.
    const prs = [
      {
        ...openAgentPullRequest(sandbox, ws, 'agent/wait-ok-1', { 'src/wait1.ts': 'export const w = 1;\n' }),
        ok: true,
      },
      { ...openAgentPullRequest(sandbox, ws, 'agent/wait-bad-1', VIOLATION), ok: false },
      {
        ...openAgentPullRequest(sandbox, ws, 'agent/wait-ok-2', { 'src/wait2.ts': 'export const w = 2;\n' }),
        ok: true,
      },
      {
        ...openAgentPullRequest(sandbox, ws, 'agent/wait-bad-2', { '.github/workflows/x.yml': 'on: pull_request\n' }),
        ok: false,
      },
    ];
    // Each head says it waits for the budget (INPROGRESS, written from the write reserve), and when.
    for (const pr of prs) {
      const waiting = await waitFor(
        () => {
          const status = clawgateStatus(sandbox, pr.head);
          return status && String(status.description).includes('waiting for Bitbucket API budget') ? status : undefined;
        },
        20_000,
        `the waiting status on ${pr.head.slice(0, 12)}`,
      );
      expect(waiting.state).toBe('INPROGRESS');
      expect(String(waiting.description)).toMatch(/resumes about \d\d:\d\d UTC/);
    }
    // Each job is deferred: one pending job per PR, due when reads return (every write counted meanwhile
    // moves that by H/4800 = 750 ms), plus the jitter; none of them failed or is being retried.
    const pending = await waitFor(
      async () => {
        const jobs = await app.store.jobs.list({ name: EVALUATION_JOB, states: ['pending'] });
        return jobs.length === prs.length ? jobs : undefined;
      },
      10_000,
      'one deferred job per PR',
    );
    const writes = repositoryCalls(sandbox, from).filter((c) => c.method !== 'GET').length;
    for (const job of pending) {
      expect((job.payload as { deferral?: { count: number } }).deferral?.count).toBe(1);
      expect(job.attempts).toBe(0);
      expect(job.runAfter.getTime()).toBeGreaterThanOrEqual(readsReturnAt - 1_000);
      expect(job.runAfter.getTime()).toBeLessThanOrEqual(readsReturnAt + writes * 750 + 500 + 1_000);
    }
    expect(await app.store.jobs.list({ name: EVALUATION_JOB, states: ['failed'] })).toEqual([]);
    expect(await deferrals(app, 'budget')).toBe(prs.length);
    // While they wait, clawgate sends nothing for them: no read went out (every one was refused
    // before it was sent), and the only writes were the statuses (INPROGRESS, then the waiting one).
    const firstDue = Math.min(...pending.map((j) => j.runAfter.getTime()));
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, firstDue - Date.now() - 3_000)));
    const sofar = repositoryCalls(sandbox, from);
    expect(sofar.filter((c) => c.method === 'GET' && /\/pullrequests\//.test(c.path))).toEqual([]);
    expect(sofar.every((c) => c.method === 'GET' || /\/statuses\/build/.test(c.path))).toBe(true);
    for (const pr of prs) expect(clawgateStatus(sandbox, pr.head)?.state).toBe('INPROGRESS');

    // A newer head of the second compliant PR while its job waits: the deferred job of the old head
    // is dropped, the new head's job waits too, and the new head gets the verdict.
    const moved = prs[2];
    if (moved === undefined) throw new Error('no PR');
    const newHead = sandbox.commit(REPO, {
      branch: 'agent/wait-ok-2',
      author: 'claw-bot',
      message: 'after attestation',
      files: { 'src/late.ts': 'export const late = 1;\n' },
    }).hash;
    await waitFor(
      () => (clawgateStatus(sandbox, newHead) !== undefined ? true : undefined),
      20_000,
      'a status on the newer head',
    );
    await waitFor(
      async () =>
        (await app.store.jobs.list({ name: EVALUATION_JOB, states: ['superseded'] })).some((j) =>
          moved.head.startsWith((j.payload as { headHint?: string }).headHint ?? '-'),
        )
          ? true
          : undefined,
      20_000,
      'the old head’s deferred job to be dropped',
    );

    // Two hours pass on the budget's clock: the rolling hour is empty again. When the deferred jobs
    // come due, each head gets its true verdict.
    offset += 2 * HOUR;
    for (const pr of prs) {
      if (pr === moved) continue;
      expect((await finalStatus(sandbox, pr.head, 60_000)).state).toBe(pr.ok ? 'SUCCESSFUL' : 'FAILED');
    }
    // The newer head has agent work after the attested commit: FAILED, the true verdict.
    expect((await finalStatus(sandbox, newHead, 60_000)).state).toBe('FAILED');
    // The old head was never SUCCESSFUL, and no head was SUCCESSFUL before its verdict.
    expect(clawgateStatus(sandbox, moved.head)?.state).not.toBe('SUCCESSFUL');
    for (const head of [...prs.map((p) => p.head), newHead]) {
      const states = sandbox.received.statuses
        .slice(statusesFrom)
        .filter((w) => w.commit === head && w.status < 300)
        .map((w) => String((w.body as { state?: string }).state));
      expect(states.slice(0, -1)).not.toContain('SUCCESSFUL');
    }
    // Nothing was ever answered 429: clawgate stopped itself first, and did not hammer the budget.
    expect(sandbox.received.requests.filter((r) => r.status === 429)).toHaveLength(0);
    expect(await app.store.jobs.list({ name: EVALUATION_JOB, states: ['failed'] })).toEqual([]);
  }, 150_000);
});

describe('deferred for too long', () => {
  let sandbox: BitbucketSandbox;
  let app: ClawgateServer;
  let ws: Workspace;
  let offset = 0;

  beforeAll(async () => {
    sandbox = await startSandbox();
    // Deferral is bounded at 4 s here (24 h by default).
    app = await startTestClawgate(sandbox, {
      env: {
        CLAWGATE_API_CALLS_PER_HOUR: '300',
        CLAWGATE_API_WRITE_RESERVE: '60',
        CLAWGATE_API_DEFER_MAX_MS: '4000',
        CLAWGATE_API_DEFER_JITTER_MS: '200',
      },
      apiBudgetNow: () => Date.now() + offset,
    });
    ws = await prepareWorkspace(sandbox, app.url, { mode: 'enforce' });
  }, 30_000);

  afterAll(async () => {
    await app.close();
    await sandbox.close();
  });

  test('a head whose budget does not return within the bound ends FAILED (enforce), once, without queue retries', async () => {
    const tenant = await tenantOf(app);
    // The budget's clock in the middle of an hour whose reads are all spent: they return in half an hour.
    const hourStart = (Math.floor(Date.now() / HOUR) + 2) * HOUR;
    offset = hourStart + HOUR / 2 - Date.now();
    for (let i = 0; i < 240; i++)
      await app.store.apiCalls.take(tenant.workspaceId, tenant.clientKey, hourStart + HOUR / 2, 10_000);
    const pr = openAgentPullRequest(sandbox, ws, 'agent/waits-too-long', { 'src/long.ts': 'export const l = 1;\n' });
    const waiting = await waitFor(
      () => {
        const status = clawgateStatus(sandbox, pr.head);
        return status && String(status.description).includes('waiting for Bitbucket API budget') ? status : undefined;
      },
      20_000,
      'the waiting status',
    );
    expect(waiting.state).toBe('INPROGRESS');
    // Due at the bound (4 s), not in half an hour: that run is refused again and fails for good.
    const final = await finalStatus(sandbox, pr.head, 20_000);
    expect(final.state).toBe('FAILED');
    expect(String(final.description)).toContain('CLAWGATE_ERROR');
    const jobs = await app.store.jobs.list({ name: EVALUATION_JOB });
    expect(jobs.filter((j) => j.state === 'failed' || j.state === 'pending')).toEqual([]);
    expect(jobs.every((j) => j.attempts <= 1)).toBe(true);
    expect(await deferrals(app, 'budget')).toBe(1);
  }, 60_000);
});

describe('a 429 with Retry-After (pg-boss, PostgreSQL)', () => {
  let sandbox: BitbucketSandbox;
  let app: ClawgateServer;
  let ws: Workspace;
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase('api_defer_429');
    sandbox = await startSandbox();
    app = await startTestClawgate(sandbox, { env: { CLAWGATE_API_DEFER_JITTER_MS: '200' }, databaseUrl: database.url });
    expect(app.queue.backend).toBe('pg-boss');
    ws = await prepareWorkspace(sandbox, app.url, { mode: 'enforce' });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await sandbox?.close();
    await database?.drop();
  });

  test.each([
    ['a compliant PR', { 'src/after429.ts': 'export const r = 1;\n' }, 'SUCCESSFUL'],
    ['a violating PR', VIOLATION, 'FAILED'],
  ] as const)(
    '%s: no call to the installation before Retry-After, then the true verdict',
    async (_name, files, expected) => {
      const from = sandbox.received.requests.length;
      // The PR's first read answers 429 with Retry-After: 2.
      const fault = sandbox.faults.inject({
        path: /\/pullrequests\/\d+$/,
        method: 'GET',
        status: 429,
        retryAfter: 2,
        count: 1,
      });
      const branch = `agent/retry-after-${expected.toLowerCase()}`;
      const pr = openAgentPullRequest(sandbox, ws, branch, files);
      expect((await finalStatus(sandbox, pr.head, 60_000)).state).toBe(expected);
      expect(fault.hits()).toBe(1);
      const calls = repositoryCalls(sandbox, from);
      const refused = calls.find((c) => c.status === 429);
      if (refused === undefined) throw new Error('no 429');
      // Nothing went to the installation's API within the 2 s Bitbucket asked for.
      const tooSoon = calls.filter((c) => c.at > refused.at && c.at < refused.at + 2_000);
      expect(tooSoon).toEqual([]);
      // The wait was a deferral (the reads paused after the 429; the evaluation runs in a worker
      // process here, so its metrics are not this process's): the head said it waits for the
      // budget, and was INPROGRESS, never SUCCESSFUL, until the verdict.
      const writes = sandbox.received.statuses
        .filter((w) => w.commit === pr.head && w.status < 300)
        .map((w) => w.body as { state?: string; description?: string });
      expect(writes.some((w) => String(w.description).includes('waiting for Bitbucket API budget'))).toBe(true);
      expect(writes.slice(0, -1).every((w) => w.state === 'INPROGRESS')).toBe(true);
    },
    90_000,
  );
});
