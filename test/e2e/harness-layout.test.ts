/**
 * Real harness layouts through the whole pipeline (sandbox Bitbucket, real store): a bundle written
 * as `artifacts/poh/<branch>/run_<id>-bundle.json` with its `-urm.json` and `-trust-pulse.json`
 * siblings is found without any `.clawsig/` file; its URM is verified; a missing URM, or two
 * undeclared harness bundles, fail closed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSandbox, type BitbucketSandbox } from '../../src/sandbox';
import { makeScenario } from '../../src/testkit';
import { callApi, finalStatus, prepareWorkspace, startTestClawgate, type Workspace } from './harness';

function harnessPullRequest(
  sandbox: BitbucketSandbox,
  ws: Workspace,
  branch: string,
  options: { urmFile: boolean; extraBundle?: boolean; declare?: boolean },
) {
  const work = sandbox.commit('acme/proj-web', {
    branch,
    author: 'claw-bot',
    message: 'agent work',
    files: { [`src/${branch.replace(/\W/g, '_')}.ts`]: 'export const x = 1;\n' },
  });
  const s = makeScenario({
    workspace: 'acme',
    repoSlug: 'proj-web',
    commit: work.hash,
    wpc: ws.wpc,
    startMs: Date.now() - 60_000,
    ...ws.keys,
    urm: true,
  });
  const dir = `artifacts/poh/${branch}`;
  const files: Record<string, string> = {
    [`${dir}/${s.bundle.runId}-bundle.json`]: JSON.stringify(s.bundle.envelope, null, 2),
    [`${dir}/${s.bundle.runId}-trust-pulse.json`]: JSON.stringify({ trust_pulse_version: '1', run_id: s.bundle.runId }),
  };
  if (options.urmFile) files[`${dir}/${s.bundle.runId}-urm.json`] = JSON.stringify(s.bundle.urmDocument, null, 2);
  if (options.extraBundle) {
    const other = makeScenario({
      workspace: 'acme',
      repoSlug: 'proj-web',
      commit: work.hash,
      wpc: ws.wpc,
      startMs: Date.now() - 60_000,
      ...ws.keys,
    });
    files[`${dir}/run_zzz_other-bundle.json`] = JSON.stringify(other.bundle.envelope);
  }
  const withBundle = sandbox.commit('acme/proj-web', {
    branch,
    author: 'claw-bot',
    message: 'proof bundle (harness layout)',
    files,
  });
  sandbox.openPullRequest('acme/proj-web', {
    source: branch,
    author: 'claw-bot',
    title: branch,
    description: options.declare ? `Proof-Bundle: ${s.bundle.bundleId}` : 'agent work',
  });
  return withBundle.hash;
}

describe('e2e: real harness layouts', () => {
  let sandbox: BitbucketSandbox;
  let dir: string;
  beforeEach(async () => {
    sandbox = await startSandbox();
    dir = mkdtempSync(path.join(tmpdir(), 'clawgate-e2e-harness-'));
  });
  afterEach(async () => {
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('bundle + URM + pulse under artifacts/poh/<branch>/ pass; without the URM file the PR fails URM_MISSING; two undeclared bundles fail closed until one is declared', async () => {
    const app = await startTestClawgate(sandbox, { databaseUrl: `sqlite:${path.join(dir, 'db.sqlite')}` });
    try {
      const ws = await prepareWorkspace(sandbox, app.url);
      const good = harnessPullRequest(sandbox, ws, 'agent-good', { urmFile: true });
      expect((await finalStatus(sandbox, good)).state).toBe('SUCCESSFUL');

      const missing = harnessPullRequest(sandbox, ws, 'agent-nourm', { urmFile: false });
      const failed = await finalStatus(sandbox, missing);
      expect(failed.state).toBe('FAILED');
      expect(String(failed.description)).toContain('URM_MISSING');

      const ambiguous = harnessPullRequest(sandbox, ws, 'agent-two', { urmFile: true, extraBundle: true });
      // No bundle is chosen (BUNDLE_UNREADABLE among the checks); the status names the first
      // failing criterion in rule order, which is the WPC's token clause.
      expect((await finalStatus(sandbox, ambiguous)).state).toBe('FAILED');

      // Declaring one bundle picks it; the other run's bundle, committed after the attested commit,
      // is not this bundle's own file, so the proof does not cover the head (docs/policy.md §6).
      const declared = harnessPullRequest(sandbox, ws, 'agent-declared', {
        urmFile: true,
        extraBundle: true,
        declare: true,
      });
      const declaredStatus = await finalStatus(sandbox, declared);
      expect(declaredStatus.state).toBe('FAILED');
      expect(String(declaredStatus.description)).toContain('CHANGED_AFTER_ATTESTATION');
    } finally {
      await app.close();
    }
  }, 90_000);

  test('a bundle uploaded to the API with its URM passes; uploaded without it, the PR fails URM_MISSING', async () => {
    const app = await startTestClawgate(sandbox, { databaseUrl: `sqlite:${path.join(dir, 'db.sqlite')}` });
    try {
      const ws = await prepareWorkspace(sandbox, app.url);
      const openUploaded = async (branch: string, withUrm: boolean): Promise<string> => {
        const work = sandbox.commit('acme/proj-web', {
          branch,
          author: 'claw-bot',
          message: 'agent work',
          files: { [`src/${branch}.ts`]: 'export const y = 1;\n' },
        });
        const s = makeScenario({
          workspace: 'acme',
          repoSlug: 'proj-web',
          commit: work.hash,
          wpc: ws.wpc,
          startMs: Date.now() - 60_000,
          ...ws.keys,
          urm: true,
        });
        const upload = await callApi(app.url, 'POST', '/api/v1/workspaces/acme/bundles', ws.bearer, {
          bundle: s.bundle.envelope,
          ...(withUrm ? { urm: s.bundle.urmDocument } : {}),
        });
        expect(upload.status).toBe(201);
        sandbox.openPullRequest('acme/proj-web', {
          source: branch,
          author: 'claw-bot',
          title: branch,
          description: `Proof-Bundle: ${s.bundle.bundleId}`,
        });
        return work.hash;
      };
      expect((await finalStatus(sandbox, await openUploaded('uploaded-urm', true))).state).toBe('SUCCESSFUL');
      const failed = await finalStatus(sandbox, await openUploaded('uploaded-nourm', false));
      expect(failed.state).toBe('FAILED');
      expect(String(failed.description)).toContain('URM_MISSING');
    } finally {
      await app.close();
    }
  }, 90_000);
});
