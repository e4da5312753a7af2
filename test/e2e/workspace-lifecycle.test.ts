import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSandbox, type BitbucketSandbox } from '../../src/sandbox';
import type { ClawgateServer } from '../../src/server/create-server';
import { createTestKey, makeBitbucketWpc } from '../../src/testkit';
import { hubSignature } from '../../src/webhooks';
import { callApi, finalStatus, openAgentPullRequest, startTestClawgate, waitFor, type Workspace } from './harness';

/**
 * A repository-webhook workspace after registration, through the admin API and the sandbox:
 * rotating the webhook secret (old secret refused afterwards, PRs still judged), re-registering
 * with a new access token (and bringing back an unregistered workspace), and unregistering with the
 * data kept or purged — hooks deleted in Bitbucket, API tokens revoked, deliveries refused, audited.
 */

const ADMIN_TOKEN = 'lifecycle-admin-token-0123456789abcdef';
const ADMIN = `Bearer ${ADMIN_TOKEN}`;
const REPO = 'acme/proj-web';

describe('e2e: repository-webhook workspace lifecycle', () => {
  let sandbox: BitbucketSandbox;
  let app: ClawgateServer;
  let dir: string;
  let ws: Workspace;
  let accessToken: { token: string; id: string };

  /** Registers acme with an access token and configures it for agent PRs; returns the API bearer. */
  async function registerAndConfigure(): Promise<void> {
    sandbox.createWorkspace({ slug: 'acme', name: 'ACME' });
    const alice = sandbox.createUser({ nickname: 'alice', displayName: 'Alice' });
    const bot = sandbox.createUser({ nickname: 'claw-bot', displayName: 'Claw Bot' });
    sandbox.createRepository({
      workspace: 'acme',
      slug: 'proj-web',
      author: alice,
      files: { 'README.md': '# proj-web\n', 'src/app.ts': 'export const app = 1;\n' },
    });
    accessToken = sandbox.createAccessToken(
      { workspace: 'acme' },
      ['repository:admin', 'repository:write', 'pullrequest:write', 'webhook'],
      { name: 'clawgate' },
    );
    const registered = await callApi(app.url, 'POST', '/api/v1/workspaces', ADMIN, {
      workspace: 'acme',
      access_token: accessToken.token,
      base_api_url: sandbox.baseUrl,
    });
    expect(registered.status).toBe(201);
    const bearer = `Bearer ${String(registered.json.token)}`;
    const keys = { agent: createTestKey(), gateway: createTestKey(), issuer: createTestKey() };
    const wpc = makeBitbucketWpc({ repos: [REPO], approvalRequired: false });
    const policy = await callApi(app.url, 'POST', '/api/v1/workspaces/acme/policies', bearer, wpc);
    expect(policy.status).toBe(201);
    expect(
      (
        await callApi(app.url, 'PUT', '/api/v1/workspaces/acme/assignments', bearer, [
          { repo: REPO, policy_hash_b64u: policy.json.policy_hash_b64u },
        ])
      ).status,
    ).toBe(200);
    const settings = await callApi(app.url, 'PUT', '/api/v1/workspaces/acme/settings', bearer, {
      mode: 'enforce',
      trusted_gateways: [{ did: keys.gateway.did }],
      cst_issuers: [{ public_key_b64u: keys.issuer.publicKeyB64u }],
      wpc_issuers: [],
      agents: [{ account_uuid: bot.uuid, role: 'write', agent_did: keys.agent.did }],
      frozen: false,
    });
    expect(settings.status).toBe(200);
    ws = { bearer, keys, wpc, botUuid: bot.uuid, aliceUuid: alice.uuid };
  }

  function hooks() {
    return [...sandbox.repository(REPO).hooks.values()];
  }

  /** Replays the body of the last PR delivery, signed with `secret`, under a fresh delivery id. */
  async function deliverSignedWith(secret: string, id: string): Promise<number> {
    const created = [...sandbox.deliveries]
      .reverse()
      .find((delivery) => delivery.kind === 'repository' && delivery.event === 'pullrequest:created');
    if (created === undefined) throw new Error('no pullrequest:created delivery');
    const response = await fetch(`${app.url}/hooks/bitbucket`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-event-key': 'pullrequest:created',
        'x-request-uuid': id,
        'x-attempt-number': '1',
        'x-hub-signature': hubSignature(Buffer.from(created.body), secret),
      },
      body: created.body,
    });
    return response.status;
  }

  async function auditKinds(): Promise<string[]> {
    const workspaceId = (await app.store.tenants.listAll())[0]?.workspaceId;
    if (workspaceId === undefined) throw new Error('no tenant');
    return (await app.store.audit.query(workspaceId)).map((event) => event.kind);
  }

  beforeEach(async () => {
    sandbox = await startSandbox();
    dir = mkdtempSync(path.join(tmpdir(), 'clawgate-e2e-lifecycle-'));
    app = await startTestClawgate(sandbox, {
      databaseUrl: `sqlite:${path.join(dir, 'db.sqlite')}`,
      env: { CLAWGATE_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    await registerAndConfigure();
  });

  afterEach(async () => {
    await app.close();
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('rotate the webhook secret: new hook and secret, the old secret is refused, PRs are still judged; admin only', async () => {
    const [before] = hooks();
    if (before?.secret == null) throw new Error('no hook');
    expect((await callApi(app.url, 'POST', '/api/v1/workspaces/acme/webhook-secret', ws.bearer)).status).toBe(401);

    const rotated = await callApi(app.url, 'POST', '/api/v1/workspaces/acme/webhook-secret', ADMIN);
    expect(rotated.status).toBe(200);
    const after = hooks();
    expect(after).toHaveLength(1);
    expect(after[0]?.uuid).not.toBe(before.uuid);
    expect(after[0]?.secret).toEqual(expect.any(String));
    expect(after[0]?.secret).not.toBe(before.secret);
    expect(rotated.json.hooks).toEqual([{ repository: REPO, uuid: after[0]?.uuid }]);
    expect(rotated.json.stale_hooks).toEqual([]);

    const pr = openAgentPullRequest(sandbox, ws, 'agent/after-rotation', {
      'src/rotated.ts': 'export const rotated = 1;\n',
    });
    expect((await finalStatus(sandbox, pr.head)).state).toBe('SUCCESSFUL');
    expect(await deliverSignedWith(before.secret, '{0f0f0f0f-0000-4000-8000-0000000000a1}')).toBe(401);
    expect(await deliverSignedWith(String(after[0]?.secret), '{0f0f0f0f-0000-4000-8000-0000000000a2}')).toBe(204);
    expect(await auditKinds()).toContain('repo_webhooks.secret_rotated');
  }, 45_000);

  test('re-register with a new access token: hooks recreated, statuses published with the new token; a token of another workspace is refused', async () => {
    const [before] = hooks();
    sandbox.createWorkspace({ slug: 'other', name: 'Other' });
    const foreign = sandbox.createAccessToken({ workspace: 'other' }, [
      'repository:write',
      'pullrequest:write',
      'webhook',
    ]);
    const refused = await callApi(app.url, 'PUT', '/api/v1/workspaces/acme/registration', ADMIN, {
      access_token: foreign.token,
      base_api_url: sandbox.baseUrl,
    });
    expect(refused.status).toBe(422);
    expect(hooks().map((hook) => hook.uuid)).toEqual([before?.uuid]);

    const renewed = sandbox.createAccessToken(
      { workspace: 'acme' },
      ['repository:admin', 'repository:write', 'pullrequest:write', 'webhook'],
      { name: 'clawgate-2027' },
    );
    sandbox.revokeAccessToken(accessToken.id);
    const reregistered = await callApi(app.url, 'PUT', `/api/v1/workspaces/acme/registration`, ADMIN, {
      access_token: renewed.token,
      repositories: ['proj-web'],
      base_api_url: sandbox.baseUrl,
    });
    expect(reregistered.status).toBe(200);
    expect(reregistered.json.token).toBeUndefined();
    expect(hooks()).toHaveLength(1);
    expect(hooks()[0]?.uuid).not.toBe(before?.uuid);

    const pr = openAgentPullRequest(sandbox, ws, 'agent/after-reregister', {
      'src/renewed.ts': 'export const renewed = 1;\n',
    });
    expect((await finalStatus(sandbox, pr.head)).state).toBe('SUCCESSFUL');
    const principals = new Set(
      sandbox.received.statuses.filter((write) => write.commit === pr.head).map((write) => write.principal),
    );
    expect(principals).toEqual(new Set([`token:${renewed.id}`]));
    expect(await auditKinds()).toContain('repo_webhooks.reregistered');
  }, 45_000);

  test('unregister keeping the data: hooks deleted, API tokens revoked, deliveries refused; re-registering brings it back with its policies', async () => {
    const first = openAgentPullRequest(sandbox, ws, 'agent/before-unregister', {
      'src/first.ts': 'export const first = 1;\n',
    });
    expect((await finalStatus(sandbox, first.head)).state).toBe('SUCCESSFUL');
    const [hook] = hooks();
    const unregistered = await callApi(app.url, 'DELETE', '/api/v1/workspaces/acme?data=keep', ADMIN);
    expect(unregistered.status).toBe(200);
    expect(unregistered.json).toMatchObject({
      data: 'keep',
      deleted_hooks: [{ repository: REPO, uuid: hook?.uuid }],
      remaining_hooks: [],
    });
    expect(hooks()).toEqual([]);
    expect((await callApi(app.url, 'GET', '/api/v1/workspaces/acme/policies', ws.bearer)).status).toBe(401);
    expect(await deliverSignedWith(String(hook?.secret), '{0f0f0f0f-0000-4000-8000-0000000000b1}')).toBe(401);
    const tenant = (await app.store.tenants.listAll()).find((row) => row.surface === 'repo_webhooks');
    expect(tenant?.uninstalledAt).not.toBeNull();
    expect(tenant?.accessToken).toBeNull();
    expect(tenant?.sharedSecret).toBeNull();
    expect((await callApi(app.url, 'DELETE', '/api/v1/workspaces/acme', ADMIN)).status).toBe(409);

    const back = await callApi(app.url, 'PUT', '/api/v1/workspaces/acme/registration', ADMIN, {
      access_token: accessToken.token,
      base_api_url: sandbox.baseUrl,
    });
    expect(back.status).toBe(200);
    expect(back.json.token).toMatch(/^cgw_/);
    ws = { ...ws, bearer: `Bearer ${String(back.json.token)}` };
    const policies = await callApi(app.url, 'GET', '/api/v1/workspaces/acme/policies', ws.bearer);
    expect((policies.json.policies as unknown[]).length).toBe(1);
    const pr = openAgentPullRequest(sandbox, ws, 'agent/back-again', { 'src/back.ts': 'export const back = 1;\n' });
    expect((await finalStatus(sandbox, pr.head)).state).toBe('SUCCESSFUL');
    const kinds = await auditKinds();
    expect(kinds).toEqual(expect.arrayContaining(['repo_webhooks.unregistered', 'repo_webhooks.reregistered']));
  }, 45_000);

  test('unregister purging the data: policies, assignments, settings and evaluations are gone, the audit log says so', async () => {
    const pr = openAgentPullRequest(sandbox, ws, 'agent/before-purge', { 'src/purge.ts': 'export const purge = 1;\n' });
    expect((await finalStatus(sandbox, pr.head)).state).toBe('SUCCESSFUL');
    const workspaceId = (await app.store.tenants.listAll())[0]?.workspaceId;
    if (workspaceId === undefined) throw new Error('no tenant');
    await waitFor(
      async () => ((await app.store.evaluations.listForRepository(workspaceId, REPO)).length > 0 ? true : undefined),
      5000,
      'an evaluation',
    );

    const purged = await callApi(app.url, 'DELETE', '/api/v1/workspaces/acme?data=purge', ADMIN);
    expect(purged.status).toBe(200);
    expect(purged.json.purged).toMatchObject({ policies: 1, assignments: 1, settings: 1, api_tokens: 1 });
    expect((purged.json.purged as { evaluations: number }).evaluations).toBeGreaterThan(0);
    expect(await app.store.policies.list(workspaceId, { includeRetired: true })).toEqual([]);
    expect(await app.store.evaluations.listForRepository(workspaceId, REPO)).toEqual([]);
    expect(await auditKinds()).toEqual(expect.arrayContaining(['workspace.data_purged', 'repo_webhooks.unregistered']));
    expect((await callApi(app.url, 'DELETE', '/api/v1/workspaces/acme?data=everything', ADMIN)).status).toBe(422);
    expect((await callApi(app.url, 'DELETE', '/api/v1/workspaces/nobody', ADMIN)).status).toBe(404);
  }, 45_000);
});
