import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { branchPatternMatches } from '../../src/api/routes/merge-check-routes';
import { startSandbox, type BitbucketSandbox } from '../../src/sandbox';
import type { ClawgateServer } from '../../src/server/create-server';
import { callApi, pageJwt, prepareWorkspace, startTestClawgate, type Workspace } from '../e2e/harness';

/**
 * The settings page's blocking checklist: `GET|POST /workspaces/{ws}/repositories/{repo}/merge-checks`
 * against the sandbox. A repository-webhook workspace whose access token has `repository:admin`
 * reads and creates branch restrictions; a Connect workspace (its descriptor does not ask for
 * `repository:admin`) is told plainly that Bitbucket will not show them.
 */

const ADMIN_TOKEN = 'merge-check-admin-token-0123456789';

let sandbox: BitbucketSandbox;
let app: ClawgateServer;
let dir: string;
let acme: Workspace;
let globexBearer: string;
let globexTokenPrincipal: string;

beforeAll(async () => {
  sandbox = await startSandbox();
  dir = mkdtempSync(path.join(tmpdir(), 'clawgate-merge-checks-'));
  app = await startTestClawgate(sandbox, {
    databaseUrl: `sqlite:${path.join(dir, 'db.sqlite')}`,
    env: { CLAWGATE_ADMIN_TOKEN: ADMIN_TOKEN },
    workers: false,
  });
  acme = await prepareWorkspace(sandbox, app.url);

  sandbox.createWorkspace({ slug: 'globex', name: 'Globex' });
  const owner = sandbox.createUser({ nickname: 'gina', displayName: 'Gina' });
  sandbox.createRepository({ workspace: 'globex', slug: 'api', author: owner, files: { 'README.md': '# api\n' } });
  const accessToken = sandbox.createAccessToken(
    { workspace: 'globex' },
    ['repository:admin', 'repository:write', 'pullrequest:write', 'webhook'],
    { name: 'clawgate' },
  );
  globexTokenPrincipal = `token:${accessToken.id}`;
  const registered = await callApi(app.url, 'POST', '/api/v1/workspaces', `Bearer ${ADMIN_TOKEN}`, {
    workspace: 'globex',
    access_token: accessToken.token,
    repositories: ['api'],
    base_api_url: sandbox.baseUrl,
  });
  if (registered.status !== 201)
    throw new Error(`registration: ${registered.status} ${JSON.stringify(registered.json)}`);
  globexBearer = `Bearer ${String(registered.json.token)}`;
}, 30_000);

