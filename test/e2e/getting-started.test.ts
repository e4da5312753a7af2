import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CliIo } from '../../src/cli/io';
import { runCli } from '../../src/cli/main';
import { startSandbox, type BitbucketSandbox } from '../../src/sandbox';
import type { ClawgateServer } from '../../src/server/create-server';
import { createTestKey } from '../../src/testkit';
import {
  callApi,
  clawgateStatus,
  finalStatus,
  openAgentPullRequest,
  startTestClawgate,
  TEST_SECRET_KEY,
  waitFor,
  type Workspace,
} from './harness';
import { openPage, signIn } from '../webhooks/support/sign-in-world';

/**
 * README "Getting started", step by step, against the sandbox: from an empty workspace (an access
 * token with repository:admin, registration through the admin API, `clawgate wpc init` uploaded
 * and assigned, settings, the merge check created) to the first blocked agent PR, then a compliant
 * one that waits for a human's approval, and a reviewer who signs in with Bitbucket from the status
 * link (step 8). If the guide changes, this test changes with it.
 */

const ADMIN_TOKEN = 'getting-started-admin-0123456789abcdef';
const REPO = 'acme/proj-web';

let sandbox: BitbucketSandbox;
let app: ClawgateServer;
let dir: string;

beforeEach(async () => {
  sandbox = await startSandbox();
  dir = mkdtempSync(path.join(tmpdir(), 'clawgate-guide-'));
  // Step 1: clawgate runs with an admin token (startTestClawgate: loopback, sandbox allowed).
  app = await startTestClawgate(sandbox, {
    databaseUrl: `sqlite:${path.join(dir, 'db.sqlite')}`,
    env: {
      CLAWGATE_ADMIN_TOKEN: ADMIN_TOKEN,
      CLAWGATE_OAUTH_AUTHORIZE_URL: `${sandbox.baseUrl}/site/oauth2/authorize`,
      CLAWGATE_OAUTH_TOKEN_URL: `${sandbox.baseUrl}/site/oauth2/access_token`,
    },
  });
});

afterEach(async () => {
  await app.close();
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
});

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return cliWith({}, ...argv);
}

/** The CLI with the server's own configuration (DATABASE_URL, key, base URL), as an operator runs it beside the service. */
async function cliWith(
  env: Record<string, string>,
  ...argv: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    now: () => Date.now(),
    env,
  };
  return { code: await runCli(argv, io), stdout, stderr };
}

