import { EVALUATION_JOB } from '../../src/pipeline/webhook-events';
import { startSandbox, type BitbucketSandbox } from '../../src/sandbox';
import type { ClawgateServer } from '../../src/server/create-server';
import { makeScenario } from '../../src/testkit';
import {
  callApi,
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
 * Issues 9 and 15, the API budget, through the sandbox and the real server: the agent is the
 * adversary and opens many-commit PRs to spend the installation's Bitbucket API budget, so that
 * status writes and forged-status restores die and a head ends without a status, or SUCCESSFUL.
 * Each test sets a small budget (CLAWGATE_API_*) so that running out is cheap.
 */

const REPO = 'acme/proj-web';

/** An agent PR: the attested work commit, the bundle, then `extra` agent commits after attestation. */
function manyCommitAgentPr(
  sandbox: BitbucketSandbox,
  ws: Workspace,
  branch: string,
  extra: number,
): { prId: number; head: string } {
  const work = sandbox.commit(REPO, {
    branch,
    author: 'claw-bot',
    message: 'agent work',
    files: { [`src/${branch.replace(/\W/g, '_')}.ts`]: 'export const w = 1;\n' },
  });
  const s = makeScenario({
    workspace: 'acme',
    repoSlug: 'proj-web',
    commit: work.hash,
    wpc: ws.wpc,
    startMs: Date.now() - 60_000,
    ...ws.keys,
  });
  let head = sandbox.commit(REPO, {
    branch,
    author: 'claw-bot',
    message: 'proof bundle',
    files: { '.clawsig/proof_bundle.json': JSON.stringify(s.bundle.envelope) },
  }).hash;
  for (let i = 0; i < extra; i++)
    head = sandbox.commit(REPO, {
      branch,
      author: 'claw-bot',
      message: `more ${i}`,
      files: { [`src/more-${branch.replace(/\W/g, '_')}-${i}.ts`]: `export const m = ${i};\n` },
    }).hash;
  const pr = sandbox.openPullRequest(REPO, {
    source: branch,
    author: 'claw-bot',
    title: branch,
    description: `Proof-Bundle: ${s.bundle.bundleId}`,
  });
  return { prId: pr.id, head };
}

describe('the per-evaluation cap', () => {
  let sandbox: BitbucketSandbox;
  let app: ClawgateServer;
  let ws: Workspace;

  beforeAll(async () => {
    sandbox = await startSandbox();
    app = await startTestClawgate(sandbox, { env: { CLAWGATE_API_CALLS_PER_EVALUATION: '8' } });
    ws = await prepareWorkspace(sandbox, app.url, { mode: 'enforce' });
  }, 30_000);

  afterAll(async () => {
    await app.close();
    await sandbox.close();
  });

  test('a many-commit agent PR spends at most the cap on reads and fails closed with API_BUDGET_EXCEEDED', async () => {
    const from = sandbox.received.requests.length;
    // 20 agent commits after the attested one: one diffstat each would be needed to judge them.
    const pr = manyCommitAgentPr(sandbox, ws, 'agent/many-commits', 20);
    const status = await finalStatus(sandbox, pr.head, 30_000);
    expect(status.state).toBe('FAILED');
    expect(String(status.description)).toContain('API_BUDGET_EXCEEDED');
    const evaluation = await waitFor(
      async () => (await app.store.evaluations.listForPullRequest((await tenantOf(app)).workspaceId, REPO, pr.prId))[0],
      10_000,
      'the evaluation',
    );
    expect((evaluation.verdict as { reason_code?: string }).reason_code).toBe('API_BUDGET_EXCEEDED');
    // The evaluation's own reads stayed within the cap (the push jobs read the repository, not the PR).
    const evaluationReads = repositoryCalls(sandbox, from).filter(
      (c) => c.method === 'GET' && /\/pullrequests\/|\/diffstat\/|\/src\/|\/commit\//.test(c.path),
    );
    expect(evaluationReads.length).toBeLessThanOrEqual(8);
  }, 60_000);

  test('a second evaluation of the same head (a re-check) reads no file or commit diffstat again', async () => {
    const pr = openAgentPullRequest(sandbox, ws, 'agent/recheck-cache', { 'src/cached.ts': 'export const c = 1;\n' });
    expect((await finalStatus(sandbox, pr.head, 30_000)).state).toBe('SUCCESSFUL');
    const tenant = await tenantOf(app);
    const first = await waitFor(
      async () => (await app.store.evaluations.listForPullRequest(tenant.workspaceId, REPO, pr.prId))[0],
      10_000,
      'the first evaluation',
    );
    const from = sandbox.received.requests.length;
    const response = await callApi(
      app.url,
      'POST',
      `/api/v1/workspaces/acme/repositories/proj-web/pullrequests/${pr.prId}/recheck`,
      ws.bearer,
    );
    expect(response.status).toBeLessThan(300);
    await waitFor(
      async () =>
        (await app.store.evaluations.listForPullRequest(tenant.workspaceId, REPO, pr.prId)).some(
          (e) => e.id !== first.id,
        )
          ? true
          : undefined,
      20_000,
      'the re-check',
    );
    expect((await finalStatus(sandbox, pr.head, 30_000)).state).toBe('SUCCESSFUL');
    const calls = repositoryCalls(sandbox, from);
    // The PR, its commits and its diffstat are read again (they change without a new head); the
    // bundle file and the bundle commit's diffstat, addressed by full hash, come from the cache.
    expect(calls.filter((c) => c.method === 'GET' && /\/src\//.test(c.path))).toEqual([]);
    expect(
      calls.filter((c) => c.method === 'GET' && /\/diffstat\/[0-9a-f]{40}$/.test(c.path.split('?')[0] ?? '')),
    ).toEqual([]);
    expect(
      calls.filter((c) => c.method === 'GET' && /\/pullrequests\/\d+$/.test(c.path.split('?')[0] ?? '')),
    ).toHaveLength(1);
  }, 60_000);

  test('a compliant agent PR stays well within the cap and passes', async () => {
    const pr = openAgentPullRequest(sandbox, ws, 'agent/small', { 'src/small.ts': 'export const s = 1;\n' });
    expect((await finalStatus(sandbox, pr.head, 30_000)).state).toBe('SUCCESSFUL');
  }, 60_000);
});

describe('the installation budget and its write reserve', () => {
  let sandbox: BitbucketSandbox;
  let app: ClawgateServer;
  let ws: Workspace;

  beforeAll(async () => {
    sandbox = await startSandbox();
    // 300 calls an hour, 60 of them for writes only; reads pause 300 ms after a 429.
    app = await startTestClawgate(sandbox, {
      env: {
        CLAWGATE_API_CALLS_PER_HOUR: '300',
        CLAWGATE_API_WRITE_RESERVE: '60',
        CLAWGATE_API_CALLS_PER_EVALUATION: '12',
        CLAWGATE_API_COOLDOWN_MS: '300',
      },
    });
    ws = await prepareWorkspace(sandbox, app.url, { mode: 'enforce' });
  }, 30_000);

  afterAll(async () => {
    await app.close();
    await sandbox.close();
  });

  test('with reads exhausted by many-commit agent PRs, every head still gets a status, never SUCCESSFUL, and a forged SUCCESSFUL is restored', async () => {
    const tenant = await tenantOf(app);
    // The agent drains the reads: many-commit PRs, each capped at 12 reads, until the hour's reads are gone.
    const drains: { head: string }[] = [];
    for (let i = 0; i < 40; i++) {
      const usage = await app.store.apiCalls.window(tenant.workspaceId, tenant.clientKey, Date.now());
      if (usage.current >= 240) break;
      drains.push(manyCommitAgentPr(sandbox, ws, `agent/drain-${i}`, 15));
      await waitFor(
        () => (clawgateStatus(sandbox, drains[drains.length - 1]?.head ?? '') !== undefined ? true : undefined),
        20_000,
        'a status on the drain PR',
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const readsLeft = async () => {
      const window = await app.store.apiCalls.window(tenant.workspaceId, tenant.clientKey, Date.now());
      return 240 - window.current;
    };
    await waitFor(async () => ((await readsLeft()) <= 0 ? true : undefined), 30_000, 'the reads to run out');

    // A new agent PR now: INPROGRESS is written from the reserve before any read, and stays (never SUCCESSFUL).
    const pr = openAgentPullRequest(sandbox, ws, 'agent/after-drain', { 'src/after.ts': 'export const a = 1;\n' });
    const pending = await waitFor(() => clawgateStatus(sandbox, pr.head), 20_000, 'a status on the head');
    expect(pending.state).not.toBe('SUCCESSFUL');

    // The agent forges SUCCESSFUL on a drained head: the restore still goes out (it may use the reserve).
    const forgedOn = drains[0]?.head ?? '';
    sandbox.postStatus(
      REPO,
      forgedOn,
      {
        key: 'clawgate',
        state: 'SUCCESSFUL',
        description: 'all good',
        url: 'https://example.invalid/ok',
        refname: 'agent/drain-0',
      },
      'claw-bot',
    );
    await waitFor(
      () => (clawgateStatus(sandbox, forgedOn)?.state === 'FAILED' ? true : undefined),
      20_000,
      'the forged status to be restored',
    );

    // Every head the agent made has a clawgate status, and none is SUCCESSFUL.
    for (const head of [...drains.map((d) => d.head), pr.head]) {
      const status = clawgateStatus(sandbox, head);
      expect(status).toBeDefined();
      expect(status?.state).not.toBe('SUCCESSFUL');
    }
    // Writes never went past the hour; reads stopped at the line.
    const window = await app.store.apiCalls.window(tenant.workspaceId, tenant.clientKey, Date.now());
    expect(window.current).toBeLessThanOrEqual(300);
    // No call was ever refused by Bitbucket: clawgate stopped itself first.
    expect(sandbox.received.requests.filter((r) => r.status === 429)).toHaveLength(0);

    // Its job is deferred, not retried by the queue: pending, due when the budget's estimate has room
    // again (on the wall clock here, up to an hour and a minute away; the verdict after that wait is
    // test/e2e/api-budget-exhaustion-defers-until-the-budget-returns.test.ts).
    const deferred = await waitFor(
      async () =>
        (await app.store.jobs.list({ name: EVALUATION_JOB, states: ['pending'] })).find((j) =>
          pr.head.startsWith((j.payload as { headHint?: string }).headHint ?? '-'),
        ),
      20_000,
      'the deferred job',
    );
    expect((deferred.payload as { deferral?: { count: number } }).deferral?.count).toBeGreaterThanOrEqual(1);
    expect(deferred.runAfter.getTime()).toBeLessThanOrEqual(Date.now() + 3_600_000 + 60_000);
    // The hour passes (simulated: the counts are purged) and someone asks for a re-check instead of
    // waiting for the deferred job: the true verdict.
    await app.store.apiCalls.purgeOlderThan(Date.now() + 7_200_000);
    const recheck = await callApi(
      app.url,
      'POST',
      `/api/v1/workspaces/acme/repositories/proj-web/pullrequests/${pr.prId}/recheck`,
      ws.bearer,
    );
    expect(recheck.status).toBeLessThan(300);
    expect((await finalStatus(sandbox, pr.head, 60_000)).state).toBe('SUCCESSFUL');
  }, 180_000);
});

describe('a 429 storm', () => {
  let sandbox: BitbucketSandbox;
  let app: ClawgateServer;
  let ws: Workspace;

  beforeAll(async () => {
    sandbox = await startSandbox();
    app = await startTestClawgate(sandbox, { env: { CLAWGATE_API_COOLDOWN_MS: '300' } });
    ws = await prepareWorkspace(sandbox, app.url, { mode: 'enforce' });
  }, 30_000);

  afterAll(async () => {
    await app.close();
    await sandbox.close();
  });

  test('ends in a retried, correct verdict; the head is never SUCCESSFUL before it, and the 429s are counted', async () => {
    const tenant = await tenantOf(app);
    // Every read of the PR answers 429 for a while (no Retry-After, as Bitbucket).
    const storm = sandbox.faults.inject({ path: /\/pullrequests\/\d+(\/|$)/, method: 'GET', status: 429, count: 8 });
    const from = sandbox.received.statuses.length;
    const compliant = openAgentPullRequest(sandbox, ws, 'agent/storm-ok', { 'src/storm.ts': 'export const s = 1;\n' });
    const denied = openAgentPullRequest(sandbox, ws, 'agent/storm-denied', {
      '.github/workflows/ci.yml': 'on: push\n',
    });
    expect((await finalStatus(sandbox, denied.head, 90_000)).state).toBe('FAILED');
    await waitFor(
      () => (clawgateStatus(sandbox, compliant.head)?.state === 'SUCCESSFUL' ? true : undefined),
      90_000,
      'the compliant head to pass',
    );
    expect(storm.hits()).toBe(8);
    // Each head's status writes: never SUCCESSFUL until the verdict that passed.
    for (const head of [compliant.head, denied.head]) {
      const states = sandbox.received.statuses
        .slice(from)
        .filter((w) => w.commit === head && w.status < 300)
        .map((w) => String((w.body as { state?: string }).state));
      expect(states.length).toBeGreaterThan(0);
      expect(states.slice(0, -1)).not.toContain('SUCCESSFUL');
    }
    const window = await app.store.apiCalls.window(tenant.workspaceId, tenant.clientKey, Date.now());
    expect(window.rateLimited).toBeGreaterThanOrEqual(1);
  }, 120_000);
});
