import { createQueryStringHash, encodeSymmetric, fromMethodAndUrl } from 'atlassian-jwt';
import { callApi, openAgentPullRequest, pageJwt, prepareWorkspace, waitFor, type Workspace } from './harness';
import {
  appStatusWrites,
  auditOfKind,
  clawgateStatusOn,
  evaluationNumber,
  evaluationsOf,
  settle,
  startWorld,
  type World,
} from './operations-world';

/**
 * Issue 4 §2 (approval gates), §7 (re-check by API and by `/clawgate recheck`) and the settings
 * write gate for the app's pages (only workspace admins), through the sandbox and the real server.
 */

function triggerOf(record: { verdict: unknown }): unknown {
  return (record.verdict as { trigger?: unknown }).trigger;
}

describe('e2e: approval gates', () => {
  let world: World;
  let ws: Workspace;

  beforeAll(async () => {
    world = await startWorld();
    ws = await prepareWorkspace(world.sandbox, world.app.url, { approvalRequired: true });
    // A second agent identity: its approval must not count either.
    const reviewer = world.sandbox.createUser({ nickname: 'claw-reviewer', displayName: 'Claw Reviewer' });
    const current = await callApi(world.app.url, 'GET', '/api/v1/workspaces/acme/settings', ws.bearer);
    const agents = [...(current.json.agents as unknown[]), { account_uuid: reviewer.uuid, role: 'read' }];
    expect(
      (await callApi(world.app.url, 'PUT', '/api/v1/workspaces/acme/settings', ws.bearer, { ...current.json, agents }))
        .status,
    ).toBe(200);
  }, 30_000);

  afterAll(async () => {
    await world.close();
  });

  test('INPROGRESS until a human approves; an agent identity approving changes nothing; unapprove goes back to INPROGRESS', async () => {
    const pr = openAgentPullRequest(world.sandbox, ws, 'agent/gated', { 'src/gated.ts': 'export const g = 1;\n' });
    const first = await evaluationNumber(world, pr.prId, 1);
    expect(first).toMatchObject({ state: 'PENDING', statusState: 'INPROGRESS' });
    await settle(world);
    expect(clawgateStatusOn(world, pr.head)).toMatchObject({ state: 'INPROGRESS' });
    expect(String(clawgateStatusOn(world, pr.head)?.description)).toMatch(/^waiting: /);

    world.sandbox.approve('acme/proj-web', pr.prId, 'claw-reviewer');
    const second = await evaluationNumber(world, pr.prId, 2);
    expect(triggerOf(second)).toBe('pullrequest:approved');
    expect(second.state).toBe('PENDING');
    await settle(world);
    expect(clawgateStatusOn(world, pr.head)?.state).toBe('INPROGRESS');

    world.sandbox.approve('acme/proj-web', pr.prId, 'alice');
    const third = await evaluationNumber(world, pr.prId, 3);
    expect(third).toMatchObject({ state: 'PASS', statusState: 'SUCCESSFUL' });
    await waitFor(
      () => (clawgateStatusOn(world, pr.head)?.state === 'SUCCESSFUL' ? true : undefined),
      10_000,
      'SUCCESSFUL after the human approval',
    );

    world.sandbox.unapprove('acme/proj-web', pr.prId, 'alice');
    const fourth = await evaluationNumber(world, pr.prId, 4);
    expect(triggerOf(fourth)).toBe('pullrequest:unapproved');
    expect(fourth.state).toBe('PENDING');
    await waitFor(
      () => (clawgateStatusOn(world, pr.head)?.state === 'INPROGRESS' ? true : undefined),
      10_000,
      'INPROGRESS after the unapproval',
    );
  }, 30_000);
});

