import { makeBitbucketWpc } from '../../src/testkit';
import { callApi, finalStatus, openAgentPullRequest, prepareWorkspace, waitFor, type Workspace } from './harness';
import {
  ADMIN_TOKEN,
  auditOfKind,
  clawgateStatusOn,
  settle,
  startWorld,
  uploadPolicy,
  workspaceIdOf,
  type World,
} from './operations-world';

/**
 * Issue 4 §3 — incidents through the sandbox and the real server: write actions an agent identity
 * already took that its WPC does not allow (the testkit WPC allows create_branch, create_pr,
 * comment_pr and denies merge_pr, delete_branch, direct_push_main). Each is an audit event of kind
 * `incident` and, where there is a commit, a FAILED `clawgate` status on it.
 */

interface IncidentAfter {
  action: string;
  reason_code: string;
  actor: { uuid: string };
  branch: string | null;
  commit: string | null;
  pr_id: number | null;
  wpc_hash: string | null;
  status_state: string | null;
}

async function incidents(world: World): Promise<IncidentAfter[]> {
  return (await auditOfKind(world, 'incident')).map((e) => e.after as IncidentAfter);
}

async function incidentFor(
  world: World,
  predicate: (i: IncidentAfter) => boolean,
  what: string,
): Promise<IncidentAfter> {
  return waitFor(async () => (await incidents(world)).find(predicate), 15_000, what);
}

