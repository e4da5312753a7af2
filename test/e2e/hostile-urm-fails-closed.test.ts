import { makeScenario } from '../../src/testkit';
import { finalStatus, prepareWorkspace, type Workspace } from './harness';
import { evaluationsOf, settle, startWorld, type World } from './operations-world';

/**
 * Issue 9 (hostile bundles): the URM a PR commits beside its bundle is the committer's to choose. A
 * hostile one (2 MiB of nested arrays) is parsed in a worker, refused by URM_BOUNDS, and binds
 * nothing: the bundle that names it fails closed (URM_MISSING), in enforce mode FAILED.
 */
describe('e2e: a hostile URM beside a good bundle fails closed', () => {
  let world: World;
  let ws: Workspace;

  beforeAll(async () => {
    world = await startWorld();
    ws = await prepareWorkspace(world.sandbox, world.app.url, { mode: 'enforce' });
  });
  afterAll(async () => {
    await world.close();
  });

  it('FAILED with URM_MISSING; the good URM on another PR passes', async () => {
    const { sandbox } = world;
    const cases = [
      {
        branch: 'agent/urm-junk',
        urm: () => `${'['.repeat(1024 * 1024)}${']'.repeat(1024 * 1024)}`,
        state: 'FAILED',
        code: 'URM_MISSING',
      },
      { branch: 'agent/urm-good', urm: (good: unknown) => JSON.stringify(good), state: 'SUCCESSFUL', code: undefined },
    ];
    for (const c of cases) {
      const work = sandbox.commit('acme/proj-web', {
        branch: c.branch,
        author: 'claw-bot',
        message: 'agent work',
        files: { [`src/${c.branch.slice(6)}.ts`]: 'export const x = 1;\n' },
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
      expect(s.bundle.urmDocument).toBeDefined();
      const head = sandbox.commit('acme/proj-web', {
        branch: c.branch,
        author: 'claw-bot',
        message: 'proof bundle',
        files: {
          '.clawsig/proof_bundle.json': JSON.stringify(s.bundle.envelope),
          '.clawsig/urm.json': c.urm(s.bundle.urmDocument),
        },
      });
      const pr = sandbox.openPullRequest('acme/proj-web', {
        source: c.branch,
        author: 'claw-bot',
        title: c.branch,
        description: `Proof-Bundle: ${s.bundle.bundleId}`,
      });
      const status = await finalStatus(sandbox, head.hash, 60_000);
      await settle(world);
      expect(status.state).toBe(c.state);
      const [evaluation] = await evaluationsOf(world, pr.id);
      if (c.code !== undefined) expect(JSON.stringify(evaluation?.verdict)).toContain(c.code);
    }
  }, 120_000);
});
