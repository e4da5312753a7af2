import { isAdminAuthorization } from '../../src/webhooks/admin-routes';
import { startSandbox, type BitbucketSandbox } from '../../src/sandbox';
import type { ClawgateServer } from '../../src/server/create-server';
import { SUBSCRIBED_WEBHOOK_EVENTS } from '../../src/pipeline/subscribed-events';
import { startTestClawgate } from '../e2e/harness';

/**
 * POST /api/v1/workspaces through the real server against the sandbox: the admin guard, field
 * paths for every refusal, and "nothing stored" (no tenant, no token, no hook left in Bitbucket).
 */

const ADMIN_TOKEN = 'admin-token-0123456789abcdefghij';

function startApp(sandbox: BitbucketSandbox, extraEnv: Record<string, string>): Promise<ClawgateServer> {
  return startTestClawgate(sandbox, { env: extraEnv, workers: false });
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: { error?: { code: string; fields?: { path: string; message: string }[] }; [key: string]: unknown };
}

/** `authorization: null` sends no Authorization header. */
async function register(
  app: ClawgateServer,
  body: unknown,
  authorization: string | null = `Bearer ${ADMIN_TOKEN}`,
  raw?: string,
): Promise<Answer> {
  const response = await fetch(`${app.url}/api/v1/workspaces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization === null ? {} : { authorization }) },
    body: raw ?? JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: text === '' ? {} : (JSON.parse(text) as Answer['json']),
  };
}

let sandbox: BitbucketSandbox;
let app: ClawgateServer;
let workspaceUuid: string;
let token: string;

beforeEach(async () => {
  sandbox = await startSandbox();
  workspaceUuid = sandbox.createWorkspace({ slug: 'acme', name: 'ACME' }).uuid;
  sandbox.createWorkspace({ slug: 'other' });
  const alice = sandbox.createUser({ nickname: 'alice' });
  sandbox.createRepository({ workspace: 'acme', slug: 'proj-web', author: alice, files: { 'README.md': '# web\n' } });
  sandbox.createRepository({ workspace: 'acme', slug: 'proj-api', author: alice, files: { 'README.md': '# api\n' } });
  sandbox.createRepository({ workspace: 'other', slug: 'theirs', author: alice, files: { 'README.md': '# theirs\n' } });
  token = sandbox.createAccessToken({ workspace: 'acme' }, ['repository:write', 'pullrequest:write', 'webhook']).token;
  app = await startApp(sandbox, { CLAWGATE_ADMIN_TOKEN: ADMIN_TOKEN });
});

afterEach(async () => {
  await app.close();
  await sandbox.close();
});

function hookCount(): number {
  return ['acme/proj-web', 'acme/proj-api', 'other/theirs'].reduce(
    (sum, repo) => sum + sandbox.repository(repo).hooks.size,
    0,
  );
}

async function expectNothingStored(): Promise<void> {
  expect(await app.store.tenants.listAll()).toEqual([]);
  expect(await app.store.apiTokens.list(workspaceUuid)).toEqual([]);
  expect(hookCount()).toBe(0);
}

describe('POST /api/v1/workspaces (repository-webhook registration)', () => {
  test('registers: 201 with the first API token once, hooks with a secret in Bitbucket, the access token sealed', async () => {
    const answer = await register(app, {
      workspace: 'acme',
      access_token: token,
      repositories: ['proj-web', 'proj-api'],
      base_api_url: sandbox.baseUrl,
    });
    expect(answer.status).toBe(201);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.json).toEqual(
      expect.objectContaining({
        workspace: { uuid: workspaceUuid, slug: 'acme' },
        webhook_url: `${app.url}/hooks/bitbucket/w/${workspaceUuid.slice(1, -1)}`,
        token: expect.stringMatching(/^cgw_[A-Za-z0-9_-]{43}$/),
        hooks: [
          expect.objectContaining({ repository: 'acme/proj-web' }),
          expect.objectContaining({ repository: 'acme/proj-api' }),
        ],
      }),
    );
    const tenant = (await app.store.tenants.listAll())[0];
    const secret = tenant?.sharedSecret?.reveal() ?? '';
    expect(secret.length).toBeGreaterThanOrEqual(32);
    for (const repo of ['acme/proj-web', 'acme/proj-api']) {
      const hooks = [...sandbox.repository(repo).hooks.values()];
      expect(hooks).toHaveLength(1);
      expect(hooks[0]).toEqual(
        expect.objectContaining({
          url: `${app.url}/hooks/bitbucket/w/${workspaceUuid.slice(1, -1)}`,
          secret,
          active: true,
          events: [...SUBSCRIBED_WEBHOOK_EVENTS],
        }),
      );
    }
    // Neither the access token nor the webhook secret is ever answered.
    expect(answer.text).not.toContain(token);
    expect(answer.text).not.toContain(secret);
    // The token works on the API of that workspace.
    const settings = await fetch(`${app.url}/api/v1/workspaces/acme/settings`, {
      headers: { authorization: `Bearer ${String(answer.json.token)}` },
    });
    expect(settings.status).toBe(200);

    const again = await register(app, {
      workspace: 'acme',
      access_token: token,
      repositories: ['proj-web'],
      base_api_url: sandbox.baseUrl,
    });
    expect(again.status).toBe(409);
    expect(again.json.error?.code).toBe('ALREADY_REGISTERED');
    expect(hookCount()).toBe(2);
  });

  test.each([
    ['no Authorization', null],
    ['a wrong token', 'Bearer admin-token-0123456789abcdefghiX'],
    ['a prefix of the token', `Bearer ${ADMIN_TOKEN.slice(0, -1)}`],
    ['the token under another scheme', `Basic ${ADMIN_TOKEN}`],
    ['an API token of a workspace', 'Bearer cgw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
  ])('%s → 401, Bitbucket never called, nothing stored', async (_name, authorization) => {
    const requests = sandbox.received.requests.length;
    const answer = await register(
      app,
      { workspace: 'acme', access_token: token, base_api_url: sandbox.baseUrl },
      authorization,
    );
    expect(answer.status).toBe(401);
    expect(answer.json.error?.code).toBe('INVALID_CREDENTIALS');
    expect(answer.headers.get('www-authenticate')).toContain('Bearer');
    expect(sandbox.received.requests.length).toBe(requests);
    await expectNothingStored();
  });

  test('without CLAWGATE_ADMIN_TOKEN the route does not exist (404, like any unknown route)', async () => {
    const disabled = await startApp(sandbox, {});
    try {
      const answer = await register(disabled, {
        workspace: 'acme',
        access_token: token,
        base_api_url: sandbox.baseUrl,
      });
      expect(answer.status).toBe(404);
      expect(answer.json.error?.code).toBe('NOT_FOUND');
      expect(await disabled.store.tenants.listAll()).toEqual([]);
    } finally {
      await disabled.close();
    }
  });

  test.each([
    ['an unknown field', { workspace: 'acme', access_token: 'x', repo: ['a'] }, ['repo']],
    ['a missing token', { workspace: 'acme' }, ['access_token']],
    ['a bad workspace slug', { workspace: 'ac/me', access_token: 'x' }, ['workspace']],
    ['a token with a newline', { workspace: 'acme', access_token: 'abc\ndef' }, ['access_token']],
    [
      'a bad repository slug',
      { workspace: 'acme', access_token: 'x', repositories: ['proj-web', '../etc'] },
      ['repositories[1]'],
    ],
    ['a repeated repository', { workspace: 'acme', access_token: 'x', repositories: ['a', 'A'] }, ['repositories']],
    ['an empty repository list', { workspace: 'acme', access_token: 'x', repositories: [] }, ['repositories']],
    [
      'an API host outside the allowlist',
      { workspace: 'acme', access_token: 'x', base_api_url: 'https://api.evil.example' },
      ['base_api_url'],
    ],
    [
      'an API URL with a path',
      { workspace: 'acme', access_token: 'x', base_api_url: 'https://api.bitbucket.org/2.0' },
      ['base_api_url'],
    ],
    ['a body that is not an object', ['acme'], ['']],
  ])('%s → 422 with field paths, nothing called or stored', async (_name, body, paths) => {
    const requests = sandbox.received.requests.length;
    const answer = await register(app, body);
    expect(answer.status).toBe(422);
    expect(answer.json.error?.code).toBe('VALIDATION_FAILED');
    expect(answer.json.error?.fields?.map((field) => field.path)).toEqual(paths);
    expect(sandbox.received.requests.length).toBe(requests);
    await expectNothingStored();
  });

  test('a body that is not JSON is 400; no body is 400', async () => {
    expect((await register(app, undefined, `Bearer ${ADMIN_TOKEN}`, '{"workspace":')).json.error?.code).toBe(
      'INVALID_JSON',
    );
    expect((await register(app, undefined, `Bearer ${ADMIN_TOKEN}`, '')).status).toBe(400);
    await expectNothingStored();
  });

  test('an access token Bitbucket refuses → 422 at access_token, nothing stored', async () => {
    const answer = await register(app, {
      workspace: 'acme',
      access_token: 'ATCTT3xnot-a-real-token',
      base_api_url: sandbox.baseUrl,
    });
    expect(answer.status).toBe(422);
    expect(answer.json.error?.code).toBe('ACCESS_TOKEN_REJECTED');
    expect(answer.json.error?.fields?.[0]?.path).toBe('access_token');
    expect(answer.text).not.toContain('ATCTT3xnot-a-real-token');
    await expectNothingStored();
  });

  test('a token of another workspace → 422 at access_token; an unknown workspace → 422 at workspace', async () => {
    const theirs = sandbox.createAccessToken({ workspace: 'other' }, ['repository:write', 'webhook']).token;
    const wrongWorkspace = await register(app, {
      workspace: 'acme',
      access_token: theirs,
      base_api_url: sandbox.baseUrl,
    });
    expect(wrongWorkspace.json.error?.fields?.[0]?.path).toBe('access_token');
    const unknown = await register(app, { workspace: 'nope', access_token: token, base_api_url: sandbox.baseUrl });
    expect(unknown.status).toBe(422);
    expect(unknown.json.error?.fields?.[0]?.path).toBe('workspace');
    await expectNothingStored();
  });

  test('a repository that does not exist → 422 at repositories[1]; the hook already created on [0] is deleted', async () => {
    const answer = await register(app, {
      workspace: 'acme',
      access_token: token,
      repositories: ['proj-web', 'missing'],
      base_api_url: sandbox.baseUrl,
    });
    expect(answer.status).toBe(422);
    expect(answer.json.error?.fields?.[0]?.path).toBe('repositories[1]');
    expect(sandbox.received.hooks.map((write) => `${write.method} ${write.status}`)).toEqual([
      'POST 201',
      'POST 404',
      'DELETE 204',
    ]);
    await expectNothingStored();
  });

  test('a token without the webhook scope → 422 at access_token, nothing stored', async () => {
    const readOnly = sandbox.createAccessToken({ workspace: 'acme' }, ['repository:write', 'pullrequest:write']).token;
    const answer = await register(app, {
      workspace: 'acme',
      access_token: readOnly,
      repositories: ['proj-web'],
      base_api_url: sandbox.baseUrl,
    });
    expect(answer.status).toBe(422);
    expect(answer.json.error?.code).toBe('ACCESS_TOKEN_REJECTED');
    expect(answer.json.error?.fields?.[0]?.path).toBe('access_token');
    await expectNothingStored();
  });

  test('a repository access token registers its repository', async () => {
    const repoToken = sandbox.createAccessToken({ repository: 'acme/proj-api' }, [
      'repository:write',
      'pullrequest:write',
      'webhook',
    ]).token;
    const answer = await register(app, {
      workspace: 'acme',
      access_token: repoToken,
      repositories: ['proj-api'],
      base_api_url: sandbox.baseUrl,
    });
    expect(answer.status).toBe(201);
    expect(sandbox.repository('acme/proj-api').hooks.size).toBe(1);
  });
});

describe('isAdminAuthorization', () => {
  test('accepts exactly Bearer <token> (scheme case-insensitive), nothing else', () => {
    expect(isAdminAuthorization(`Bearer ${ADMIN_TOKEN}`, ADMIN_TOKEN)).toBe(true);
    expect(isAdminAuthorization(`bearer ${ADMIN_TOKEN}`, ADMIN_TOKEN)).toBe(true);
    expect(isAdminAuthorization(`Bearer ${ADMIN_TOKEN}x`, ADMIN_TOKEN)).toBe(false);
    expect(isAdminAuthorization(`Bearer ${ADMIN_TOKEN} extra`, ADMIN_TOKEN)).toBe(false);
    expect(isAdminAuthorization(ADMIN_TOKEN, ADMIN_TOKEN)).toBe(false);
    expect(isAdminAuthorization('Bearer ', ADMIN_TOKEN)).toBe(false);
    expect(isAdminAuthorization(undefined, ADMIN_TOKEN)).toBe(false);
  });
});