describe('e2e: re-check and the settings write gate', () => {
  let world: World;
  let ws: Workspace;
  let pr: { prId: number; head: string };

  beforeAll(async () => {
    world = await startWorld();
    ws = await prepareWorkspace(world.sandbox, world.app.url);
    world.sandbox.createUser({ nickname: 'bob', displayName: 'Bob' });
    pr = openAgentPullRequest(world.sandbox, ws, 'agent/rechecked', { 'src/rechecked.ts': 'export const r = 1;\n' });
    await evaluationNumber(world, pr.prId, 1);
    await settle(world);
  }, 30_000);

  afterAll(async () => {
    await world.close();
  });

  test('POST …/recheck re-evaluates the same head and publishes again', async () => {
    const before = (await evaluationsOf(world, pr.prId)).length;
    const writes = appStatusWrites(world, pr.head).length;
    const response = await callApi(
      world.app.url,
      'POST',
      `/api/v1/workspaces/acme/repositories/proj-web/pullrequests/${pr.prId}/recheck`,
      ws.bearer,
    );
    expect(response.status).toBe(202);
    const latest = await evaluationNumber(world, pr.prId, before + 1);
    expect(triggerOf(latest)).toBe('recheck');
    expect(latest.headSha).toBe(pr.head);
    await settle(world);
    const after = appStatusWrites(world, pr.head);
    expect(after.length).toBeGreaterThanOrEqual(writes + 2);
    expect(after[after.length - 1]?.state).toBe('SUCCESSFUL');
  }, 30_000);

  test('/clawgate recheck by a human with write access re-evaluates and is acknowledged', async () => {
    const before = (await evaluationsOf(world, pr.prId)).length;
    const comment = world.sandbox.comment('acme/proj-web', pr.prId, {
      author: 'alice',
      content: 'Bundle uploaded again.\n/clawgate recheck\n',
    });
    const latest = await evaluationNumber(world, pr.prId, before + 1);
    expect(triggerOf(latest)).toBe('recheck');
    const requested = await waitFor(
      async () =>
        (await auditOfKind(world, 'pullrequest.recheck_requested')).find(
          (e) => (e.after as { via?: string }).via === 'pr_comment',
        ),
      10_000,
      'the audit event',
    );
    expect(requested.actor).toBe(`bitbucket:${ws.aliceUuid}`);
    expect(requested.after).toMatchObject({ comment_id: comment.id, permission: 'admin' });
    const reply = await waitFor(
      () =>
        world.sandbox
          .getComments('acme/proj-web', pr.prId)
          .find((c) => (c.parent as { id?: number } | undefined)?.id === comment.id),
      10_000,
      'the acknowledgement',
    );
    expect(String((reply.content as { raw: string }).raw)).toContain('re-check requested by Alice');
    await settle(world);
    // The acknowledgement is not a command: nothing more was evaluated.
    expect((await evaluationsOf(world, pr.prId)).length).toBe(before + 1);
  }, 30_000);

  test('the agent identity cannot re-check its own PR, and a reader is ignored; both audited', async () => {
    const before = (await evaluationsOf(world, pr.prId)).length;
    world.sandbox.comment('acme/proj-web', pr.prId, { author: 'claw-bot', content: '/clawgate recheck' });
    world.sandbox.comment('acme/proj-web', pr.prId, { author: 'bob', content: '/clawgate recheck' });
    await settle(world);
    const refused = await auditOfKind(world, 'pullrequest.recheck_refused');
    expect(refused.map((e) => (e.after as { reason: string }).reason).sort()).toEqual([
      'agent_identity',
      'no_write_access',
    ]);
    expect(refused.find((e) => (e.after as { reason: string }).reason === 'no_write_access')?.after).toMatchObject({
      permission: 'read',
    });
    expect((await evaluationsOf(world, pr.prId)).length).toBe(before);

    // Given write access, the same reader may.
    world.sandbox.setRepositoryPermission('acme/proj-web', 'bob', 'write');
    world.sandbox.comment('acme/proj-web', pr.prId, { author: 'bob', content: '/CLAWGATE  recheck' });
    const latest = await evaluationNumber(world, pr.prId, before + 1);
    expect(triggerOf(latest)).toBe('recheck');
  }, 30_000);

  test('only a workspace admin may change or read settings through a page JWT', async () => {
    const installation = world.sandbox.listInstallations()[0];
    if (!installation) throw new Error('not installed');
    const path = '/api/v1/workspaces/acme/settings';
    const current = await callApi(world.app.url, 'GET', path, ws.bearer);
    const asUser = (accountId: string, method: string) => {
      const iat = Math.floor(Date.now() / 1000);
      return `JWT ${encodeSymmetric({ iss: installation.clientKey, sub: accountId, iat, exp: iat + 180, qsh: createQueryStringHash(fromMethodAndUrl(method, path), false) }, installation.sharedSecret)}`;
    };
    const alice = world.sandbox.user('alice');
    const admin = world.sandbox.workspaceAdmin('acme');

    expect(
      (
        await callApi(
          world.app.url,
          'PUT',
          path,
          `JWT ${pageJwt(world.sandbox, installation.clientKey, 'PUT', path)}`,
          current.json,
        )
      ).status,
    ).toBe(200);
    expect((await callApi(world.app.url, 'PUT', path, asUser(admin.uuid, 'PUT'), current.json)).status).toBe(200);
    const refused = await callApi(world.app.url, 'PUT', path, asUser(alice.accountId, 'PUT'), {
      ...current.json,
      frozen: true,
    });
    expect(refused.status).toBe(403);
    expect(
      (await callApi(world.app.url, 'PUT', path, asUser('not a valid "account"', 'PUT'), current.json)).status,
    ).toBe(403);
    expect((await callApi(world.app.url, 'GET', path, asUser(alice.accountId, 'GET'))).status).toBe(403);
    expect((await callApi(world.app.url, 'GET', path, asUser(admin.uuid, 'GET'))).status).toBe(200);
    expect((await callApi(world.app.url, 'GET', path, ws.bearer)).json.frozen).toBe(false);

    // A workspace member promoted to owner may (one clawgate has not asked about in the last minute:
    // answers are cached for 60 s, docs/api.md §1.1).
    world.sandbox.setWorkspacePermission('acme', 'bob', 'owner');
    expect(
      (await callApi(world.app.url, 'PUT', path, asUser(world.sandbox.user('bob').accountId, 'PUT'), current.json))
        .status,
    ).toBe(200);
  }, 30_000);

  test("the panel's re-check needs write access to the repository, not workspace ownership", async () => {
    const installation = world.sandbox.listInstallations()[0];
    if (!installation) throw new Error('not installed');
    const pr = openAgentPullRequest(world.sandbox, ws, 'agent/panel-recheck', {
      'src/panel.ts': 'export const p = 1;\n',
    });
    await waitFor(
      () =>
        world.sandbox
          .getStatuses('acme/proj-web', pr.head)
          .some((s) => s.key === 'clawgate' && s.state !== 'INPROGRESS')
          ? true
          : undefined,
      20_000,
      'the first verdict',
    );
    const path = `/api/v1/workspaces/acme/repositories/proj-web/pullrequests/${pr.prId}/recheck`;
    const asUser = (accountId: string) => {
      const iat = Math.floor(Date.now() / 1000);
      return `JWT ${encodeSymmetric({ iss: installation.clientKey, sub: accountId, iat, exp: iat + 180, qsh: createQueryStringHash(fromMethodAndUrl('POST', path), false) }, installation.sharedSecret)}`;
    };
    const reader = world.sandbox.createUser({ nickname: 'rita', displayName: 'Rita (reader)' });
    const refused = await callApi(world.app.url, 'POST', path, asUser(reader.accountId), {});
    expect(refused.status).toBe(403);
    const carol = world.sandbox.createUser({ nickname: 'carol', displayName: 'Carol (reviewer)' });
    world.sandbox.setRepositoryPermission('acme/proj-web', 'carol', 'write');
    const accepted = await callApi(world.app.url, 'POST', path, asUser(carol.accountId), {});
    expect(accepted.status).toBe(202);
    // The agent account has write access too, and is refused: the same rule as the comment path.
    const bot = world.sandbox.user('claw-bot');
    world.sandbox.setRepositoryPermission('acme/proj-web', 'claw-bot', 'write');
    const agent = await callApi(world.app.url, 'POST', path, asUser(bot.accountId), {});
    expect(agent.status).toBe(403);
    expect((agent.json as { error: { code: string } }).error.code).toBe('RECHECK_REFUSED');
    // Write access to the repository does not open the settings.
    const settings = '/api/v1/workspaces/acme/settings';
    const iat = Math.floor(Date.now() / 1000);
    const putSettings = `JWT ${encodeSymmetric({ iss: installation.clientKey, sub: carol.accountId, iat, exp: iat + 180, qsh: createQueryStringHash(fromMethodAndUrl('PUT', settings), false) }, installation.sharedSecret)}`;
    const current = await callApi(world.app.url, 'GET', settings, ws.bearer);
    expect((await callApi(world.app.url, 'PUT', settings, putSettings, { ...current.json, frozen: true })).status).toBe(
      403,
    );
  }, 30_000);
});
