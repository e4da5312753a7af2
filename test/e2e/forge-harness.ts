import type { ClawgateServer } from '../../src/server/create-server';
import { SandboxForge, type BitbucketSandbox, type ForgeInstallation } from '../../src/sandbox';
import { createTestKey, makeBitbucketWpc } from '../../src/testkit';
import { startTestClawgate, type Workspace } from './harness';

/** clawgate with the Forge front door on, trusting the sandbox Forge's JWKS and app id. */
export async function startForgeClawgate(
  sandbox: BitbucketSandbox,
  forge: SandboxForge,
  options: { databaseUrl?: string; env?: Record<string, string>; workers?: boolean } = {},
): Promise<ClawgateServer> {
  return startTestClawgate(sandbox, {
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
    env: { CLAWGATE_FORGE_APP_ID: forge.appId, CLAWGATE_FORGE_JWKS_URL: forge.jwksUrl, ...options.env },
  });
}

/** A page's `invokeRemote` as `accountId`, answering like the bridge: `{status, body}`. */
export async function uiCall(
  forge: SandboxForge,
  accountId: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const result = await forge.invokeRemote({
    workspace: 'acme',
    accountId,
    method,
    path: `/forge/ui/api/v1${path}`,
    ...(body === undefined ? {} : { body }),
  });
  return { status: result.status, body: (result.body ?? {}) as Record<string, unknown> };
}

/**
 * acme/proj-web with a human admin (alice) and an agent (claw-bot), the Forge app installed (no
 * Connect), and the workspace configured through the Forge pages' API by alice: a token, a WPC, its
 * assignment, trusted keys and the agent identity.
 */
export async function prepareForgeWorkspace(
  sandbox: BitbucketSandbox,
  forge: SandboxForge,
  clawgateUrl: string,
  options: { mode?: 'observe' | 'warn' | 'enforce' } = {},
): Promise<Workspace & { installation: ForgeInstallation; aliceAccountId: string }> {
  sandbox.createWorkspace({ slug: 'acme', name: 'ACME' });
  const alice = sandbox.createUser({ nickname: 'alice', displayName: 'Alice' });
  const bot = sandbox.createUser({ nickname: 'claw-bot', displayName: 'Claw Bot' });
  sandbox.setWorkspacePermission('acme', alice, 'owner');
  sandbox.createRepository({
    workspace: 'acme',
    slug: 'proj-web',
    author: alice,
    files: { 'README.md': '# proj-web\n', 'src/app.ts': 'export const app = 1;\n' },
  });
  const installation = await forge.install({ workspace: 'acme', remoteBaseUrl: clawgateUrl });
  const token = await uiCall(forge, alice.accountId, 'POST', '/workspaces/acme/tokens', {});
  if (token.status !== 201) throw new Error(`token: ${token.status} ${JSON.stringify(token.body)}`);
  const keys = { agent: createTestKey(), gateway: createTestKey(), issuer: createTestKey() };
  const wpc = makeBitbucketWpc({
    repos: ['acme/proj-web'],
    allowedProviders: ['anthropic'],
    allowedModels: ['claude-*'],
  });
  const policy = await uiCall(forge, alice.accountId, 'POST', '/workspaces/acme/policies', wpc);
  if (policy.status !== 201) throw new Error(`policy: ${policy.status} ${JSON.stringify(policy.body)}`);
  const assignment = await uiCall(forge, alice.accountId, 'PUT', '/workspaces/acme/assignments', [
    { repo: 'acme/proj-web', policy_hash_b64u: policy.body.policy_hash_b64u },
  ]);
  if (assignment.status >= 400) throw new Error(`assignments: ${assignment.status} ${JSON.stringify(assignment.body)}`);
  const settings = await uiCall(forge, alice.accountId, 'PUT', '/workspaces/acme/settings', {
    mode: options.mode ?? 'enforce',
    trusted_gateways: [{ did: keys.gateway.did }],
    cst_issuers: [{ public_key_b64u: keys.issuer.publicKeyB64u }],
    wpc_issuers: [],
    agents: [{ account_uuid: bot.uuid, role: 'write', agent_did: keys.agent.did }],
    frozen: false,
  });
  if (settings.status >= 400) throw new Error(`settings: ${settings.status} ${JSON.stringify(settings.body)}`);
  return {
    bearer: `Bearer ${String(token.body.token)}`,
    keys,
    wpc,
    botUuid: bot.uuid,
    aliceUuid: alice.uuid,
    installation,
    aliceAccountId: alice.accountId,
  };
}
