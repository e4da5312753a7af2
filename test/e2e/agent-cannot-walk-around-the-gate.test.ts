import { makeScenario } from '../../src/testkit';
import { callApi, finalStatus, openAgentPullRequest, prepareWorkspace, waitFor, type Workspace } from './harness';
import { clawgateStatusOn, evaluationNumber, evaluationsOf, settle, startWorld, type World } from './operations-world';

/**
 * Issue 9 (findings 1, 2, 3, 4, 7, 8): an agent with write access tries to end its work in a
 * SUCCESSFUL `clawgate` status, or in none, through the sandbox and the real server. Each test
 * failed on c06be81 (see the commit that added it) and passes with the fail-closed gate.
 */

const REPO = 'acme/proj-web';

type Reason = { kind: string; accountId?: string; commit?: string };

function verdictOf(record: { verdict: unknown }): {
  reason_code?: string;
  agent_work?: Reason[];
  files?: { path: string; provenance: string }[];
  checks?: { code: string; outcome: string }[];
} {
  return record.verdict as never;
}

/** The latest evaluation of a PR at `head`, waited for. */
async function evaluationAt(world: World, prId: number, head: string) {
  return waitFor(
    async () => (await evaluationsOf(world, prId)).find((e) => e.headSha === head),
    20_000,
    `an evaluation of PR ${prId} at ${head.slice(0, 12)}`,
  );
}

async function statusSettled(
  world: World,
  head: string,
  state: string,
  timeoutMs = 20_000,
): Promise<Record<string, unknown>> {
  return waitFor(
    () => {
      const status = clawgateStatusOn(world, head);
      return status?.state === state ? status : undefined;
    },
    timeoutMs,
    `${state} on ${head.slice(0, 12)}`,
  );
}

async function putSettings(
  world: World,
  ws: Workspace,
  change: (current: Record<string, unknown>) => Record<string, unknown>,
): Promise<{ status: number; reevaluating: string | null }> {
  const current = await callApi(world.app.url, 'GET', '/api/v1/workspaces/acme/settings', ws.bearer);
  const response = await fetch(`${world.app.url}/api/v1/workspaces/acme/settings`, {
    method: 'PUT',
    headers: { authorization: ws.bearer, 'content-type': 'application/json' },
    body: JSON.stringify(change(current.json)),
  });
  await response.text();
  return { status: response.status, reevaluating: response.headers.get('clawgate-reevaluating') };
}

