import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import pino from 'pino';
import { createSignInRouter } from '../../src/webhooks';
import { callApi } from '../e2e/harness';
import {
  ADMIN_TOKEN,
  approveAs,
  callback,
  cookiesOf,
  openPage,
  signIn,
  startSignIn,
  startSignInWorld,
  type SignInWorld,
} from './support/sign-in-world';

/**
 * Sign in with Bitbucket for a webhook workspace (issue 8, docs/sign-in.md), end to end over HTTP
 * against the sandbox's OAuth server (no browser: test/web/sign-in-pages.test.ts drives one). What
 * each person may see is asked of Bitbucket with their own token; the attacks are the tests.
 */

let world: SignInWorld;

beforeAll(async () => {
  world = await startSignInWorld();
});

afterAll(async () => {
  await world.close();
});

const details = (id: string) => `/connect/details/${id}`;
const jwt = (token: string) => `JWT ${token}`;

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('a workspace admin', () => {
  test('signs in, comes back to the settings page asked for, and may read settings and every repository', async () => {
    const { session, location } = await signIn(world, 'acme-admin', '/connect/configure');
    expect(location).toBe(`${world.app.url}/connect/configure`);
    const page = await openPage(world, '/connect/configure', session);
    expect(page.status).toBe(200);
    expect(page.token).not.toBe('');
    expect((await callApi(world.app.url, 'GET', '/api/v1/workspaces/acme/settings', jwt(page.token))).status).toBe(200);
    expect(
      (await callApi(world.app.url, 'GET', `/api/v1/workspaces/acme/evaluations/${world.evaluationA}`, jwt(page.token)))
        .status,
    ).toBe(200);
    expect(
      (await callApi(world.app.url, 'GET', `/api/v1/workspaces/acme/evaluations/${world.evaluationB}`, jwt(page.token)))
        .status,
    ).toBe(200);
  });
});

describe('a repository reader', () => {
  test('opens the details page of their repository from the status link, and nothing of another repository nor the settings', async () => {
    const { session, location } = await signIn(world, 'rita', details(world.evaluationA));
    expect(location).toBe(`${world.app.url}${details(world.evaluationA)}`);
    const page = await openPage(world, details(world.evaluationA), session);
    expect(page.status).toBe(200);
    const auth = jwt(page.token);
    expect(
      (await callApi(world.app.url, 'GET', `/api/v1/workspaces/acme/evaluations/${world.evaluationA}`, auth)).status,
    ).toBe(200);
    expect(
      (await callApi(world.app.url, 'GET', `/api/v1/workspaces/acme/evaluations/${world.evaluationB}`, auth)).status,
    ).toBe(403);
    expect((await callApi(world.app.url, 'GET', '/api/v1/workspaces/acme/evaluations?repo=proj-b', auth)).status).toBe(
      403,
    );
    // Settings: refused by the API and by the page itself.
    expect((await callApi(world.app.url, 'GET', '/api/v1/workspaces/acme/settings', auth)).status).toBe(403);
    expect(
      (await callApi(world.app.url, 'PUT', '/api/v1/workspaces/acme/settings', auth, { mode: 'observe' })).status,
    ).toBe(403);
    const settings = await openPage(world, '/connect/configure', session);
    expect(settings.status).toBe(403);
    expect(settings.token).toBe('');
    expect(settings.html).toContain('forbidden');
  });

  test('a person without access to a repository reads none of its evaluations', async () => {
    const { session } = await signIn(world, 'outsider', details(world.evaluationA));
    const page = await openPage(world, details(world.evaluationA), session);
    expect(
      (await callApi(world.app.url, 'GET', `/api/v1/workspaces/acme/evaluations/${world.evaluationA}`, jwt(page.token)))
        .status,
    ).toBe(403);
  });

  test('Bitbucket unable to answer the permission question means no access', async () => {
    const { session } = await signIn(world, 'outsider', details(world.evaluationB));
    const page = await openPage(world, details(world.evaluationB), session);
    // Bitbucket down for the question: denied, never allowed by default.
    world.sandbox.faults.inject({
      path: /\/2\.0\/user\/workspaces\/acme\/permissions\/repositories/,
      status: 500,
      count: 50,
    });
    try {
      expect(
        (
          await callApi(
            world.app.url,
            'GET',
            `/api/v1/workspaces/acme/evaluations/${world.evaluationB}`,
            jwt(page.token),
          )
        ).status,
      ).toBe(403);
    } finally {
      world.sandbox.faults.clear();
    }
  });
});

