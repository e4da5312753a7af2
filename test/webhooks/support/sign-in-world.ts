import { startSandbox, type BitbucketSandbox } from '../../../src/sandbox';
import type { ClawgateServer } from '../../../src/server/create-server';
import { callApi, startTestClawgate } from '../../e2e/harness';

/**
 * A webhook workspace with Sign in with Bitbucket set up, against the sandbox: workspace `acme`
 * (registered through the admin API), repositories `proj-a` and `proj-b`, one evaluation in each,
 * users `acme-admin` (owner), `rita` (reads proj-a only) and `outsider` (no access to either), and
 * the OAuth consumer created in the sandbox and registered with clawgate.
 */

export const ADMIN_TOKEN = 'sign-in-admin-token-0123456789abcdef';

export interface SignInWorld {
  readonly sandbox: BitbucketSandbox;
  readonly app: ClawgateServer;
  readonly workspaceId: string;
  readonly evaluationA: string;
  readonly evaluationB: string;
  readonly consumer: { key: string; secret: string };
  close(): Promise<void>;
}

export async function startSignInWorld(options: { env?: Record<string, string> } = {}): Promise<SignInWorld> {
  const sandbox = await startSandbox();
  const app = await startTestClawgate(sandbox, {
    workers: false,
    env: {
      CLAWGATE_ADMIN_TOKEN: ADMIN_TOKEN,
      CLAWGATE_OAUTH_AUTHORIZE_URL: `${sandbox.baseUrl}/site/oauth2/authorize`,
      CLAWGATE_OAUTH_TOKEN_URL: `${sandbox.baseUrl}/site/oauth2/access_token`,
      ...options.env,
    },
  });
  const ws = sandbox.createWorkspace({ slug: 'acme', name: 'ACME' });
  const admin = sandbox.workspaceAdmin('acme');
  const rita = sandbox.createUser({ nickname: 'rita', displayName: 'Rita Reader' });
  const outsider = sandbox.createUser({ nickname: 'outsider', displayName: 'Out Sider' });
  sandbox.createRepository({ workspace: 'acme', slug: 'proj-a', author: admin, files: { 'README.md': '# a\n' } });
  sandbox.createRepository({ workspace: 'acme', slug: 'proj-b', author: admin, files: { 'README.md': '# b\n' } });
  sandbox.setRepositoryPermission('acme/proj-b', rita, 'none');
  sandbox.setRepositoryPermission('acme/proj-a', outsider, 'none');
  sandbox.setRepositoryPermission('acme/proj-b', outsider, 'none');
  const accessToken = sandbox.createAccessToken(
    { workspace: 'acme' },
    ['repository:write', 'pullrequest:write', 'webhook', 'repository:admin'],
    { name: 'clawgate' },
  );
  const registered = await callApi(app.url, 'POST', '/api/v1/workspaces', `Bearer ${ADMIN_TOKEN}`, {
    workspace: 'acme',
    access_token: accessToken.token,
    repositories: ['proj-a', 'proj-b'],
    base_api_url: sandbox.baseUrl,
  });
  if (registered.status !== 201) throw new Error(`registration failed: ${JSON.stringify(registered.json)}`);
  const workspaceId = ws.uuid.toLowerCase();
  const base = {
    prId: 1,
    headSha: 'a'.repeat(40),
    state: 'FAIL',
    mode: 'enforce' as const,
    statusState: 'FAILED' as const,
    verdict: {},
    commits: [],
  };
  const evaluationA = (await app.store.evaluations.insert(workspaceId, { ...base, repoFullName: 'acme/proj-a' })).id;
  const evaluationB = (await app.store.evaluations.insert(workspaceId, { ...base, repoFullName: 'acme/proj-b' })).id;
  const consumer = sandbox.createOAuthConsumer('acme', { callbackUrl: `${app.url}/signin/bitbucket/callback` });
  await app.store.oauthConsumers.set(workspaceId, {
    consumerKey: consumer.key,
    consumerSecret: consumer.secret,
    actor: 'test',
  });
  void rita;
  return {
    sandbox,
    app,
    workspaceId,
    evaluationA,
    evaluationB,
    consumer,
    async close() {
      await app.close();
      await sandbox.close();
    },
  };
}

/** What the sign-in helpers need: the clawgate server and the sandbox it signs in with. */
export type SignInParties = Pick<SignInWorld, 'app' | 'sandbox'>;

/** The `name=value` pairs of a response's Set-Cookie headers. */
export function cookiesOf(response: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const header of response.headers.getSetCookie()) {
    const [pair = ''] = header.split(';');
    const eq = pair.indexOf('=');
    if (eq > 0) out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

export interface StartedSignIn {
  readonly authorizeUrl: URL;
  readonly binding: string;
}

export async function startSignIn(
  world: SignInParties,
  returnPath: string,
  workspace = 'acme',
): Promise<StartedSignIn> {
  const response = await fetch(
    `${world.app.url}/signin/bitbucket?${new URLSearchParams({ workspace, return: returnPath }).toString()}`,
    { redirect: 'manual' },
  );
  if (response.status !== 302) throw new Error(`sign-in start answered ${response.status}: ${await response.text()}`);
  return {
    authorizeUrl: new URL(response.headers.get('location') ?? ''),
    binding: cookiesOf(response).clawgate_signin ?? '',
  };
}

/** The sandbox's consent page, approved as `nickname` (what the browser test clicks): the callback URL. */
export async function approveAs(world: SignInParties, authorizeUrl: URL, nickname: string): Promise<URL> {
  const form = new URLSearchParams(authorizeUrl.searchParams);
  form.set('user', nickname);
  const response = await fetch(`${world.sandbox.baseUrl}/site/oauth2/authorize`, {
    method: 'POST',
    body: form,
    redirect: 'manual',
  });
  if (response.status !== 302) throw new Error(`consent answered ${response.status}: ${await response.text()}`);
  return new URL(response.headers.get('location') ?? '');
}

export async function callback(callbackUrl: URL | string, binding: string | undefined): Promise<Response> {
  return fetch(callbackUrl, {
    redirect: 'manual',
    headers: binding === undefined ? {} : { cookie: `clawgate_signin=${binding}` },
  });
}

/** The whole dance for `nickname`; returns the session cookie and where the callback sent the browser. */
export async function signIn(
  world: SignInParties,
  nickname: string,
  returnPath: string,
): Promise<{ session: string; location: string }> {
  const started = await startSignIn(world, returnPath);
  const done = await callback(await approveAs(world, started.authorizeUrl, nickname), started.binding);
  if (done.status !== 302) throw new Error(`callback answered ${done.status}: ${await done.text()}`);
  return { session: cookiesOf(done).clawgate_session ?? '', location: done.headers.get('location') ?? '' };
}

/** Opens a page with the session cookie (as a browser: Accept text/html); the page token from the shell. */
export async function openPage(
  world: SignInParties,
  path: string,
  session: string,
): Promise<{ status: number; token: string; html: string }> {
  const response = await fetch(`${world.app.url}${path}`, {
    headers: { cookie: `clawgate_session=${session}`, accept: 'text/html' },
  });
  const html = await response.text();
  const token = /<meta name="token" content="([^"]*)"/.exec(html)?.[1] ?? '';
  return { status: response.status, token, html };
}