test('README getting started: empty workspace → registered → policy → merge check → the first agent PR is blocked', async () => {
  // The empty workspace: one repository with a pipeline, a human, the agent's account.
  sandbox.createWorkspace({ slug: 'acme', name: 'ACME' });
  const alice = sandbox.createUser({ nickname: 'alice', displayName: 'Alice' });
  const bot = sandbox.createUser({ nickname: 'claw-bot', displayName: 'Claw Bot' });
  sandbox.createRepository({
    workspace: 'acme',
    slug: 'proj-web',
    author: alice,
    files: {
      'README.md': '# proj-web\n',
      'bitbucket-pipelines.yml': 'pipelines: {}\n',
      'src/app.ts': 'export const app = 1;\n',
    },
  });

  // Step 2: a workspace access token with the four scopes the guide lists.
  const accessToken = sandbox.createAccessToken(
    { workspace: 'acme' },
    ['repository:write', 'pullrequest:write', 'webhook', 'repository:admin'],
    { name: 'clawgate' },
  );

  // Step 3: register through the admin API; the answer holds the first API token.
  const registered = await callApi(app.url, 'POST', '/api/v1/workspaces', `Bearer ${ADMIN_TOKEN}`, {
    workspace: 'acme',
    access_token: accessToken.token,
    repositories: ['proj-web'],
    base_api_url: sandbox.baseUrl,
  });
  expect(registered.status).toBe(201);
  expect(sandbox.repository(REPO).hooks.size).toBe(1);
  const bearer = `Bearer ${String(registered.json.token)}`;

  // Step 4: clawgate wpc init + check, upload the file as written, assign it.
  const wpcFile = path.join(dir, 'wpc.json');
  expect((await cli('wpc', 'init', '--repo', REPO, '--out', wpcFile)).code).toBe(0);
  const check = await cli('wpc', 'check', wpcFile, '--strict');
  expect(check.code).toBe(0);
  const wpc = JSON.parse(readFileSync(wpcFile, 'utf8')) as Record<string, unknown>;
  const policy = await callApi(app.url, 'POST', '/api/v1/workspaces/acme/policies', bearer, wpc);
  expect(policy.status).toBe(201);
  expect(policy.json.policy_hash_b64u).toBe((await cli('wpc', 'hash', wpcFile)).stdout.trim());
  expect(
    (
      await callApi(app.url, 'PUT', '/api/v1/workspaces/acme/assignments', bearer, [
        { repo: REPO, policy_hash_b64u: policy.json.policy_hash_b64u },
      ])
    ).status,
  ).toBe(200);

  // Step 5: agents, trusted gateway and CST issuer, enforce mode.
  const keys = { agent: createTestKey(), gateway: createTestKey(), issuer: createTestKey() };
  const settings = await callApi(app.url, 'PUT', '/api/v1/workspaces/acme/settings', bearer, {
    mode: 'enforce',
    trusted_gateways: [{ did: keys.gateway.did }],
    cst_issuers: [{ public_key_b64u: keys.issuer.publicKeyB64u }],
    wpc_issuers: [],
    agents: [{ account_uuid: bot.uuid, role: 'write', agent_did: keys.agent.did }],
    frozen: false,
  });
  expect(settings.status).toBe(200);

  // Step 6: the merge check (needs repository:admin); on Free/Standard it only warns…
  const created = await callApi(app.url, 'POST', '/api/v1/workspaces/acme/repositories/proj-web/merge-checks', bearer, {
    branch: 'main',
  });
  expect(created.status).toBe(201);
  expect(sandbox.getBranchRestrictions(REPO)).toContainEqual(
    expect.objectContaining({ kind: 'require_passing_builds_to_merge', pattern: 'main', value: 1 }),
  );
  const warning = await callApi(
    app.url,
    'GET',
    '/api/v1/workspaces/acme/repositories/proj-web/merge-checks?branch=main',
    bearer,
  );
  expect(warning.json).toMatchObject({ readable: true, blocking: 'warning_only' });
  // …and on Premium the admin also ticks "Prevent a merge with unresolved merge checks".
  const enforce = await fetch(`${sandbox.baseUrl}/2.0/repositories/acme/proj-web/branch-restrictions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'enforce_merge_checks', branch_match_kind: 'glob', pattern: 'main' }),
  });
  expect(enforce.status).toBe(201);
  const enforced = await callApi(
    app.url,
    'GET',
    `/api/v1/workspaces/acme/repositories/${encodeURIComponent(REPO)}/merge-checks?branch=main`,
    bearer,
  );
  expect(enforced.json).toMatchObject({ readable: true, blocking: 'enforced_if_premium' });

  // Step 7: the agent edits the pipeline: FAILED, naming the file, with a report annotation.
  const ws: Workspace = { bearer, keys, wpc, botUuid: bot.uuid, aliceUuid: alice.uuid };
  const blocked = openAgentPullRequest(sandbox, ws, 'agent/ci-tweak', {
    'bitbucket-pipelines.yml': 'pipelines: { default: [] }\n',
  });
  const status = await finalStatus(sandbox, blocked.head);
  expect(status.state).toBe('FAILED');
  expect(JSON.stringify(sandbox.getReports(REPO, blocked.head))).toContain('FAILED');
  const report = sandbox
    .getReports(REPO, blocked.head)
    .find((candidate) => candidate.external_id === 'clawgate-policy');
  expect(JSON.stringify(sandbox.getAnnotations(REPO, blocked.head, 'clawgate-policy'))).toContain(
    'bitbucket-pipelines.yml',
  );
  expect(report).toBeDefined();
  expect(String(status.url)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
  const listed = await callApi(
    app.url,
    'GET',
    `/api/v1/workspaces/acme/evaluations?repo=proj-web&pr=${blocked.prId}`,
    bearer,
  );
  expect((listed.json.evaluations as { state: string }[])[0]?.state).toBe('FAIL');

  // A compliant agent PR waits (INPROGRESS blocks a merge under the check) until Alice approves.
  const compliant = openAgentPullRequest(sandbox, ws, 'agent/feature', {
    'src/feature.ts': 'export const feature = 1;\n',
  });
  await waitFor(
    () => (clawgateStatus(sandbox, compliant.head)?.state === 'INPROGRESS' ? true : undefined),
    10_000,
    'the pending status',
  );
  await waitFor(
    async () => {
      const evaluations = await callApi(
        app.url,
        'GET',
        `/api/v1/workspaces/acme/evaluations?repo=${REPO}&pr=${compliant.prId}`,
        bearer,
      );
      return (evaluations.json.evaluations as { state: string }[])[0]?.state === 'PENDING' ? true : undefined;
    },
    10_000,
    'a PENDING evaluation',
  );
  sandbox.approve(REPO, compliant.prId, alice);
  expect((await finalStatus(sandbox, compliant.head)).state).toBe('SUCCESSFUL');

  // Step 8: Sign in with Bitbucket. The OAuth consumer (callback URL, Account: Read + Repositories:
  // Read) is registered with the CLI; a reviewer follows the status link, signs in and reads the verdict.
  const consumer = sandbox.createOAuthConsumer('acme', {
    callbackUrl: `${app.url}/signin/bitbucket/callback`,
    scopes: ['account', 'repository'],
  });
  const secretFile = path.join(dir, 'consumer-secret.txt');
  writeFileSync(secretFile, consumer.secret);
  const operatorEnv = {
    DATABASE_URL: `sqlite:${path.join(dir, 'db.sqlite')}`,
    CLAWGATE_SECRET_KEY: TEST_SECRET_KEY,
    APP_BASE_URL: app.url,
    CLAWGATE_ALLOWED_HOSTS: new URL(sandbox.baseUrl).host,
  };
  const consumerSet = await cliWith(
    operatorEnv,
    'workspace',
    'oauth-consumer',
    '--workspace',
    'acme',
    '--key',
    consumer.key,
    '--secret-file',
    secretFile,
  );
  expect(consumerSet).toMatchObject({ code: 0 });
  expect(consumerSet.stdout).toContain(`${app.url}/signin/bitbucket/callback`);
  const statusLink = new URL(String(status.url));
  const reviewer = await signIn({ app, sandbox }, 'alice', `${statusLink.pathname}${statusLink.search}`);
  expect(reviewer.location).toBe(`${app.url}${statusLink.pathname}`);
  const detailsPage = await openPage({ app, sandbox }, statusLink.pathname, reviewer.session);
  expect(detailsPage.status).toBe(200);
  const evaluationId = statusLink.pathname.split('/').pop() ?? '';
  const seen = await callApi(
    app.url,
    'GET',
    `/api/v1/workspaces/acme/evaluations/${evaluationId}`,
    `JWT ${detailsPage.token}`,
  );
  expect(seen.status).toBe(200);
  expect(seen.json).toMatchObject({ state: 'FAIL' });
}, 60_000);
