import fc from 'fast-check';
import { makeScenario } from '../../src/testkit';
import { callApi, openAgentPullRequest, prepareWorkspace, waitFor, type Workspace } from './harness';
import { clawgateStatusOn, evaluationsOf, startWorld, type World } from './issue4-world';

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
const RUNS = 4;

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
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('fault' as const), status: fc.constantFrom(429 as const, 500 as const, 503 as const), count: fc.integer({ min: 1, max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('slow' as const), count: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('loseWebhooks' as const), count: fc.integer({ min: 1, max: 4 }) }) },
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
  await world.sandbox.waitForDeliveries();
  await waitFor(async () => ((await world.app.store.jobs.list()).every((j) => j.state !== 'pending' && j.state !== 'running') ? true : undefined), timeoutMs, 'the job queue to drain');
  await world.sandbox.waitForDeliveries();
  await waitFor(async () => ((await world.app.store.jobs.list()).every((j) => j.state !== 'pending' && j.state !== 'running') ? true : undefined), timeoutMs, 'the job queue to drain');
}

describe('property: in enforce mode no agent-touched head ends SUCCESSFUL unproven, or without a status', () => {
  let world: World;
  let ws: Workspace;
  let run = 0;

  beforeAll(async () => {
    world = await startWorld();
    ws = await prepareWorkspace(world.sandbox, world.app.url, { approvalRequired: true });
  }, 30_000);

  afterAll(async () => {
    await world.close();
  });

  const settingsDoc = async () => (await callApi(world.app.url, 'GET', '/api/v1/workspaces/acme/settings', ws.bearer)).json;
  const putSettings = async (doc: Record<string, unknown>) => {
    const response = await callApi(world.app.url, 'PUT', '/api/v1/workspaces/acme/settings', ws.bearer, doc);
    if (response.status !== 200) throw new Error(`settings: ${response.status}`);
  };

  test('random sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 3, maxLength: 8 }), async (actions) => {
        run += 1;
        const prs: ModelPr[] = [];
        const faults: { cancel(): void }[] = [];
        let frozen = false;
        await putSettings({ ...(await settingsDoc()), frozen: false });
        const revoked = new Set<string>(((await settingsDoc()).revocations as { bundle_ids: string[] }).bundle_ids);
        const target = (i: number) => (prs.length === 0 ? undefined : prs[i % prs.length]);
        for (const [index, step] of actions.entries()) {
          const branch = `p${run}/s${index}`;
          switch (step.kind) {
            case 'agentPr': {
              const pr = openAgentPullRequest(world.sandbox, ws, branch, { [`src/${run}-${index}.ts`]: `export const v = ${index};\n` });
              prs.push({ prId: pr.prId, branch, bundleId: pr.bundleId, agentTouched: true, covered: true, approvedSinceHead: false });
              break;
            }
            case 'humanPr': {
              world.sandbox.commit(REPO, { branch, author: 'alice', message: 'human', files: { [`docs/${run}-${index}.md`]: 'x\n' } });
              const pr = world.sandbox.openPullRequest(REPO, { source: branch, author: 'alice', title: branch });
              prs.push({ prId: pr.id, branch, bundleId: null, agentTouched: false, covered: false, approvedSinceHead: false });
              break;
            }
            case 'agentPush':
            case 'humanPush': {
              const pr = target(step.pr);
              if (!pr) break;
              const agent = step.kind === 'agentPush';
              world.sandbox.commit(REPO, { branch: pr.branch, author: agent ? 'claw-bot' : 'alice', message: 'more', files: { [`src/${run}-${index}-more.ts`]: `export const m = ${index};\n` } });
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
              const work = world.sandbox.commit(REPO, { branch: pr.branch, author: 'claw-bot', message: 'agent work', files: { [`src/${run}-${index}-re.ts`]: `export const r = ${index};\n` } });
              const s = makeScenario({ workspace: 'acme', repoSlug: 'proj-web', commit: work.hash, wpc: ws.wpc, startMs: Date.now() - 60_000, ...ws.keys });
              world.sandbox.commit(REPO, { branch: pr.branch, author: 'claw-bot', message: 'proof bundle', files: { '.clawsig/proof_bundle.json': JSON.stringify(s.bundle.envelope) } });
              world.sandbox.updatePullRequest(REPO, pr.prId, { actor: 'claw-bot', description: `Proof-Bundle: ${s.bundle.bundleId}` });
              pr.agentTouched = true;
              pr.covered = true;
              pr.bundleId = s.bundle.bundleId;
              pr.approvedSinceHead = false;
              break;
            }
            case 'approve': {
              const pr = target(step.pr);
              if (!pr) break;
              world.sandbox.unapprove(REPO, pr.prId, 'alice');
              world.sandbox.approve(REPO, pr.prId, 'alice');
              pr.approvedSinceHead = true;
              break;
            }
            case 'forge': {
              const pr = target(step.pr);
              const head = pr ? world.sandbox.branchHead(REPO, pr.branch) : undefined;
              if (!pr || !head) break;
              world.sandbox.postStatus(REPO, head, { key: 'clawgate', state: 'SUCCESSFUL', name: 'clawgate', url: 'https://example.test/forged', description: 'verified: all criteria hold' }, 'claw-bot');
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
          if (status?.state !== 'SUCCESSFUL') continue;
          const latest = (await evaluationsOf(world, pr.prId)).find((e) => e.headSha === head);
          const allowed = pr.covered && !frozen && (pr.bundleId === null || !revoked.has(pr.bundleId)) && pr.approvedSinceHead && latest?.state === 'PASS';
          expect({ pr: pr.prId, head, successfulAllowed: allowed, model: pr, frozen, latest: latest?.state }).toMatchObject({ successfulAllowed: true });
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
  }, 300_000);
});
