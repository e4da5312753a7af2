import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSandbox, type BitbucketSandbox } from '../../src/sandbox';
import type { ClawgateServer } from '../../src/server/create-server';
import { createTestKey, makeBitbucketWpc } from '../../src/testkit';
import { hubSignature } from '../../src/webhooks';
import { callApi, finalStatus, openAgentPullRequest, startTestClawgate, waitFor, type Workspace } from './harness';

/**
 * The repository-webhook surface end to end, with no Connect installation anywhere: an admin
 * registers the workspace with a Bitbucket access token through the admin API, configures it with
 * the API token that registration answered, and an agent PR gets its verdict, published with the
 * access token. Forged deliveries and a wrong admin token change nothing.
 */

const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';

describe('e2e: repository webhooks + access token (no Connect)', () => {
  let sandbox: BitbucketSandbox;
  let app: ClawgateServer;
  let dir: string;

  beforeEach(async () => {
    sandbox = await startSandbox();
    dir = mkdtempSync(path.join(tmpdir(), 'clawgate-e2e-hooks-'));
    app = await startTestClawgate(sandbox, {
      databaseUrl: `sqlite:${path.join(dir, 'db.sqlite')}`,
      env: { CLAWGATE_ADMIN_TOKEN: ADMIN_TOKEN },
    });
  });

  afterEach(async () => {
    await app.close();
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('register with an access token, configure with the returned API token, the agent PR gets its verdict', async () => {
    sandbox.createWorkspace({ slug: 'acme', name: 'ACME' });
    const alice = sandbox.createUser({ nickname: 'alice', displayName: 'Alice' });
    const bot = sandbox.createUser({ nickname: 'claw-bot', displayName: 'Claw Bot' });
    sandbox.createRepository({
      workspace: 'acme',
      slug: 'proj-web',
      author: alice,
      files: { 'README.md': '# proj-web\n', 'src/app.ts': 'export const app = 1;\n' },
    });
    const accessToken = sandbox.createAccessToken(
      { workspace: 'acme' },
      ['repository:write', 'pullrequest:write', 'webhook'],
      { name: 'clawgate' },
    );

    // A wrong admin token first: 401, nothing stored, no hook in Bitbucket.
    const refused = await callApi(app.url, 'POST', '/api/v1/workspaces', 'Bearer not-the-admin-token-at-all-000000', {
      workspace: 'acme',
      access_token: accessToken.token,
      repositories: ['proj-web'],
      base_api_url: sandbox.baseUrl,
    });
    expect(refused.status).toBe(401);
    expect(await app.store.tenants.listAll()).toEqual([]);
    expect(sandbox.repository('acme/proj-web').hooks.size).toBe(0);

    const registered = await callApi(app.url, 'POST', '/api/v1/workspaces', `Bearer ${ADMIN_TOKEN}`, {
      workspace: 'acme',
      access_token: accessToken.token,
      repositories: ['proj-web'],
      base_api_url: sandbox.baseUrl,
    });
    expect(registered.status).toBe(201);
    const hooks = [...sandbox.repository('acme/proj-web').hooks.values()];
    expect(hooks).toHaveLength(1);
    expect(hooks[0]?.url).toBe(`${app.url}/hooks/bitbucket/w/${sandbox.workspace('acme').uuid.slice(1, -1)}`);
    expect(hooks[0]?.secret).toEqual(expect.any(String));
    expect(sandbox.listInstallations()).toEqual([]);

    // Configure through the JSON API with the token the registration answered (shown once).
    const bearer = `Bearer ${String(registered.json.token)}`;
    const keys = { agent: createTestKey(), gateway: createTestKey(), issuer: createTestKey() };
    const wpc = makeBitbucketWpc({
      repos: ['acme/proj-web'],
      allowedProviders: ['anthropic'],
      allowedModels: ['claude-*'],
      approvalRequired: false,
    });
    const policy = await callApi(app.url, 'POST', '/api/v1/workspaces/acme/policies', bearer, wpc);
    expect(policy.status).toBe(201);
    expect(
      (
        await callApi(app.url, 'PUT', '/api/v1/workspaces/acme/assignments', bearer, [
          { repo: 'acme/proj-web', policy_hash_b64u: policy.json.policy_hash_b64u },
        ])
      ).status,
    ).toBeLessThan(300);
    const settings = await callApi(app.url, 'PUT', '/api/v1/workspaces/acme/settings', bearer, {
      mode: 'enforce',
      trusted_gateways: [{ did: keys.gateway.did }],
      cst_issuers: [{ public_key_b64u: keys.issuer.publicKeyB64u }],
      wpc_issuers: [],
      agents: [{ account_uuid: bot.uuid, role: 'write', agent_did: keys.agent.did }],
      frozen: false,
    });
    expect(settings.status).toBeLessThan(300);
    const ws: Workspace = { bearer, keys, wpc, botUuid: bot.uuid, aliceUuid: alice.uuid };

    const pr = openAgentPullRequest(sandbox, ws, 'agent/hooked', { 'src/hooked.ts': 'export const hooked = 1;\n' });
    const status = await finalStatus(sandbox, pr.head);
    expect(status.state).toBe('SUCCESSFUL');
    // Published with the access token (the sandbox names the principal), never with anything else.
    const statusWrites = sandbox.received.statuses.filter((write) => write.commit === pr.head);
    expect(statusWrites.length).toBeGreaterThan(0);
    expect(new Set(statusWrites.map((write) => write.principal))).toEqual(new Set([`token:${accessToken.id}`]));
    expect(sandbox.received.authFailures).toEqual([]);
    // Every repository-hook delivery was signed and accepted.
    const created = sandbox.deliveries.find(
      (delivery) => delivery.kind === 'repository' && delivery.event === 'pullrequest:created',
    );
    expect(created?.headers['X-Hub-Signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    await waitFor(() => (created?.outcome === 'delivered' ? true : undefined), 5000, 'the PR delivery');
    expect(created?.finalStatus).toBe(204);

    // A forged delivery (same body, another secret, fresh delivery id): 401 and no job.
    if (created === undefined) throw new Error('no pullrequest:created delivery');
    const jobsBefore = (await app.store.jobs.list()).length;
    const forged = await fetch(`${app.url}/hooks/bitbucket`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-event-key': 'pullrequest:created',
        'x-request-uuid': '{0f0f0f0f-0000-4000-8000-000000000001}',
        'x-attempt-number': '1',
        'x-hub-signature': hubSignature(Buffer.from(created.body), 'guessed-secret'),
      },
      body: created.body,
    });
    expect(forged.status).toBe(401);
    const unsigned = await fetch(`${app.url}/hooks/bitbucket`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-event-key': 'pullrequest:created',
        'x-request-uuid': '{0f0f0f0f-0000-4000-8000-000000000002}',
        'x-attempt-number': '1',
      },
      body: created.body,
    });
    expect(unsigned.status).toBe(401);
    expect((await app.store.jobs.list()).length).toBe(jobsBefore);
  }, 30_000);
});