describe('the session', () => {
  test('never outlives the Bitbucket token nor the configured maximum, and the Bitbucket token never reaches the browser', async () => {
    const started = await startSignIn(world, details(world.evaluationA));
    const done = await callback(await approveAs(world, started.authorizeUrl, 'rita'), started.binding);
    const cookies = done.headers.getSetCookie().join('\n');
    expect(cookies).toMatch(/clawgate_session=[^;]+;.*HttpOnly/i);
    expect(cookies).toMatch(/SameSite=Lax/i);
    expect(cookies).not.toContain('sbx_user_');
    const page = await openPage(world, details(world.evaluationA), cookiesOf(done).clawgate_session ?? '');
    expect(page.html).not.toContain('sbx_user_');
    const claims = claimsOf(page.token);
    expect(Number(claims.exp) - Number(claims.iat)).toBeLessThanOrEqual(3600);
    expect(claims.sub).toMatch(/^\{[0-9a-f-]{36}\}$/);
  });

  test('signing out ends the session at once: its cookie and its page token stop working', async () => {
    const { session } = await signIn(world, 'rita', details(world.evaluationA));
    const page = await openPage(world, details(world.evaluationA), session);
    const out = await fetch(`${world.app.url}/signin/signout`, {
      method: 'POST',
      headers: { cookie: `clawgate_session=${session}` },
    });
    expect(out.status).toBe(204);
    expect(
      (await callApi(world.app.url, 'GET', `/api/v1/workspaces/acme/evaluations/${world.evaluationA}`, jwt(page.token)))
        .status,
    ).toBe(401);
    expect((await openPage(world, details(world.evaluationA), session)).status).toBe(401);
  });

  test('a page token whose claims were edited is refused (the signature covers them)', async () => {
    const { session } = await signIn(world, 'rita', details(world.evaluationA));
    const { token } = await openPage(world, details(world.evaluationA), session);
    const [header, , signature] = token.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...claimsOf(token), sub: '{00000000-0000-4000-8000-000000000000}' }),
    ).toString('base64url');
    expect(
      (
        await callApi(
          world.app.url,
          'GET',
          `/api/v1/workspaces/acme/evaluations/${world.evaluationA}`,
          jwt(`${header}.${forged}.${signature}`),
        )
      ).status,
    ).toBe(401);
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${token.split('.')[1]}.`;
    expect(
      (await callApi(world.app.url, 'GET', `/api/v1/workspaces/acme/evaluations/${world.evaluationA}`, jwt(none)))
        .status,
    ).toBe(401);
  });

  test('a session of one workspace opens nothing of another workspace', async () => {
    world.sandbox.createWorkspace({ slug: 'beta', name: 'Beta' });
    world.sandbox.createRepository({
      workspace: 'beta',
      slug: 'proj-c',
      author: world.sandbox.workspaceAdmin('beta'),
      files: { 'README.md': '# c\n' },
    });
    const token = world.sandbox.createAccessToken({ workspace: 'beta' }, [
      'repository:write',
      'pullrequest:write',
      'webhook',
      'repository:admin',
    ]);
    expect(
      (
        await callApi(world.app.url, 'POST', '/api/v1/workspaces', `Bearer ${ADMIN_TOKEN}`, {
          workspace: 'beta',
          access_token: token.token,
          repositories: ['proj-c'],
          base_api_url: world.sandbox.baseUrl,
        })
      ).status,
    ).toBe(201);
    const { session } = await signIn(world, 'acme-admin', '/connect/configure');
    const page = await openPage(world, '/connect/configure', session);
    const answer = await callApi(world.app.url, 'GET', '/api/v1/workspaces/beta/settings', jwt(page.token));
    expect(answer.status).toBe(403);
    expect(answer.json).toMatchObject({ error: { code: 'WORKSPACE_FORBIDDEN' } });
  });
});

describe('attacks on the sign-in', () => {
  test('a callback with a state clawgate never issued is refused', async () => {
    const started = await startSignIn(world, details(world.evaluationA));
    const approved = await approveAs(world, started.authorizeUrl, 'rita');
    approved.searchParams.set('state', 'x'.repeat(43));
    const done = await callback(approved, started.binding);
    expect(done.status).toBe(400);
    expect(cookiesOf(done).clawgate_session ?? '').toBe('');
  });

  test('a state is bound to the browser that started the sign-in (login CSRF), and spent by a wrong try', async () => {
    const victim = await startSignIn(world, details(world.evaluationA));
    const attacker = await startSignIn(world, details(world.evaluationA));
    // The attacker approves as themselves and sends the victim their callback link.
    const link = await approveAs(world, attacker.authorizeUrl, 'outsider');
    expect((await callback(link, victim.binding)).status).toBe(400);
    expect((await callback(link, undefined)).status).toBe(400);
    // The state is spent: not even the right browser can use it now.
    expect((await callback(link, attacker.binding)).status).toBe(400);
  });

  test('a callback replayed (same code and state) is refused the second time', async () => {
    const started = await startSignIn(world, details(world.evaluationA));
    const link = await approveAs(world, started.authorizeUrl, 'rita');
    expect((await callback(link, started.binding)).status).toBe(302);
    const again = await callback(link, started.binding);
    expect(again.status).toBe(400);
    expect(cookiesOf(again).clawgate_session ?? '').toBe('');
  });

  test('a stolen code with a fresh state of the thief fails: the PKCE verifier does not match', async () => {
    const victim = await startSignIn(world, details(world.evaluationA));
    const stolen = (await approveAs(world, victim.authorizeUrl, 'acme-admin')).searchParams.get('code') ?? '';
    const thief = await startSignIn(world, details(world.evaluationA));
    const link = new URL(`${world.app.url}/signin/bitbucket/callback`);
    link.searchParams.set('code', stolen);
    link.searchParams.set('state', thief.authorizeUrl.searchParams.get('state') ?? '');
    const refusedBefore = world.sandbox.oauth.refusals.length;
    const done = await callback(link, thief.binding);
    expect(done.status).toBe(400);
    expect(world.sandbox.oauth.refusals.slice(refusedBefore).map((r) => r.reason)).toContain(
      'code_verifier does not match the code_challenge',
    );
  });

  test('the token endpoint refuses a wrong verifier, a replayed code and a wrong consumer secret', async () => {
    const started = await startSignIn(world, details(world.evaluationA));
    const code = (await approveAs(world, started.authorizeUrl, 'rita')).searchParams.get('code') ?? '';
    const exchange = (secret: string, verifier: string) =>
      fetch(`${world.sandbox.baseUrl}/site/oauth2/access_token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${world.consumer.key}:${secret}`).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier }),
      });
    expect((await exchange('wrong-secret', 'v'.repeat(43))).status).toBe(401);
    expect((await exchange(world.consumer.secret, 'v'.repeat(43))).status).toBe(400);
    // The code was spent by the wrong try: clawgate's own callback cannot use it any more either.
    const link = new URL(`${world.app.url}/signin/bitbucket/callback`);
    link.searchParams.set('code', code);
    link.searchParams.set('state', started.authorizeUrl.searchParams.get('state') ?? '');
    expect((await callback(link, started.binding)).status).toBe(400);
  });

  test('a build status link (with its status mark) is a valid return target: the sign-in comes back to its details page', async () => {
    const { location } = await signIn(
      world,
      'rita',
      `${details(world.evaluationA)}?cg=1733550000000.${'A'.repeat(22)}`,
    );
    expect(location).toBe(`${world.app.url}${details(world.evaluationA)}`);
  });

  test.each([
    'https://evil.example/',
    '//evil.example/connect/configure',
    '/connect/details/../../signin/signout',
    '/api/v1/workspaces/acme/settings',
    'javascript:alert(1)',
    '/connect/configure#x',
    '/connect/details/x',
    '/connect//evil.example',
    '/connect/panel?repo=%7Bx%7D&pr=1',
  ])('the return target %s is refused (no open redirect)', async (target) => {
    const response = await fetch(
      `${world.app.url}/signin/bitbucket?${new URLSearchParams({ workspace: 'acme', return: target }).toString()}`,
      { redirect: 'manual' },
    );
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
  });

  test('a workspace without an OAuth consumer, or unknown, offers no sign-in (and says the same for both)', async () => {
    const unknown = await fetch(`${world.app.url}/signin/bitbucket?workspace=nobody`, {
      redirect: 'manual',
      headers: { accept: 'application/json' },
    });
    const none = await fetch(`${world.app.url}/signin/bitbucket?workspace=beta`, {
      redirect: 'manual',
      headers: { accept: 'application/json' },
    });
    expect(unknown.status).toBe(404);
    expect(none.status).toBe(404);
    expect(await unknown.json()).toEqual(await none.json());
  });

  test('Bitbucket denying access signs nobody in', async () => {
    const started = await startSignIn(world, details(world.evaluationA));
    const form = new URLSearchParams(started.authorizeUrl.searchParams);
    form.set('decision', 'deny');
    const denied = await fetch(`${world.sandbox.baseUrl}/site/oauth2/authorize`, {
      method: 'POST',
      body: form,
      redirect: 'manual',
    });
    const done = await callback(new URL(denied.headers.get('location') ?? ''), started.binding);
    expect(done.status).toBe(403);
    expect(cookiesOf(done).clawgate_session ?? '').toBe('');
  });

  test('removing the OAuth consumer ends every session of the workspace', async () => {
    const { session } = await signIn(world, 'acme-admin', '/connect/configure');
    const { token } = await openPage(world, '/connect/configure', session);
    expect(await world.app.store.oauthConsumers.remove(world.workspaceId, 'test')).toBe(true);
    try {
      expect((await callApi(world.app.url, 'GET', '/api/v1/workspaces/acme/settings', jwt(token))).status).toBe(401);
      const events = await world.app.store.audit.query(world.workspaceId);
      expect(events.map((event) => event.kind)).toEqual(
        expect.arrayContaining(['oauth_consumer.set', 'oauth_consumer.removed', 'signin.session_started']),
      );
    } finally {
      await world.app.store.oauthConsumers.set(world.workspaceId, {
        consumerKey: world.consumer.key,
        consumerSecret: world.consumer.secret,
        actor: 'test',
      });
    }
  });
});

describe('registering the OAuth consumer (admin API)', () => {
  const put = (ws: string, body: unknown, token = ADMIN_TOKEN) =>
    callApi(world.app.url, 'PUT', `/api/v1/workspaces/${ws}/oauth-consumer`, `Bearer ${token}`, body);

  test('needs the admin token, a webhook workspace and a well-formed key and secret; the secret is never echoed nor audited', async () => {
    expect((await put('acme', { key: 'k', secret: 's' }, 'not-the-admin-token-0123456789')).status).toBe(401);
    expect((await put('nobody', { key: 'k', secret: 's' })).status).toBe(404);
    const bad = await put('acme', { key: 'has space', secret: '', extra: 1 });
    expect(bad.status).toBe(422);
    const done = await put('acme', { key: world.consumer.key, secret: world.consumer.secret });
    expect(done.status).toBe(200);
    expect(done.json).toMatchObject({
      consumer_key: world.consumer.key,
      callback_url: `${world.app.url}/signin/bitbucket/callback`,
    });
    expect(JSON.stringify(done.json)).not.toContain(world.consumer.secret);
    const audit = await world.app.store.audit.query(world.workspaceId);
    expect(JSON.stringify(audit)).not.toContain(world.consumer.secret);
    // Still works after re-registering the same consumer.
    const { location } = await signIn(world, 'rita', details(world.evaluationA));
    expect(location).toBe(`${world.app.url}${details(world.evaluationA)}`);
  });

  test('DELETE removes it: no more sign-ins for the workspace', async () => {
    const removed = await callApi(
      world.app.url,
      'DELETE',
      '/api/v1/workspaces/acme/oauth-consumer',
      `Bearer ${ADMIN_TOKEN}`,
    );
    expect(removed).toMatchObject({ status: 200, json: { removed: true } });
    try {
      const start = await fetch(`${world.app.url}/signin/bitbucket?workspace=acme`, { redirect: 'manual' });
      expect(start.status).toBe(404);
    } finally {
      await put('acme', { key: world.consumer.key, secret: world.consumer.secret });
    }
  });
});

test('anonymous sign-in attempts are bounded per address (429 with Retry-After)', async () => {
  const app = express();
  app.use(
    createSignInRouter({
      config: { baseUrl: world.app.url, allowedHosts: [] },
      store: world.app.store,
      logger: pino({ level: 'silent' }),
      attemptsPerAddress: { points: 3, windowSeconds: 60 },
    }),
  );
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1)
      statuses.push((await fetch(`${base}/signin/bitbucket?workspace=acme`, { redirect: 'manual' })).status);
    expect(statuses).toEqual([302, 302, 302, 429, 429]);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