describe('finding 1: the error path and too-large inputs use the effective mode', () => {
  let world: World;
  let ws: Workspace;

  beforeAll(async () => {
    world = await startWorld();
    // The workspace observes; the repository is assigned enforce.
    ws = await prepareWorkspace(world.sandbox, world.app.url, { mode: 'observe' });
    const assignments = await callApi(world.app.url, 'GET', '/api/v1/workspaces/acme/assignments', ws.bearer);
    const hash = (assignments.json as unknown as { policy_hash_b64u: string }[])[0]?.policy_hash_b64u;
    expect(
      (
        await callApi(world.app.url, 'PUT', '/api/v1/workspaces/acme/assignments', ws.bearer, [
          { repo: REPO, policy_hash_b64u: hash, mode: 'enforce' },
        ])
      ).status,
    ).toBe(200);
  }, 30_000);

  afterAll(async () => {
    await world.close();
  });

  test('Bitbucket failing during gather publishes FAILED (the repository enforces), never SUCCESSFUL', async () => {
    const fault = world.sandbox.faults.inject({ path: /\/diffstat\//, status: 500, count: 10_000 });
    try {
      const pr = openAgentPullRequest(world.sandbox, ws, 'agent/error-path', {
        'src/error.ts': 'export const e = 1;\n',
      });
      const status = await finalStatus(world.sandbox, pr.head, 30_000);
      expect(status.state).toBe('FAILED');
      expect(String(status.description)).toMatch(/^CLAWGATE_ERROR/);
    } finally {
      fault.cancel();
    }
  }, 60_000);

  test('a PR with more commits than one evaluation reads fails CHANGE_TOO_LARGE (a verdict, not an error)', async () => {
    const commits = Array.from({ length: 101 }, (_, i) => ({
      author: 'claw-bot',
      message: `agent step ${i}`,
      files: { [`src/step-${i}.ts`]: `export const s${i} = ${i};\n` },
    }));
    world.sandbox.push(REPO, { branch: 'agent/too-large', actor: 'claw-bot', commits });
    const pr = openAgentPullRequest(world.sandbox, ws, 'agent/too-large', {
      'src/last.ts': 'export const last = 1;\n',
    });
    const evaluation = await evaluationAt(world, pr.prId, pr.head);
    expect(evaluation).toMatchObject({ state: 'FAIL', mode: 'enforce', statusState: 'FAILED' });
    expect(verdictOf(evaluation).reason_code).toBe('CHANGE_TOO_LARGE');
    expect((await finalStatus(world.sandbox, pr.head)).state).toBe('FAILED');
  }, 60_000);
});

describe('findings 2, 3, 7: agent work by provenance, and the proof must cover the head', () => {
  let world: World;
  let ws: Workspace;

  beforeAll(async () => {
    world = await startWorld();
    ws = await prepareWorkspace(world.sandbox, world.app.url);
    world.sandbox.createUser({ nickname: 'bob', displayName: 'Bob' });
  }, 30_000);

  afterAll(async () => {
    await world.close();
  });

  test("the agent's commits in a PR a human opened are agent work (a pipeline change fails)", async () => {
    world.sandbox.commit(REPO, {
      branch: 'feature/pipeline',
      author: 'claw-bot',
      message: 'tune the pipeline',
      files: { 'bitbucket-pipelines.yml': 'pipelines: {}\n' },
    });
    const pr = world.sandbox.openPullRequest(REPO, { source: 'feature/pipeline', author: 'alice', title: 'pipeline' });
    const head = world.sandbox.branchHead(REPO, 'feature/pipeline') ?? '';
    const evaluation = await evaluationAt(world, pr.id, head);
    expect(evaluation.state).toBe('FAIL');
    expect(verdictOf(evaluation).agent_work?.map((r) => r.kind)).toEqual(
      expect.arrayContaining(['commit_author', 'commit_pusher']),
    );
    expect((await finalStatus(world.sandbox, head)).state).toBe('FAILED');
  }, 30_000);

  test("an agent's push onto a human's open PR branch (commit authored as the human) makes it agent work", async () => {
    world.sandbox.commit(REPO, {
      branch: 'feature/human',
      author: 'alice',
      message: 'human work',
      files: { 'docs/notes.md': 'notes\n' },
    });
    const pr = world.sandbox.openPullRequest(REPO, { source: 'feature/human', author: 'alice', title: 'human' });
    const first = world.sandbox.branchHead(REPO, 'feature/human') ?? '';
    expect((await evaluationAt(world, pr.id, first)).state).toBe('NOT_APPLICABLE');
    await settle(world);
    // The agent writes the git author as Alice; only the push says who it really was.
    const [pushed] = world.sandbox.push(REPO, {
      branch: 'feature/human',
      actor: 'claw-bot',
      commits: [{ author: 'alice', message: 'looks human', files: { 'bitbucket-pipelines.yml': 'pipelines: {}\n' } }],
    });
    const head = pushed?.hash ?? '';
    const evaluation = await evaluationAt(world, pr.id, head);
    expect(evaluation.state).toBe('FAIL');
    const reasons = verdictOf(evaluation).agent_work ?? [];
    expect(reasons).toContainEqual({ kind: 'commit_pusher', commit: head, accountId: ws.botUuid });
    expect(reasons.map((r) => r.kind)).not.toContain('commit_author');
    expect((await finalStatus(world.sandbox, head)).state).toBe('FAILED');
  }, 30_000);

  test('an agent commit after the attested commit fails CHANGED_AFTER_ATTESTATION; a human one is shown and passes', async () => {
    const pr = openAgentPullRequest(world.sandbox, ws, 'agent/covered', { 'src/covered.ts': 'export const c = 1;\n' });
    expect((await evaluationAt(world, pr.prId, pr.head)).state).toBe('PASS');
    await settle(world);
    const human = world.sandbox.commit(REPO, {
      branch: 'agent/covered',
      author: 'alice',
      message: 'review fix',
      files: { 'src/covered.ts': 'export const c = 2;\n' },
    });
    const afterHuman = await evaluationAt(world, pr.prId, human.hash);
    expect(afterHuman.state).toBe('PASS');
    expect(verdictOf(afterHuman).files?.find((f) => f.path === 'src/covered.ts')?.provenance).toBe(
      'changed_after_attestation',
    );
    await settle(world);
    const agent = world.sandbox.commit(REPO, {
      branch: 'agent/covered',
      author: 'claw-bot',
      message: 'one more thing',
      files: { 'src/unattested.ts': 'export const u = 1;\n' },
    });
    const afterAgent = await evaluationAt(world, pr.prId, agent.hash);
    expect(afterAgent.state).toBe('FAIL');
    expect(verdictOf(afterAgent).reason_code).toBe('CHANGED_AFTER_ATTESTATION');
    expect((await finalStatus(world.sandbox, agent.hash)).state).toBe('FAILED');
  }, 45_000);

  test("a second PR (by a non-agent account) from the agent's branch does not overwrite the head's FAILED", async () => {
    // The agent's PR carries no bundle (it fails); the second PR, opened by someone else, declares none.
    const work = world.sandbox.commit(REPO, {
      branch: 'agent/two-prs',
      author: 'claw-bot',
      message: 'unattested',
      files: { 'src/two.ts': 'export const t = 2;\n' },
    });
    const first = world.sandbox.openPullRequest(REPO, { source: 'agent/two-prs', author: 'claw-bot', title: 'agent' });
    const pr = { prId: first.id, head: work.hash };
    expect((await evaluationAt(world, pr.prId, pr.head)).state).toBe('FAIL');
    await settle(world);
    expect(clawgateStatusOn(world, pr.head)?.state).toBe('FAILED');
    world.sandbox.createBranch(REPO, { name: 'release', actor: 'alice' });
    const second = world.sandbox.openPullRequest(REPO, {
      source: 'agent/two-prs',
      destination: 'release',
      author: 'bob',
      title: 'again',
    });
    await evaluationAt(world, second.id, pr.head);
    await settle(world);
    expect(clawgateStatusOn(world, pr.head)?.state).toBe('FAILED');
  }, 45_000);
});

describe('finding 3: approvals count only after the current head was pushed', () => {
  let world: World;
  let ws: Workspace;

  beforeAll(async () => {
    world = await startWorld();
    ws = await prepareWorkspace(world.sandbox, world.app.url, { approvalRequired: true });
  }, 30_000);

  afterAll(async () => {
    await world.close();
  });

  test("an approval given before the agent's latest push no longer satisfies approval_required", async () => {
    const pr = openAgentPullRequest(world.sandbox, ws, 'agent/approved', {
      'src/approved.ts': 'export const a = 1;\n',
    });
    expect((await evaluationAt(world, pr.prId, pr.head)).state).toBe('PENDING');
    await settle(world);
    world.sandbox.approve(REPO, pr.prId, 'alice');
    await statusSettled(world, pr.head, 'SUCCESSFUL');
    await settle(world);
    // The agent pushes new, properly attested work: the earlier approval does not cover it.
    const work = world.sandbox.commit(REPO, {
      branch: 'agent/approved',
      author: 'claw-bot',
      message: 'more agent work',
      files: { 'src/approved.ts': 'export const a = 2;\n' },
    });
    const s = makeScenario({
      workspace: 'acme',
      repoSlug: 'proj-web',
      commit: work.hash,
      wpc: ws.wpc,
      startMs: Date.now() - 60_000,
      ...ws.keys,
    });
    const bundle = world.sandbox.commit(REPO, {
      branch: 'agent/approved',
      author: 'claw-bot',
      message: 'proof bundle',
      files: { '.clawsig/proof_bundle.json': JSON.stringify(s.bundle.envelope) },
    });
    world.sandbox.updatePullRequest(REPO, pr.prId, {
      actor: 'claw-bot',
      description: `Proof-Bundle: ${s.bundle.bundleId}`,
    });
    const evaluation = await waitFor(
      async () =>
        (await evaluationsOf(world, pr.prId)).find(
          (e) => e.headSha === bundle.hash && verdictOf(e).reason_code !== 'CHANGED_AFTER_ATTESTATION',
        ),
      20_000,
      'the evaluation of the re-attested head',
    );
    expect([evaluation.state, verdictOf(evaluation).reason_code]).toEqual(['PENDING', 'APPROVAL_REQUIRED']);
    await settle(world);
    expect(clawgateStatusOn(world, bundle.hash)?.state).toBe('INPROGRESS');
    // A fresh approval counts.
    world.sandbox.unapprove(REPO, pr.prId, 'alice');
    world.sandbox.approve(REPO, pr.prId, 'alice');
    await statusSettled(world, bundle.hash, 'SUCCESSFUL');
  }, 60_000);
});

describe('finding 4: a status first, and lost webhooks are reconciled', () => {
  let world: World;
  let ws: Workspace;

  beforeAll(async () => {
    world = await startWorld();
    ws = await prepareWorkspace(world.sandbox, world.app.url);
  }, 30_000);

  afterAll(async () => {
    await world.close();
  });

  test('Bitbucket failing on the first read still leaves a clawgate status on the head (FAILED in enforce)', async () => {
    const fault = world.sandbox.faults.inject({
      path: /\/pullrequests\/\d+$/,
      method: 'GET',
      status: 503,
      count: 10_000,
    });
    try {
      const pr = openAgentPullRequest(world.sandbox, ws, 'agent/early-error', {
        'src/early.ts': 'export const e = 1;\n',
      });
      const status = await finalStatus(world.sandbox, pr.head, 30_000);
      expect(status.state).toBe('FAILED');
    } finally {
      fault.cancel();
    }
  }, 60_000);

  test('an agent PR whose webhooks were all lost gets a status from the reconciliation', async () => {
    const loss = world.sandbox.loseWebhooks({ event: /^pullrequest:/ });
    let pr: { prId: number; head: string };
    try {
      pr = openAgentPullRequest(world.sandbox, ws, 'agent/lost', { 'src/lost.ts': 'export const l = 1;\n' });
      await settle(world);
      expect(loss.lost()).toBeGreaterThan(0);
      expect(clawgateStatusOn(world, pr.head)).toBeUndefined();
    } finally {
      loss.cancel();
    }
    const result = await world.app.reconciler.runOnce(true);
    expect(result.queued).toBeGreaterThanOrEqual(1);
    expect((await finalStatus(world.sandbox, pr.head)).state).toBe('SUCCESSFUL');
    expect((await evaluationNumber(world, pr.prId, 1)).headSha).toBe(pr.head);
    // Nothing left to do: a second pass queues nothing for this PR.
    await settle(world);
    const again = await world.app.reconciler.runOnce(true);
    expect(again.queued).toBe(0);
  }, 60_000);

  test('the lease lets one replica reconcile per interval', async () => {
    const first = await world.app.store.leases.claim('test-lease', 'replica-a', 60_000);
    const second = await world.app.store.leases.claim('test-lease', 'replica-b', 60_000);
    expect([first, second]).toEqual([true, false]);
  });
});

describe('finding 8: rollback reaches open PRs without a push', () => {
  let world: World;
  let ws: Workspace;

  beforeAll(async () => {
    world = await startWorld();
    ws = await prepareWorkspace(world.sandbox, world.app.url);
  }, 30_000);

  afterAll(async () => {
    await world.close();
  });

  test('the kill switch fails open agent PRs now and its release passes them again; a bundle revocation fails them', async () => {
    const pr = openAgentPullRequest(world.sandbox, ws, 'agent/rollback', {
      'src/rollback.ts': 'export const r = 1;\n',
    });
    await statusSettled(world, pr.head, 'SUCCESSFUL');
    await settle(world);

    const frozen = await putSettings(world, ws, (s) => ({ ...s, frozen: true }));
    expect(frozen.status).toBe(200);
    expect(Number(frozen.reevaluating)).toBeGreaterThanOrEqual(1);
    await statusSettled(world, pr.head, 'FAILED');
    expect(verdictOf((await evaluationsOf(world, pr.prId))[0] ?? { verdict: {} }).reason_code).toBe('WORKSPACE_FROZEN');
    await settle(world);

    expect((await putSettings(world, ws, (s) => ({ ...s, frozen: false }))).status).toBe(200);
    await statusSettled(world, pr.head, 'SUCCESSFUL');
    await settle(world);

    const revoked = await putSettings(world, ws, (s) => ({
      ...s,
      revocations: { ...(s.revocations as object), bundle_ids: [pr.bundleId] },
    }));
    expect(revoked.status).toBe(200);
    await statusSettled(world, pr.head, 'FAILED');
    expect(verdictOf((await evaluationsOf(world, pr.prId))[0] ?? { verdict: {} }).reason_code).toBe('REVOKED_BUNDLE');
  }, 60_000);
});
