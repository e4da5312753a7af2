import pino from 'pino';
import { loadAppConfig } from '../../src/config/app-config';
import { freePort } from '../../src/server/free-port';
import { startClawgate, type ClawgateServer } from '../../src/server/create-server';
import { createTestKey, makeBitbucketWpc, makeScenario, type TestKey } from '../../src/testkit';
import type { JsonObject } from '../../src/core/clawsig/json';
import type { BitbucketSandbox } from '../../src/sandbox';
import type { Tenant } from '../../src/store';

/** The secret key every test server uses (tests that restart a server need the same one). */
export const TEST_SECRET_KEY = Buffer.alloc(32, 9).toString('hex');

/** Signs a page-context Connect JWT as Bitbucket would for the app's own page (iss = clientKey). */
export function pageJwt(sandbox: BitbucketSandbox, clientKey: string, method: string, pathWithQuery: string): string {
  return sandbox.createPageJwt({ clientKey, method, url: pathWithQuery });
}

export async function callApi(
  base: string,
  method: string,
  pathWithQuery: string,
  authorization: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${base}${pathWithQuery}`, {
    method,
    headers: { authorization, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

export async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface Workspace {
  bearer: string;
  keys: { agent: TestKey; gateway: TestKey; issuer: TestKey };
  wpc: JsonObject;
  botUuid: string;
  aliceUuid: string;
}

/** Creates acme/proj-web with a human and an agent account, installs clawgate, registers a WPC and keys. */
export async function prepareWorkspace(
  sandbox: BitbucketSandbox,
  clawgateUrl: string,
  options: { mode?: 'observe' | 'warn' | 'enforce'; approvalRequired?: boolean } = {},
): Promise<Workspace> {
  sandbox.createWorkspace({ slug: 'acme', name: 'ACME' });
  const alice = sandbox.createUser({ nickname: 'alice', displayName: 'Alice' });
  const bot = sandbox.createUser({ nickname: 'claw-bot', displayName: 'Claw Bot' });
  sandbox.createRepository({
    workspace: 'acme',
    slug: 'proj-web',
    author: alice,
    files: { 'README.md': '# proj-web\n', 'src/app.ts': 'export const app = 1;\n' },
  });
  const installation = await sandbox.installApp({
    descriptorUrl: `${clawgateUrl}/atlassian-connect.json`,
    workspace: 'acme',
  });
  const tokenPath = '/api/v1/workspaces/acme/tokens';
  const token = await callApi(
    clawgateUrl,
    'POST',
    tokenPath,
    `JWT ${pageJwt(sandbox, installation.clientKey, 'POST', tokenPath)}`,
    {},
  );
  if (token.status !== 201) throw new Error(`token: ${token.status} ${JSON.stringify(token.json)}`);
  const bearer = `Bearer ${String(token.json.token)}`;
  const keys = { agent: createTestKey(), gateway: createTestKey(), issuer: createTestKey() };
  const wpc = makeBitbucketWpc({
    repos: ['acme/proj-web'],
    allowedProviders: ['anthropic'],
    allowedModels: ['claude-*'],
    approvalRequired: options.approvalRequired ?? false,
  });
  const policy = await callApi(clawgateUrl, 'POST', '/api/v1/workspaces/acme/policies', bearer, wpc);
  await callApi(clawgateUrl, 'PUT', '/api/v1/workspaces/acme/assignments', bearer, [
    { repo: 'acme/proj-web', policy_hash_b64u: policy.json.policy_hash_b64u },
  ]);
  const settings = await callApi(clawgateUrl, 'PUT', '/api/v1/workspaces/acme/settings', bearer, {
    mode: options.mode ?? 'enforce',
    trusted_gateways: [{ did: keys.gateway.did }],
    cst_issuers: [{ public_key_b64u: keys.issuer.publicKeyB64u }],
    wpc_issuers: [],
    agents: [{ account_uuid: bot.uuid, role: 'write', agent_did: keys.agent.did }],
    frozen: false,
  });
  if (settings.status >= 400) throw new Error(`settings: ${settings.status} ${JSON.stringify(settings.json)}`);
  return { bearer, keys, wpc, botUuid: bot.uuid, aliceUuid: alice.uuid };
}

/** Commits agent work plus its bundle on a branch and opens the PR; returns the PR id and head. */
export function openAgentPullRequest(
  sandbox: BitbucketSandbox,
  ws: Workspace,
  branch: string,
  files: Record<string, string>,
  scenario: Partial<Parameters<typeof makeScenario>[0]> = {},
  /** The bundle file's bytes made from the envelope's JSON text (default: that text, UTF-8). */
  bundleBytes: (envelopeText: string) => string | Uint8Array = (text) => text,
): { prId: number; head: string; work: string; bundleId: string } {
  const work = sandbox.commit('acme/proj-web', { branch, author: 'claw-bot', message: 'agent work', files });
  const s = makeScenario({
    workspace: 'acme',
    repoSlug: 'proj-web',
    commit: work.hash,
    wpc: ws.wpc,
    startMs: Date.now() - 60_000,
    ...ws.keys,
    ...scenario,
  });
  const withBundle = sandbox.commit('acme/proj-web', {
    branch,
    author: 'claw-bot',
    message: 'proof bundle',
    files: { '.clawsig/proof_bundle.json': bundleBytes(JSON.stringify(s.bundle.envelope)) },
  });
  const pr = sandbox.openPullRequest('acme/proj-web', {
    source: branch,
    author: 'claw-bot',
    title: branch,
    description: `Proof-Bundle: ${s.bundle.bundleId}`,
  });
  return { prId: pr.id, head: withBundle.hash, work: work.hash, bundleId: s.bundle.bundleId };
}

export function clawgateStatus(sandbox: BitbucketSandbox, head: string): Record<string, unknown> | undefined {
  return sandbox.getStatuses('acme/proj-web', head).find((s) => s.key === 'clawgate');
}

export async function finalStatus(
  sandbox: BitbucketSandbox,
  head: string,
  timeoutMs = 20_000,
): Promise<Record<string, unknown>> {
  return waitFor(
    () => {
      const status = clawgateStatus(sandbox, head);
      return status && status.state !== 'INPROGRESS' ? status : undefined;
    },
    timeoutMs,
    `a final clawgate status on ${head.slice(0, 12)}`,
  );
}

/**
 * clawgate on a free loopback port, allowed to call the sandbox only, with a test secret key.
 * `databaseUrl` defaults to a private in-memory SQLite database.
 */
export async function startTestClawgate(
  sandbox: BitbucketSandbox,
  options: {
    databaseUrl?: string;
    env?: Record<string, string>;
    workers?: boolean;
    pollIntervalMs?: number;
    /** The API budget's clock (a test lets an hour pass without waiting for it). */
    apiBudgetNow?: () => number;
  } = {},
): Promise<ClawgateServer> {
  const port = await freePort();
  const env = options.env ?? {};
  const config = loadAppConfig({
    PORT: String(port),
    APP_BASE_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: options.databaseUrl ?? 'sqlite::memory:',
    CLAWGATE_SECRET_KEY: TEST_SECRET_KEY,
    CLAWGATE_ALLOWED_HOSTS: new URL(sandbox.baseUrl).host,
    ...env,
  });
  return startClawgate({
    config,
    port,
    logger: pino({ level: 'silent' }),
    pollIntervalMs: options.pollIntervalMs ?? 50,
    env,
    workers: options.workers ?? true,
    ...(options.apiBudgetNow ? { apiBudgetNow: options.apiBudgetNow } : {}),
  });
}

/** The one tenant a test installed. */
export async function tenantOf(app: ClawgateServer): Promise<Tenant> {
  const tenant = (await app.store.tenants.listAll())[0];
  if (tenant === undefined) throw new Error('no tenant');
  return tenant;
}

/** Requests under /2.0/repositories/* (the bucket Bitbucket limits per installation) the sandbox answered since `from`. */
export function repositoryCalls(
  sandbox: BitbucketSandbox,
  from: number,
): { method: string; path: string; at: number; status: number }[] {
  return sandbox.received.requests.slice(from).filter((r) => r.path.startsWith('/2.0/repositories/'));
}
