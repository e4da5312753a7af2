import { callApi, finalStatus, openAgentPullRequest, prepareWorkspace, waitFor, type Workspace } from './harness';
import {
  appStatusWrites,
  auditOfKind,
  clawgateStatusOn,
  evaluationNumber,
  settle,
  startWorld,
  type World,
} from './operations-world';

/**
 * Issue 4 §4 — forged-status defence through the sandbox and the real server: a `clawgate` status
 * written by anyone but clawgate is overwritten with clawgate's verdict for that commit (FAILED when
 * there is none) and audited as `forged_status`; clawgate's own overwrite does not start a loop.
 */

interface ForgedAudit {
  before: { state: string; description: string | null; mark: string; event_actor: { uuid: string | null } };
  after: { state: string; basis: string; record_id: string | null };
  subject: string;
}

async function forgedAudits(world: World): Promise<ForgedAudit[]> {
  return (await auditOfKind(world, 'forged_status')).map((e) => ({
    before: e.before as ForgedAudit['before'],
    after: e.after as ForgedAudit['after'],
    subject: e.subject,
  }));
}

describe('e2e: forged-status defence', () => {
  let world: World;
  let ws: Workspace;
  let malloryUuid: string;

  beforeAll(async () => {
    world = await startWorld();
    ws = await prepareWorkspace(world.sandbox, world.app.url);
    malloryUuid = world.sandbox.createUser({ nickname: 'mallory', displayName: 'Mallory' }).uuid;
  }, 30_000);

  afterAll(async () => {
    await world.close();
  });

  test('a forged SUCCESSFUL over a FAILED verdict is overwritten with FAILED, audited, and written exactly once', async () => {
    // Touches a denied path: the verdict is FAILED (PATH_DENIED).
    const pr = openAgentPullRequest(world.sandbox, ws, 'agent/ci', { '.github/workflows/ci.yml': 'on: push\n' });
    const verdict = await finalStatus(world.sandbox, pr.head);
    expect(verdict.state).toBe('FAILED');
    await settle(world);
    const writesBefore = appStatusWrites(world, pr.head).length;

    world.sandbox.postStatus(
      'acme/proj-web',
      pr.head,
      {
        key: 'clawgate',
        state: 'SUCCESSFUL',
        description: 'all good',
        url: 'https://example.invalid/ok',
        refname: 'agent/ci',
      },
      'mallory',
    );
    await waitFor(
      () => (clawgateStatusOn(world, pr.head)?.state === 'FAILED' ? true : undefined),
      10_000,
      'the forged status to be overwritten',
    );
    const restored = clawgateStatusOn(world, pr.head);
    expect(restored?.description).toBe(verdict.description);
    expect(String(restored?.url)).toMatch(/\/connect\/details\/[0-9a-f-]{36}\?cg=\d+\.[A-Za-z0-9_-]{22}$/);
    expect(restored?.refname).toBe('agent/ci');

    const audits = (await forgedAudits(world)).filter((a) => a.subject === `acme/proj-web@${pr.head}`);
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({
      before: {
        state: 'SUCCESSFUL',
        description: 'all good',
        mark: 'absent_or_invalid',
        event_actor: { uuid: malloryUuid },
      },
      after: { state: 'FAILED', basis: 'evaluation' },
    });

    // No loop: the overwrite's own webhook is recognised; one write, then quiet.
    await settle(world);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await settle(world);
    expect(appStatusWrites(world, pr.head).length).toBe(writesBefore + 1);
    expect((await forgedAudits(world)).filter((a) => a.subject === `acme/proj-web@${pr.head}`)).toHaveLength(1);
  }, 30_000);

  test("a replay of clawgate's own earlier SUCCESSFUL (valid mark, older than the newest verdict) is overwritten", async () => {
    const pr = openAgentPullRequest(world.sandbox, ws, 'agent/replayed', {
      'src/replayed.ts': 'export const r = 1;\n',
    });
    const genuine = await finalStatus(world.sandbox, pr.head);
    expect(genuine.state).toBe('SUCCESSFUL');
    // Freeze the workspace and re-check: the newest verdict for this head is FAILED.
    const settings = await callApi(world.app.url, 'GET', '/api/v1/workspaces/acme/settings', ws.bearer);
    const current = (settings.json.settings ?? settings.json) as Record<string, unknown>;
    const frozen = await callApi(world.app.url, 'PUT', '/api/v1/workspaces/acme/settings', ws.bearer, {
      ...current,
      frozen: true,
    });
    expect(frozen.status).toBeLessThan(300);
    expect(
      (
        await callApi(
          world.app.url,
          'POST',
          `/api/v1/workspaces/acme/repositories/proj-web/pullrequests/${pr.prId}/recheck`,
          ws.bearer,
        )
      ).status,
    ).toBe(202);
    await evaluationNumber(world, pr.prId, 2);
    await waitFor(
      () => (clawgateStatusOn(world, pr.head)?.state === 'FAILED' ? true : undefined),
      10_000,
      'the frozen verdict',
    );
    await settle(world);

    // Mallory writes back, field for field, the status clawgate wrote before.
    world.sandbox.postStatus(
      'acme/proj-web',
      pr.head,
      {
        key: 'clawgate',
        state: 'SUCCESSFUL',
        description: String(genuine.description),
        url: String(genuine.url),
        refname: String(genuine.refname),
      },
      'mallory',
    );
    await waitFor(
      () => (clawgateStatusOn(world, pr.head)?.state === 'FAILED' ? true : undefined),
      10_000,
      'the replay to be overwritten',
    );
    const audit = (await forgedAudits(world)).find((a) => a.subject === `acme/proj-web@${pr.head}`);
    expect(audit).toMatchObject({
      before: { state: 'SUCCESSFUL', mark: 'replayed' },
      after: { state: 'FAILED', basis: 'evaluation' },
    });
    expect(String(clawgateStatusOn(world, pr.head)?.description)).toContain('WORKSPACE_FROZEN');
    await callApi(world.app.url, 'PUT', '/api/v1/workspaces/acme/settings', ws.bearer, { ...current, frozen: false });
  }, 30_000);

  test('a clawgate status on a commit that is the head of no open PR is not defended (issue 9: no budget spent on what nobody can merge)', async () => {
    const main = world.sandbox.branchHead('acme/proj-web', 'main') ?? '';
    world.sandbox.postStatus(
      'acme/proj-web',
      main,
      { key: 'clawgate', state: 'SUCCESSFUL', description: 'trust me' },
      'mallory',
    );
    await settle(world);
    expect(clawgateStatusOn(world, main)?.state).toBe('SUCCESSFUL');
    expect((await forgedAudits(world)).find((a) => a.subject === `acme/proj-web@${main}`)).toBeUndefined();
    expect(appStatusWrites(world, main)).toHaveLength(0);
  }, 30_000);

  test('statuses under other keys are left alone', async () => {
    const main = world.sandbox.branchHead('acme/proj-web', 'main') ?? '';
    const before = (await forgedAudits(world)).length;
    world.sandbox.postStatus(
      'acme/proj-web',
      main,
      { key: 'ci-build', state: 'SUCCESSFUL', description: 'green' },
      'mallory',
    );
    await settle(world);
    expect(world.sandbox.getStatuses('acme/proj-web', main).find((s) => s.key === 'ci-build')?.state).toBe(
      'SUCCESSFUL',
    );
    expect((await forgedAudits(world)).length).toBe(before);
  }, 30_000);
});
