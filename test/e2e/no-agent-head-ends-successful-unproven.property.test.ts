import fc from 'fast-check';
import { makeScenario } from '../../src/testkit';
import { callApi, openAgentPullRequest, prepareWorkspace, waitFor, type Workspace } from './harness';
import { clawgateStatusOn, evaluationsOf, startWorld, type World } from './operations-world';

/**
 * Issue 9, "Done when": random sequences of agent and human pushes and PRs, approvals, forged
 * statuses, revocations, the kill switch, Bitbucket 5xx/429/slow answers and lost webhooks, against
 * the sandbox and the real server in enforce mode with approval required. Once the faults stop (and
 * the periodic reconciliation has run once):
 * - no open PR head an agent touched is left without a `clawgate` status;
 * - such a head is SUCCESSFUL only if the model says the proof covers it (the agent's attested work,
 *   plus only registered humans' commits after it), no kill switch, no revoked bundle, a human
 *   approval given after the head was pushed, AND the latest evaluation of that PR at that head passed.
 * Fixed seed, bounded runs and actions (well under 60 s on an idle machine).
 */

const REPO = 'acme/proj-web';
const SEED = 20261207;
const RUNS = 8;

type Action =
  | { kind: 'agentPr' }
  | { kind: 'humanPr' }
  | { kind: 'agentPush'; pr: number }
  | { kind: 'humanPush'; pr: number }
  | { kind: 'agentReattest'; pr: number }
  | { kind: 'approve'; pr: number }
  | { kind: 'forge'; pr: number }
  | { kind: 'revoke'; pr: number }
  | { kind: 'killSwitch'; on: boolean }
  | { kind: 'fault'; status: 429 | 500 | 503; count: number }
  | { kind: 'slow'; count: number }
  | { kind: 'loseWebhooks'; count: number };