describe('e2e: incidents (Connect installation)', () => {
  let world: World;
  let ws: Workspace;
  let wpcHash: string;

  beforeAll(async () => {
    world = await startWorld();
    ws = await prepareWorkspace(world.sandbox, world.app.url);
    const wsId = await workspaceIdOf(world);
    wpcHash = (await world.app.store.assignments.list(wsId))[0]?.policyHashB64u ?? '';
    world.sandbox.createUser({ nickname: 'bob', displayName: 'Bob' });
  }, 30_000);

  afterAll(async () => {
    await world.close();
  });

  test('an agent pushing to the main branch is direct_push_main: audited, FAILED on the pushed head; a human push is not', async () => {
    const [pushed] = world.sandbox.push('acme/proj-web', {
      branch: 'main',
      actor: 'claw-bot',
      commits: [
        { author: 'claw-bot', message: 'straight to main', files: { 'src/direct.ts': 'export const d = 1;\n' } },
      ],
    });
    if (!pushed) throw new Error('nothing pushed');
    const incident = await incidentFor(
      world,
      (i) => i.action === 'direct_push_main' && i.commit === pushed.hash,
      'the direct_push_main incident',
    );
    expect(incident).toMatchObject({
      reason_code: 'ACTION_DENIED',
      branch: 'main',
      actor: { uuid: ws.botUuid },
      wpc_hash: wpcHash,
      status_state: 'FAILED',
    });
    const status = await waitFor(() => clawgateStatusOn(world, pushed.hash), 10_000, 'the incident status');
    expect(status.state).toBe('FAILED');
    expect(String(status.description)).toMatch(/^INCIDENT direct_push_main: Claw Bot pushed [0-9a-f]{12} to main/);
    expect(status.refname).toBe('main');

    const before = (await incidents(world)).length;
    const [human] = world.sandbox.push('acme/proj-web', {
      branch: 'main',
      actor: 'alice',
      commits: [{ author: 'alice', message: 'human fix', files: { 'src/human.ts': 'export const h = 1;\n' } }],
    });
    await settle(world);
    expect((await incidents(world)).length).toBe(before);
    expect(clawgateStatusOn(world, human?.hash ?? '')).toBeUndefined();
  }, 30_000);

  test('an agent deleting a branch is delete_branch (audited, no commit to mark); creating one is allowed', async () => {
    world.sandbox.createBranch('acme/proj-web', { name: 'agent/scratch', actor: 'claw-bot' });
    await settle(world);
    expect((await incidents(world)).some((i) => i.branch === 'agent/scratch')).toBe(false);
    world.sandbox.deleteBranch('acme/proj-web', { name: 'agent/scratch', actor: 'claw-bot' });
    const incident = await incidentFor(
      world,
      (i) => i.action === 'delete_branch' && i.branch === 'agent/scratch',
      'the delete_branch incident',
    );
    expect(incident).toMatchObject({ reason_code: 'ACTION_DENIED', commit: null, status_state: null });
  }, 30_000);

  test('an agent merging a PR is merge_pr: FAILED on the merge commit; the merge push is not also a direct push', async () => {
    const pr = openAgentPullRequest(world.sandbox, ws, 'agent/merged', { 'src/merged.ts': 'export const m = 1;\n' });
    expect((await finalStatus(world.sandbox, pr.head)).state).toBe('SUCCESSFUL');
    const merged = world.sandbox.merge('acme/proj-web', pr.prId, { actor: 'claw-bot' });
    const incident = await incidentFor(
      world,
      (i) => i.action === 'merge_pr' && i.pr_id === pr.prId,
      'the merge_pr incident',
    );
    expect(incident).toMatchObject({
      commit: merged.hash,
      branch: 'main',
      reason_code: 'ACTION_DENIED',
      status_state: 'FAILED',
    });
    const status = await waitFor(() => clawgateStatusOn(world, merged.hash), 10_000, 'the merge commit status');
    expect(status.state).toBe('FAILED');
    expect(String(status.description)).toContain('INCIDENT merge_pr: Claw Bot merged pull request');
    await settle(world);
    expect((await incidents(world)).filter((i) => i.commit === merged.hash).map((i) => i.action)).toEqual(['merge_pr']);
  }, 30_000);

  test('an agent comment where comment_pr is not allowed is an incident and outranks the PR verdict on that head', async () => {
    // A second repository whose WPC does not list comment_pr; alice's PR there is a human PR.
    world.sandbox.createRepository({
      workspace: 'acme',
      slug: 'proj-api',
      author: 'alice',
      files: { 'README.md': '# api\n' },
    });
    const wpc = makeBitbucketWpc({ repos: ['acme/proj-api'] }) as { policy: { write: { allow: string[] } } };
    wpc.policy.write.allow = wpc.policy.write.allow.filter((a) => a !== 'comment_pr');
    const noComments = await uploadPolicy(world, ws.bearer, wpc);
    const assigned = await callApi(world.app.url, 'PUT', '/api/v1/workspaces/acme/assignments', ws.bearer, [
      { repo: 'acme/proj-api', policy_hash_b64u: noComments },
      { repo: 'acme/proj-web', policy_hash_b64u: wpcHash },
    ]);
    expect(assigned.status).toBeLessThan(300);
    const head = world.sandbox.commit('acme/proj-api', {
      branch: 'feature/docs',
      author: 'alice',
      message: 'docs',
      files: { 'docs.md': 'hi\n' },
    }).hash;
    const pr = world.sandbox.openPullRequest('acme/proj-api', {
      source: 'feature/docs',
      author: 'alice',
      title: 'docs',
    });
    await waitFor(
      () =>
        world.sandbox.getStatuses('acme/proj-api', head).find((s) => s.key === 'clawgate')?.state === 'SUCCESSFUL'
          ? true
          : undefined,
      10_000,
      'the human PR verdict',
    );

    // A human's comment is no incident; the agent's is.
    world.sandbox.comment('acme/proj-api', pr.id, { author: 'bob', content: 'LGTM?' });
    world.sandbox.comment('acme/proj-api', pr.id, { author: 'claw-bot', content: 'I can help with this.' });
    const incident = await incidentFor(
      world,
      (i) => i.action === 'comment_pr' && i.pr_id === pr.id,
      'the comment_pr incident',
    );
    expect(incident).toMatchObject({
      reason_code: 'ACTION_NOT_ALLOWED',
      commit: head,
      branch: 'feature/docs',
      wpc_hash: noComments,
    });
    await waitFor(
      () =>
        world.sandbox.getStatuses('acme/proj-api', head).find((s) => s.key === 'clawgate')?.state === 'FAILED'
          ? true
          : undefined,
      10_000,
      'the incident status on the PR head',
    );
    expect((await incidents(world)).filter((i) => i.action === 'comment_pr')).toHaveLength(1);

    // A re-evaluation of the same head keeps the incident's FAILED status.
    const recheck = await callApi(
      world.app.url,
      'POST',
      `/api/v1/workspaces/acme/repositories/proj-api/pullrequests/${pr.id}/recheck`,
      ws.bearer,
    );
    expect(recheck.status).toBe(202);
    const wsId = await workspaceIdOf(world);
    await waitFor(
      async () =>
        (await world.app.store.evaluations.listForPullRequest(wsId, 'acme/proj-api', pr.id)).length >= 2
          ? true
          : undefined,
      15_000,
      'the re-evaluation',
    );
    await settle(world);
    const status = world.sandbox.getStatuses('acme/proj-api', head).find((s) => s.key === 'clawgate');
    expect(status?.state).toBe('FAILED');
    expect(String(status?.description)).toMatch(/^INCIDENT comment_pr: Claw Bot commented on pull request #1/);
  }, 40_000);
});

describe('e2e: incidents on a protected branch (repository webhooks, token with repository:admin)', () => {
  let world: World;

  beforeAll(async () => {
    world = await startWorld();
  }, 30_000);

  afterAll(async () => {
    await world.close();
  });

  test('a push to a branch under a push restriction is direct_push_main; an unrestricted branch is not', async () => {
    const { sandbox, app } = world;
    sandbox.createWorkspace({ slug: 'acme', name: 'ACME' });
    sandbox.createUser({ nickname: 'alice', displayName: 'Alice' });
    const bot = sandbox.createUser({ nickname: 'claw-bot', displayName: 'Claw Bot' });
    sandbox.createRepository({
      workspace: 'acme',
      slug: 'proj-web',
      author: 'alice',
      files: { 'README.md': '# proj-web\n' },
    });
    sandbox.createBranch('acme/proj-web', { name: 'release/1.0', actor: 'alice' });
    const token = sandbox.createAccessToken(
      { workspace: 'acme' },
      ['repository:write', 'repository:admin', 'pullrequest:write', 'webhook'],
      { name: 'clawgate' },
    );
    const restriction = await fetch(`${sandbox.baseUrl}/2.0/repositories/acme/proj-web/branch-restrictions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'push', branch_match_kind: 'glob', pattern: 'release/*', users: [] }),
    });
    expect(restriction.status).toBe(201);
    const registered = await callApi(app.url, 'POST', '/api/v1/workspaces', `Bearer ${ADMIN_TOKEN}`, {
      workspace: 'acme',
      access_token: token.token,
      repositories: ['proj-web'],
      base_api_url: sandbox.baseUrl,
    });
    expect(registered.status).toBe(201);
    const bearer = `Bearer ${String(registered.json.token)}`;
    const hash = await uploadPolicy(world, bearer, makeBitbucketWpc({ repos: ['acme/proj-web'] }));
    await callApi(app.url, 'PUT', '/api/v1/workspaces/acme/assignments', bearer, [
      { repo: 'acme/proj-web', policy_hash_b64u: hash },
    ]);
    const settings = await callApi(app.url, 'PUT', '/api/v1/workspaces/acme/settings', bearer, {
      mode: 'enforce',
      trusted_gateways: [],
      cst_issuers: [],
      wpc_issuers: [],
      agents: [{ account_uuid: bot.uuid, role: 'write' }],
      frozen: false,
    });
    expect(settings.status).toBeLessThan(300);

    const [released] = sandbox.push('acme/proj-web', {
      branch: 'release/1.0',
      actor: 'claw-bot',
      commits: [{ author: 'claw-bot', message: 'hotfix', files: { 'fix.txt': 'x\n' } }],
    });
    const [feature] = sandbox.push('acme/proj-web', {
      branch: 'agent/feature',
      actor: 'claw-bot',
      commits: [{ author: 'claw-bot', message: 'work', files: { 'work.txt': 'y\n' } }],
    });
    const incident = await incidentFor(
      world,
      (i) => i.action === 'direct_push_main' && i.commit === released?.hash,
      'the protected-branch incident',
    );
    expect(incident).toMatchObject({ branch: 'release/1.0', status_state: 'FAILED' });
    const facts = (await auditOfKind(world, 'incident')).map((e) => e.after as { facts?: { protection?: string[] } })[0]
      ?.facts;
    expect(facts?.protection).toEqual(['restriction:push:release/*']);
    await waitFor(
      () => (clawgateStatusOn(world, released?.hash ?? '')?.state === 'FAILED' ? true : undefined),
      10_000,
      'FAILED on the release head',
    );
    await settle(world);
    expect((await incidents(world)).some((i) => i.commit === feature?.hash)).toBe(false);
  }, 30_000);
});
