import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MergeRefusedError, SandboxForge, startSandbox, type BitbucketSandbox } from '../../src/sandbox';
import { makeScenario } from '../../src/testkit';
import { finalStatus, openAgentPullRequest, waitFor } from './harness';
import { prepareForgeWorkspace, startForgeClawgate, uiCall } from './forge-harness';

/**
 * The Forge path end to end against the sandbox playing Bitbucket and Forge: install, product events
 * into the pipeline, the merge check on push / reviewer change / merge, a Required check refusing a
 * non-compliant agent PR's merge and allowing it after a compliant push.
 */
describe('e2e: a Forge workspace, from install to a merge decided by the merge check', () => {
  let sandbox: BitbucketSandbox;
  let forge: SandboxForge;
  let dir: string;
  beforeEach(async () => {
    sandbox = await startSandbox();
    forge = await SandboxForge.create(sandbox);
    dir = mkdtempSync(path.join(tmpdir(), 'clawgate-forge-'));
  });
  afterEach(async () => {
    await forge.waitForIdle();
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('Required check: a non-compliant agent PR cannot be merged; after a compliant push it can', async () => {
    const app = await startForgeClawgate(sandbox, forge, { databaseUrl: `sqlite:${path.join(dir, 'db.sqlite')}` });
    try {
      const ws = await prepareForgeWorkspace(sandbox, forge, app.url);
      const tenants = await app.store.tenants.listForWorkspace(sandbox.workspace('acme').uuid);
      expect(tenants.map((t) => [t.surface, t.clientKey, t.workspaceSlug])).toEqual([
        ['forge', ws.installation.installationId, 'acme'],
      ]);
      forge.requiredIn.add('acme/proj-web');

      // The agent touches a denied path: the product event drives the evaluation, the check fails.
      const bad = openAgentPullRequest(sandbox, ws, 'agent/ci', { 'bitbucket-pipelines.yml': 'pipelines: {}\n' });
      const failed = await finalStatus(sandbox, bad.head);
      expect(failed.state).toBe('FAILED');
      await expect(forge.merge('acme/proj-web', bad.prId, { actor: 'alice' })).rejects.toBeInstanceOf(
        MergeRefusedError,
      );
      expect(forge.checkRuns.at(-1)).toMatchObject({ trigger: 'on-merge', success: false });
      expect(forge.checkRuns.at(-1)?.message).toContain('/connect/details/');
      expect(sandbox.pullRequest('acme/proj-web', bad.prId).state).toBe('OPEN');

      // The agent removes the file and attests the new work: a compliant head, and the merge goes through.
      const fix = sandbox.commit('acme/proj-web', {
        branch: 'agent/ci',
        author: 'claw-bot',
        message: 'drop the pipeline change',
        files: { 'bitbucket-pipelines.yml': null, 'src/ok.ts': 'export const ok = 1;\n' },
      });
      const scenario = makeScenario({
        workspace: 'acme',
        repoSlug: 'proj-web',
        commit: fix.hash,
        wpc: ws.wpc,
        startMs: Date.now() - 30_000,
        ...ws.keys,
      });
      const attested = sandbox.commit('acme/proj-web', {
        branch: 'agent/ci',
        author: 'claw-bot',
        message: 'proof bundle',
        files: { '.clawsig/proof_bundle.json': JSON.stringify(scenario.bundle.envelope) },
      });
      sandbox.updatePullRequest('acme/proj-web', bad.prId, {
        actor: 'claw-bot',
        description: `Proof-Bundle: ${scenario.bundle.bundleId}`,
      });
      const passed = await finalStatus(sandbox, attested.hash);
      expect(passed.state).toBe('SUCCESSFUL');
      // Each push to the source branch ran the check too (on-code-pushed).
      await forge.waitForIdle();
      expect(forge.checkRuns.filter((run) => run.trigger === 'on-code-pushed').length).toBeGreaterThanOrEqual(2);
      const merged = await forge.merge('acme/proj-web', bad.prId, { actor: 'alice' });
      expect(merged.check.success).toBe(true);
      expect(sandbox.pullRequest('acme/proj-web', bad.prId).state).toBe('MERGED');
      // Every call clawgate made to Bitbucket carried the app system token Forge sent.
      expect(sandbox.received.authFailures).toEqual([]);
    } finally {
      await forge.waitForIdle();
      await app.close();
    }
  }, 60_000);

  test('with no verdict yet the check evaluates within its budget; both body shapes answer the same', async () => {
    const app = await startForgeClawgate(sandbox, forge, { databaseUrl: `sqlite:${path.join(dir, 'db.sqlite')}` });
    try {
      const ws = await prepareForgeWorkspace(sandbox, forge, app.url);
      const pr = openAgentPullRequest(sandbox, ws, 'agent/fresh', { 'src/fresh.ts': 'export const fresh = 1;\n' });
      // Straight away (the event's job may not have run): the check waits for the verdict.
      const first = await forge.runMergeCheck('acme/proj-web', pr.prId, 'on-merge');
      expect(first.httpStatus).toBe(200);
      expect(first.success).toBe(true);
      forge.wrapBodies = true;
      const wrapped = await forge.runMergeCheck('acme/proj-web', pr.prId, 'on-merge');
      expect(wrapped).toMatchObject({ success: true, httpStatus: 200 });
      expect(wrapped.message).toBe(first.message);
    } finally {
      await forge.waitForIdle();
      await app.close();
    }
  }, 60_000);

  test('no verdict within the budget (no worker running): the check fails closed, saying verification is still running', async () => {
    const app = await startForgeClawgate(sandbox, forge, { workers: false });
    try {
      const ws = await prepareForgeWorkspace(sandbox, forge, app.url);
      const pr = openAgentPullRequest(sandbox, ws, 'agent/slow', { 'src/slow.ts': 'export const slow = 1;\n' });
      forge.requiredIn.add('acme/proj-web');
      const started = Date.now();
      await expect(forge.merge('acme/proj-web', pr.prId, { actor: 'alice' })).rejects.toThrow(/still running/);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(sandbox.pullRequest('acme/proj-web', pr.prId).state).toBe('OPEN');
    } finally {
      await forge.waitForIdle();
      await app.close();
    }
  }, 60_000);

  test('a reviewer status change runs the check; a merge refused when Required is not refused when not', async () => {
    const app = await startForgeClawgate(sandbox, forge, { databaseUrl: `sqlite:${path.join(dir, 'db.sqlite')}` });
    try {
      const ws = await prepareForgeWorkspace(sandbox, forge, app.url);
      const bad = openAgentPullRequest(sandbox, ws, 'agent/gh', { '.github/workflows/x.yml': 'on: push\n' });
      await finalStatus(sandbox, bad.head);
      sandbox.approve('acme/proj-web', bad.prId, 'alice');
      const run = await waitFor(
        () => forge.checkRuns.find((r) => r.trigger === 'on-reviewer-status-changed'),
        10_000,
        'a reviewer-status check',
      );
      expect(run.success).toBe(false);
      // Not Required (e.g. a Standard plan): the failing check is informational, the merge happens.
      const merged = await forge.merge('acme/proj-web', bad.prId, { actor: 'alice' });
      expect(merged.check.success).toBe(false);
      expect(sandbox.pullRequest('acme/proj-web', bad.prId).state).toBe('MERGED');
    } finally {
      await forge.waitForIdle();
      await app.close();
    }
  }, 60_000);

  test('an agent pushing straight to main is an incident through Forge product events, FAILED on the pushed head', async () => {
    const app = await startForgeClawgate(sandbox, forge);
    try {
      const ws = await prepareForgeWorkspace(sandbox, forge, app.url);
      const [pushed] = sandbox.push('acme/proj-web', {
        branch: 'main',
        actor: 'claw-bot',
        commits: [
          { author: 'claw-bot', message: 'straight to main', files: { 'src/direct.ts': 'export const d = 1;\n' } },
        ],
      });
      if (!pushed) throw new Error('nothing pushed');
      const workspaceUuid = sandbox.workspace('acme').uuid;
      const incident = await waitFor(
        async () =>
          (await app.store.audit.query(workspaceUuid, { kinds: ['incident'] }))
            .map((e) => e.after as Record<string, unknown>)
            .find((after) => after.commit === pushed.hash),
        15_000,
        'the direct_push_main incident',
      );
      expect(incident).toMatchObject({
        action: 'direct_push_main',
        reason_code: 'ACTION_DENIED',
        actor: { uuid: ws.botUuid },
      });
      const status = await waitFor(
        () => sandbox.getStatuses('acme/proj-web', pushed.hash).find((x) => x.key === 'clawgate'),
        10_000,
        'the incident status',
      );
      expect(status.state).toBe('FAILED');
      expect(forge.eventDeliveries.some((d) => d.eventType === 'avi:bitbucket:push:repository')).toBe(true);
    } finally {
      await forge.waitForIdle();
      await app.close();
    }
  }, 60_000);

  test('the Forge pages reach the API as the viewer: members read, only owners write, strangers are refused', async () => {
    const app = await startForgeClawgate(sandbox, forge);
    try {
      const ws = await prepareForgeWorkspace(sandbox, forge, app.url);
      const pr = openAgentPullRequest(sandbox, ws, 'agent/panel', { 'src/panel.ts': 'export const panel = 1;\n' });
      await finalStatus(sandbox, pr.head);
      const member = sandbox.createUser({ nickname: 'bob', displayName: 'Bob' });
      sandbox.setWorkspacePermission('acme', member, 'member');
      const stranger = sandbox.createUser({ nickname: 'eve', displayName: 'Eve' });
      sandbox.setWorkspacePermission('acme', stranger, 'none');
      const list = await uiCall(
        forge,
        member.accountId,
        'GET',
        `/workspaces/acme/evaluations?repo=acme/proj-web&pr=${pr.prId}`,
      );
      expect(list.status).toBe(200);
      expect(JSON.stringify(list.body)).toContain(pr.head);
      const write = await uiCall(forge, member.accountId, 'PUT', '/workspaces/acme/settings', {
        mode: 'observe',
        trusted_gateways: [],
        cst_issuers: [],
        wpc_issuers: [],
        agents: [],
        frozen: false,
      });
      expect(write.status).toBe(403);
      const refused = await uiCall(
        forge,
        stranger.accountId,
        'GET',
        `/workspaces/acme/evaluations?repo=acme/proj-web&pr=${pr.prId}`,
      );
      expect(refused.status).toBe(403);
      const settings = await app.store.settings.get(sandbox.workspace('acme').uuid);
      expect(settings.settings.mode).toBe('enforce');
    } finally {
      await forge.waitForIdle();
      await app.close();
    }
  }, 60_000);
});