afterAll(async () => {
  await app?.close();
  await sandbox?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const checks = (ws: string, repo: string, query = ''): string =>
  `/api/v1/workspaces/${ws}/repositories/${repo}/merge-checks${query}`;

describe('merge checks with repository:admin (access token)', () => {
  it('reads the main branch’s restrictions, creates require_passing_builds_to_merge once, audits it', async () => {
    const before = await callApi(app.url, 'GET', checks('globex', 'api'), globexBearer);
    expect(before.status).toBe(200);
    expect(before.json).toMatchObject({
      repository: 'globex/api',
      branch: 'main',
      readable: true,
      require_passing_builds: { present: false, restrictions: [] },
      enforce_merge_checks: { present: false },
      blocking: 'not_checked',
    });

    const created = await callApi(app.url, 'POST', checks('globex', 'api'), globexBearer, {});
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      created: true,
      repository: 'globex/api',
      branch: 'main',
      restriction: { kind: 'require_passing_builds_to_merge', pattern: 'main', value: 1 },
    });
    const inBitbucket = sandbox.getBranchRestrictions('globex/api');
    expect(inBitbucket).toEqual([
      expect.objectContaining({ kind: 'require_passing_builds_to_merge', pattern: 'main', value: 1 }),
    ]);
    expect(sandbox.received.branchRestrictions.at(-1)?.principal).toBe(globexTokenPrincipal);

    const again = await callApi(app.url, 'POST', checks('globex', 'api'), globexBearer, {});
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ created: false, branch: 'main' });
    expect(sandbox.getBranchRestrictions('globex/api')).toHaveLength(1);

    const after = await callApi(app.url, 'GET', checks('globex', 'api'), globexBearer);
    expect(after.json).toMatchObject({
      readable: true,
      require_passing_builds: { present: true },
      enforce_merge_checks: { present: false },
      blocking: 'warning_only',
    });

    const workspaceId = (await app.store.tenants.resolveWorkspace('globex'))?.workspaceId ?? '';
    const events = await app.store.audit.query(workspaceId, { kinds: ['merge_check.created'] });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      subject: 'globex/api:main',
      repo: 'globex/api',
      after: { kind: 'require_passing_builds_to_merge', pattern: 'main', value: 1 },
    });
  });

  it('counts only restrictions whose glob covers the branch; enforce_merge_checks makes it blocking on Premium', async () => {
    const token = sandbox.createAccessToken({ workspace: 'globex' }, ['repository:admin'], { name: 'setup' }).token;
    const post = (body: unknown) =>
      fetch(`${sandbox.baseUrl}/2.0/repositories/globex/api/branch-restrictions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect(
      (
        await post({
          kind: 'require_passing_builds_to_merge',
          branch_match_kind: 'glob',
          pattern: 'release/*',
          value: 2,
        })
      ).status,
    ).toBe(201);
    expect((await post({ kind: 'enforce_merge_checks', branch_match_kind: 'glob', pattern: '*' })).status).toBe(201);

    const release = await callApi(app.url, 'GET', checks('globex', 'api', '?branch=release/2.0'), globexBearer);
    expect(release.json).toMatchObject({
      branch: 'release/2.0',
      require_passing_builds: { present: true, restrictions: [{ pattern: 'release/*', value: 2 }] },
      blocking: 'enforced_if_premium',
    });
    const feature = await callApi(app.url, 'GET', checks('globex', 'api', '?branch=feature/x'), globexBearer);
    expect(feature.json).toMatchObject({
      require_passing_builds: { present: false, restrictions: [] },
      enforce_merge_checks: { present: true },
      blocking: 'not_checked',
    });
  });

  it('refuses bad input with field paths and answers 404 for a repository Bitbucket does not have', async () => {
    const badSlug = await callApi(app.url, 'GET', checks('globex', encodeURIComponent('a b')), globexBearer);
    expect(badSlug.status).toBe(400);
    expect(badSlug.json).toMatchObject({ error: { code: 'INVALID_PATH', fields: [{ path: 'repo' }] } });
    const badBranch = await callApi(
      app.url,
      'GET',
      checks('globex', 'api', `?branch=${encodeURIComponent('has space')}`),
      globexBearer,
    );
    expect(badBranch.status).toBe(400);
    const badBody = await callApi(app.url, 'POST', checks('globex', 'api'), globexBearer, {
      min_passing_builds: 0,
      extra: true,
    });
    expect(badBody.status).toBe(422);
    expect((badBody.json.error as { fields: { path: string }[] }).fields.map((field) => field.path).sort()).toEqual([
      'extra',
      'min_passing_builds',
    ]);
    const missing = await callApi(app.url, 'GET', checks('globex', 'nope'), globexBearer);
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ error: { code: 'REPOSITORY_NOT_FOUND' } });
  });

  it('one workspace’s credential cannot look into another’s repositories', async () => {
    expect((await callApi(app.url, 'GET', checks('globex', 'api'), acme.bearer)).status).toBe(403);
  });
});

describe('merge checks under Connect scopes (no repository:admin)', () => {
  it('reading says plainly that Bitbucket refused, with what to check by hand; creating is refused with the reason', async () => {
    const read = await callApi(app.url, 'GET', checks('acme', 'proj-web'), acme.bearer);
    expect(read.status).toBe(200);
    expect(read.json).toMatchObject({
      repository: 'acme/proj-web',
      branch: 'main',
      readable: false,
      problem: { code: 'BITBUCKET_ACCESS_DENIED' },
    });
    expect(String((read.json.problem as { message: string }).message)).toContain('repository:admin');

    const installation = sandbox.listInstallations()[0];
    if (installation === undefined) throw new Error('no installation');
    const path = checks('acme', 'proj-web');
    const create = await callApi(
      app.url,
      'POST',
      path,
      `JWT ${pageJwt(sandbox, installation.clientKey, 'POST', path)}`,
      {},
    );
    expect(create.status).toBe(502);
    expect(create.json).toMatchObject({ error: { code: 'BITBUCKET_REFUSED' } });
    expect(sandbox.getBranchRestrictions('acme/proj-web')).toEqual([]);
  });
});

describe('branchPatternMatches (Bitbucket globs: * matches anything, / included)', () => {
  it.each<[string, string, boolean]>([
    ['main', 'main', true],
    ['main', 'main2', false],
    ['*', 'feature/deep/x', true],
    ['release/*', 'release/2.0', true],
    ['release/*', 'release', false],
    ['rel.ase', 'release', false],
    ['a+b', 'a+b', true],
    ['(x)', '(x)', true],
  ])('%s ~ %s → %s', (pattern, branch, expected) => {
    expect(branchPatternMatches(pattern, branch)).toBe(expected);
  });
});
