import { createHash, randomBytes } from 'node:crypto';
import { startSandbox, type BitbucketSandbox } from '../../src/sandbox';
import { OpenApiValidator, SPEC_CORRECTIONS } from './support/openapi-validator';

/**
 * The sandbox's OAuth server and user-token API (Sign in with Bitbucket) answer in Bitbucket's shapes
 * (validated against the OpenAPI document), enforce PKCE S256, and keep a user token to `/2.0/user…`.
 */

let sandbox: BitbucketSandbox;
const validator = new OpenApiValidator(SPEC_CORRECTIONS);

beforeAll(async () => {
  sandbox = await startSandbox();
  sandbox.createWorkspace({ slug: 'acme', name: 'ACME' });
  sandbox.createRepository({
    workspace: 'acme',
    slug: 'web',
    author: sandbox.workspaceAdmin('acme'),
    files: { 'README.md': 'x\n' },
  });
  sandbox.createUser({ nickname: 'rita' });
});

afterAll(async () => {
  await sandbox.close();
});

async function userToken(nickname: string): Promise<string> {
  const consumer = sandbox.createOAuthConsumer('acme', { callbackUrl: 'http://127.0.0.1:9/callback' });
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const consent = await fetch(`${sandbox.baseUrl}/site/oauth2/authorize`, {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams({
      client_id: consumer.key,
      response_type: 'code',
      state: 's',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      user: nickname,
    }),
  });
  const code = new URL(consent.headers.get('location') ?? '').searchParams.get('code') ?? '';
  const answer = await fetch(`${sandbox.baseUrl}/site/oauth2/access_token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${consumer.key}:${consumer.secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier }),
  });
  const json = (await answer.json()) as { access_token: string; token_type: string; expires_in: number };
  expect(json).toMatchObject({ token_type: 'bearer', expires_in: 7200 });
  return json.access_token;
}

const get = async (path: string, token: string) => {
  const response = await fetch(`${sandbox.baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, json: (await response.json()) as unknown };
};

test('a user token reads who the user is and their permissions, in the spec’s shapes', async () => {
  const token = await userToken('rita');
  const user = await get('/2.0/user', token);
  expect(user.status).toBe(200);
  expect(validator.errors('account', user.json)).toEqual([]);
  const repos = await get(
    `/2.0/user/workspaces/acme/permissions/repositories?q=${encodeURIComponent('repository.full_name="acme/web"')}`,
    token,
  );
  expect(repos.status).toBe(200);
  expect(validator.errors('paginated_repository_permissions', repos.json)).toEqual([]);
  expect(repos.json).toMatchObject({ values: [{ permission: 'read', repository: { full_name: 'acme/web' } }] });
  const role = await get('/2.0/user/workspaces/acme/permission', token);
  expect(validator.errors('workspace_membership', role.json)).toEqual([]);
  expect(role.json).toMatchObject({ permission: 'member' });
  expect((await get('/2.0/user/workspaces/acme/permission', await userToken('acme-admin'))).json).toMatchObject({
    permission: 'owner',
  });
});

test('a user token reaches nothing but /2.0/user…, and the authorize page refuses a request without PKCE', async () => {
  const token = await userToken('rita');
  expect((await get('/2.0/repositories/acme/web', token)).status).toBe(403);
  const consumer = sandbox.createOAuthConsumer('acme', { callbackUrl: 'http://127.0.0.1:9/callback' });
  const noPkce = await fetch(
    `${sandbox.baseUrl}/site/oauth2/authorize?client_id=${consumer.key}&response_type=code&state=s`,
  );
  expect(noPkce.status).toBe(400);
  expect(await noPkce.text()).toContain('PKCE required');
});