const pick = fc.nat({ max: 7 });
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'agentPr' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'humanPr' as const }) },
  { weight: 2, arbitrary: pick.map((pr) => ({ kind: 'agentPush' as const, pr })) },
  { weight: 2, arbitrary: pick.map((pr) => ({ kind: 'humanPush' as const, pr })) },
  { weight: 1, arbitrary: pick.map((pr) => ({ kind: 'agentReattest' as const, pr })) },
  { weight: 3, arbitrary: pick.map((pr) => ({ kind: 'approve' as const, pr })) },
  { weight: 1, arbitrary: pick.map((pr) => ({ kind: 'forge' as const, pr })) },
  { weight: 1, arbitrary: pick.map((pr) => ({ kind: 'revoke' as const, pr })) },
  { weight: 1, arbitrary: fc.boolean().map((on) => ({ kind: 'killSwitch' as const, on })) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('fault' as const),
      status: fc.constantFrom(429 as const, 500 as const, 503 as const),
      count: fc.integer({ min: 1, max: 6 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('slow' as const), count: fc.integer({ min: 1, max: 3 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('loseWebhooks' as const), count: fc.integer({ min: 1, max: 4 }) }),
  },
);

/** What the test knows about a PR it made. */
interface ModelPr {
  prId: number;
  branch: string;
  bundleId: string | null;
  /** An agent opened it, wrote or pushed one of its commits. */
  agentTouched: boolean;
  /** The newest bundle attests the agent's work and only registered humans committed after it. */
  covered: boolean;
  /** A human approved after the latest push. */
  approvedSinceHead: boolean;
}

async function quiesce(world: World, timeoutMs: number): Promise<void> {
  const busy = async () =>
    (await world.app.store.jobs.list()).filter((j) => j.state === 'pending' || j.state === 'running');
  for (let round = 0; round < 2; round += 1) {
    await world.sandbox.waitForDeliveries();
    try {
      await waitFor(async () => ((await busy()).length === 0 ? true : undefined), timeoutMs, 'the job queue to drain');
    } catch (error) {
      const left = (await busy()).map((j) => ({
        name: j.name,
        state: j.state,
        attempts: j.attempts,
        runAfter: j.runAfter,
        lastError: j.lastError,
        payload: j.payload,
      }));
      throw new Error(`${String(error)}: ${JSON.stringify(left)}`, { cause: error });
    }
  }
}

describe('property: in enforce mode no agent-touched head ends SUCCESSFUL unproven, or without a status', () => {
  let world: World;
  let ws: Workspace;
  let run = 0;
  /** What the runs exercised (so the property cannot pass vacuously). */
  const seen = { heads: 0, successful: 0, failed: 0, pending: 0 };

  beforeAll(async () => {
    // The installation's hourly API budget (1,000 on Bitbucket) is not what this property is about:
    // the many runs here would spend it (spending it well is the API-budget part of issue 9).
    world = await startWorld({ rateLimitPerHour: 50_000 });
    ws = await prepareWorkspace(world.sandbox, world.app.url, { approvalRequired: true });
    world.sandbox.createUser({ nickname: 'carol', displayName: 'Carol (reviewer)' });
  }, 30_000);

  afterAll(async () => {
    await world.close();
  });

  const settingsDoc = async () =>
    (await callApi(world.app.url, 'GET', '/api/v1/workspaces/acme/settings', ws.bearer)).json;
  const putSettings = async (doc: Record<string, unknown>) => {
    const response = await callApi(world.app.url, 'PUT', '/api/v1/workspaces/acme/settings', ws.bearer, doc);
    if (response.status !== 200) throw new Error(`settings: ${response.status}`);
  };

  test('random sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 4, maxLength: 10 }), async (actions) => {
        run += 1;
        const prs: ModelPr[] = [];
        const faults: { cancel(): void }[] = [];
        let frozen = false;
        if ((await settingsDoc()).frozen === true) await putSettings({ ...(await settingsDoc()), frozen: false });
        const revoked = new Set<string>(((await settingsDoc()).revocations as { bundle_ids: string[] }).bundle_ids);
        const target = (i: number) => (prs.length === 0 ? undefined : prs[i % prs.length]);
        for (const [index, step] of actions.entries()) {
          const branch = `p${run}/s${index}`;
          switch (step.kind) {
            case 'agentPr': {
              const pr = openAgentPullRequest(world.sandbox, ws, branch, {
                [`src/${run}-${index}.ts`]: `export const v = ${index};\n`,
              });
              prs.push({
                prId: pr.prId,
                branch,
                bundleId: pr.bundleId,
                agentTouched: true,
                covered: true,
                approvedSinceHead: false,
              });
              break;
            }
            case 'humanPr': {
              world.sandbox.commit(REPO, {
                branch,
                author: 'alice',
                message: 'human',
                files: { [`docs/${run}-${index}.md`]: 'x\n' },
              });
              const pr = world.sandbox.openPullRequest(REPO, { source: branch, author: 'alice', title: branch });
              prs.push({
                prId: pr.id,
                branch,
                bundleId: null,
                agentTouched: false,
                covered: false,
                approvedSinceHead: false,
              });
              break;
            }
            case 'agentPush':
            case 'humanPush': {
              const pr = target(step.pr);
              if (!pr) break;
              const agent = step.kind === 'agentPush';
              world.sandbox.commit(REPO, {
                branch: pr.branch,
                author: agent ? 'claw-bot' : 'alice',
                message: 'more',
                files: { [`src/${run}-${index}-more.ts`]: `export const m = ${index};\n` },
              });
              if (agent) {
                pr.agentTouched = true;
                pr.covered = false;
              }
              pr.approvedSinceHead = false;
              break;
            }
            case 'agentReattest': {
              const pr = target(step.pr);
              if (!pr) break;
              const work = world.sandbox.commit(REPO, {
                branch: pr.branch,
                author: 'claw-bot',
                message: 'agent work',
                files: { [`src/${run}-${index}-re.ts`]: `export const r = ${index};\n` },
              });
              const s = makeScenario({
                workspace: 'acme',
                repoSlug: 'proj-web',
                commit: work.hash,
                wpc: ws.wpc,
                startMs: Date.now() - 60_000,
                ...ws.keys,
              });
              world.sandbox.commit(REPO, {
                branch: pr.branch,
                author: 'claw-bot',
                message: 'proof bundle',
                files: { '.clawsig/proof_bundle.json': JSON.stringify(s.bundle.envelope) },
              });
              world.sandbox.updatePullRequest(REPO, pr.prId, {
                actor: 'claw-bot',
                description: `Proof-Bundle: ${s.bundle.bundleId}`,
              });
              pr.agentTouched = true;
              pr.covered = true;
              pr.bundleId = s.bundle.bundleId;
              pr.approvedSinceHead = false;
              break;
            }
            case 'approve': {
              const pr = target(step.pr);
              if (!pr) break;
              // A reviewer approves after the push reached clawgate (approvals in the second between a
              // push and its webhook do not count: docs/policy.md §6). Re-approving is how a reviewer
              // approves a new head (one approval per reviewer).
              await world.sandbox.waitForDeliveries();
              if (
                world.sandbox
                  .pullRequest(REPO, pr.prId)
                  .participants.some((p) => p.user.nickname === 'carol' && p.approved)
              )
                world.sandbox.unapprove(REPO, pr.prId, 'carol');
              world.sandbox.approve(REPO, pr.prId, 'carol');
              pr.approvedSinceHead = true;
              break;
            }
            case 'forge': {
              const pr = target(step.pr);
              const head = pr ? world.sandbox.branchHead(REPO, pr.branch) : undefined;
              if (!pr || !head) break;
              world.sandbox.postStatus(
                REPO,
                head,
                {
                  key: 'clawgate',
                  state: 'SUCCESSFUL',
                  name: 'clawgate',
                  url: 'https://example.test/forged',
                  description: 'verified: all criteria hold',
                },
                'claw-bot',
              );
              break;
            }
            case 'revoke': {
              const pr = target(step.pr);
              if (!pr?.bundleId) break;
              revoked.add(pr.bundleId);
              const doc = await settingsDoc();
              await putSettings({ ...doc, revocations: { ...(doc.revocations as object), bundle_ids: [...revoked] } });
              break;
            }
            case 'killSwitch': {
              frozen = step.on;
              await putSettings({ ...(await settingsDoc()), frozen: step.on });
              break;
            }
            case 'fault':
              faults.push(world.sandbox.faults.inject({ status: step.status, count: step.count }));
              break;
            case 'slow':
              faults.push(world.sandbox.faults.inject({ latencyMs: 1500, count: step.count }));
              break;
            case 'loseWebhooks':
              faults.push(world.sandbox.loseWebhooks({ count: step.count }));
              break;
          }
        }
        // The faults stop; the periodic reconciliation runs once; everything settles.
        for (const fault of faults) fault.cancel();
        await quiesce(world, 40_000);
        await world.app.reconciler.runOnce(true);
        await quiesce(world, 40_000);

        for (const pr of prs) {
          if (!pr.agentTouched) continue;
          const head = world.sandbox.branchHead(REPO, pr.branch) ?? '';
          const status = clawgateStatusOn(world, head);
          expect({ pr: pr.prId, status: status?.state ?? 'none' }).not.toEqual({ pr: pr.prId, status: 'none' });
          seen.heads += 1;
          if (status?.state === 'FAILED') seen.failed += 1;
          if (status?.state === 'INPROGRESS') seen.pending += 1;
          if (status?.state !== 'SUCCESSFUL') continue;
          seen.successful += 1;
          const latest = (await evaluationsOf(world, pr.prId)).find((e) => e.headSha === head);
          const allowed =
            pr.covered &&
            !frozen &&
            (pr.bundleId === null || !revoked.has(pr.bundleId)) &&
            pr.approvedSinceHead &&
            latest?.state === 'PASS';
          expect({
            pr: pr.prId,
            head,
            successfulAllowed: allowed,
            model: pr,
            frozen,
            latest: latest?.state,
          }).toMatchObject({ successfulAllowed: true });
        }
        // Close this run's PRs so the next run's rollbacks and reconciliations do not carry them.
        for (const pr of prs) world.sandbox.decline(REPO, pr.prId, { actor: 'alice' });
        await quiesce(world, 40_000);
      }),
      {
        seed: SEED,
        numRuns: RUNS,
        endOnFailure: true,
        // Two fixed sequences first: one that must end SUCCESSFUL, one that must stay pending.
        examples: [
          [[{ kind: 'agentPr' }, { kind: 'agentPr' }, { kind: 'approve', pr: 0 }, { kind: 'agentPush', pr: 1 }]],
        ],
      },
    );
    // Every outcome occurred at least once across the runs (the seed is fixed, so this is stable).
    console.log(`property runs: ${JSON.stringify(seen)}`);
    expect(seen.heads).toBeGreaterThanOrEqual(10);
    expect(seen.successful).toBeGreaterThanOrEqual(1);
    expect(seen.failed).toBeGreaterThanOrEqual(1);
    expect(seen.pending).toBeGreaterThanOrEqual(1);
  }, 300_000);
});
