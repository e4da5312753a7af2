import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createQueryStringHash, encodeSymmetric, fromMethodAndUrl } from 'atlassian-jwt';
import express from 'express';
import { verifyConnectJwt } from '../../src/connect';
import { PAGE_LINK_LIFETIME_SECONDS } from '../../src/connect/page-link';
import { SESSION_LINK_CLAIM } from '../../src/http/session-token';
import { loadWebAssets } from '../../src/connect/web-assets';
import { send, startConnectHarness, type ConnectHarness } from './support/connect-harness';

/**
 * What the web pages need from the Connect surface: the details page of one evaluation (the build
 * status URL), a page — not JSON — for a browser without a valid sign-in, short-lived details links,
 * the repository's name for the panel, and the built bundle's assets.
 */

const nowS = (): number => Math.floor(Date.now() / 1000);
const HTML = { headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' } };

let h: ConnectHarness;
let clientKey: string;
let secret: string;

function signedUrl(pathAndQuery: string, claims: Record<string, unknown> = {}): string {
  const qsh = createQueryStringHash(fromMethodAndUrl('GET', pathAndQuery), false);
  const token = encodeSymmetric(
    { iss: clientKey, aud: clientKey, sub: '557058:ann', iat: nowS(), exp: nowS() + 180, qsh, ...claims },
    secret,
  );
  return `${h.baseUrl}${pathAndQuery}${pathAndQuery.includes('?') ? '&' : '?'}jwt=${token}`;
}

function contextToken(claims: Record<string, unknown> = {}): string {
  return encodeSymmetric(
    {
      iss: clientKey,
      aud: clientKey,
      sub: '557058:ann',
      iat: nowS(),
      exp: nowS() + 180,
      qsh: 'context-qsh',
      ...claims,
    },
    secret,
  );
}

function unescape(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#96;/g, '`')
    .replace(/&amp;/g, '&');
}

function shell(html: string): { page: string; context: Record<string, unknown>; token: string } {
  const tag = /<div id="clawgate-root"([^>]*)>/.exec(html)?.[1] ?? '';
  const attribute = (name: string): string => unescape(new RegExp(` ${name}="([^"]*)"`).exec(tag)?.[1] ?? '');
  return {
    page: attribute('data-page'),
    context: JSON.parse(attribute('data-context') || '{}') as Record<string, unknown>,
    token: /<meta name="token" content="([^"]*)">/.exec(html)?.[1] ?? 'absent',
  };
}

beforeAll(async () => {
  h = await startConnectHarness();
  const inst = await h.sandbox.installApp({ descriptorUrl: h.descriptorUrl, workspace: 'acme' });
  clientKey = inst.clientKey;
  secret = inst.sharedSecret;
});
afterAll(() => h.close());

describe('GET /connect/details/{evaluationId} (the build status URL)', () => {
  it('renders the details page of that evaluation for a signed load', async () => {
    const id = randomUUID().toUpperCase();
    const res = await send(signedUrl(`/connect/details/${id}`));
    expect(res.status).toBe(200);
    const page = shell(res.text);
    expect(page.page).toBe('details');
    expect(page.context).toEqual({ evaluation: id.toLowerCase() });
    expect(page.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('keeps query parameters the status carries (they are covered by the qsh)', async () => {
    const res = await send(signedUrl(`/connect/details/${randomUUID()}?cg=1795650311510.mark`));
    expect(res.status).toBe(200);
  });

  it('refuses an id that is not an evaluation id (400, nothing echoed)', async () => {
    const res = await send(signedUrl(`/connect/details/${encodeURIComponent('<script>x</script>')}`));
    expect(res.status).toBe(400);
    expect(res.text).not.toContain('<script>');
  });

  it.each<[string, (path: string) => string, 'missing' | 'expired' | 'invalid']>([
    ['no token (a status link clicked in Bitbucket)', (path) => `${h.baseUrl}${path}`, 'missing'],
    ['an expired token', (path) => signedUrl(path, { iat: nowS() - 900, exp: nowS() - 600 }), 'expired'],
    [
      'a token signed with another secret',
      (path) =>
        `${h.baseUrl}${path}?jwt=${encodeSymmetric({ iss: clientKey, iat: nowS(), exp: nowS() + 60, qsh: 'x' }, 'wrong')}`,
      'invalid',
    ],
  ])('a browser with %s gets a 401 page that explains (no token in it), not JSON', async (_name, url, problem) => {
    const id = randomUUID();
    const res = await send(url(`/connect/details/${id}`), HTML);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('www-authenticate')).toBe('JWT realm="clawgate"');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(shell(res.text)).toEqual({ page: 'details', context: { evaluation: id, authProblem: problem }, token: '' });
  });

  it('other pages also answer a browser with a page; a non-browser still gets the JSON 401', async () => {
    const res = await send(`${h.baseUrl}/connect/configure`, HTML);
    expect(res.status).toBe(401);
    expect(shell(res.text)).toEqual({ page: 'configure', context: { authProblem: 'missing' }, token: '' });
    const json = await send(`${h.baseUrl}/connect/details/${randomUUID()}`);
    expect(json.status).toBe(401);
    expect(json.json).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.any(String) } });
  });
});

describe('GET /connect/panel: the repository by name', () => {
  it('puts the repository’s full name (resolved from its uuid through Bitbucket) in the context', async () => {
    const uuid = h.sandbox.repository('acme/widgets').uuid;
    const res = await send(signedUrl(`/connect/panel?repo=${encodeURIComponent(uuid)}&pr=3`));
    expect(res.status).toBe(200);
    expect(shell(res.text).context).toEqual({ repoUuid: uuid, repo: 'acme/widgets', pr: 3 });
  });

  it('says so when Bitbucket does not know the repository (no guess)', async () => {
    const uuid = `{${randomUUID()}}`;
    const res = await send(signedUrl(`/connect/panel?repo=${encodeURIComponent(uuid)}&pr=3`));
    expect(shell(res.text).context).toEqual({ repoUuid: uuid, repo: null, pr: 3, problem: 'REPOSITORY_UNRESOLVED' });
  });
});

describe('GET /connect/links/details/{evaluationId}', () => {
  /** An evaluation of acme/widgets (the repository ann created, so Bitbucket says she may read it). */
  async function evaluationOfWidgets(): Promise<string> {
    const record = await h.store.evaluations.insert(h.acme.uuid, {
      repoFullName: 'acme/widgets',
      prId: 1,
      headSha: 'e'.repeat(40),
      state: 'PASS',
      mode: 'enforce',
      statusState: 'SUCCESSFUL',
      verdict: {},
      commits: [],
    });
    return record.id;
  }

  function claimsOf(token: string): Record<string, unknown> {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  }

  it('answers a short-lived link that opens that details page and nothing else', async () => {
    const id = await evaluationOfWidgets();
    const res = await send(`${h.baseUrl}/connect/links/details/${id}`, {
      headers: { authorization: `JWT ${contextToken({ sub: h.ann.accountId })}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = res.json as { url: string; expires_at: string };
    expect(body.url.startsWith(`${h.baseUrl}/connect/details/${id}?jwt=`)).toBe(true);
    const lifetime = (Date.parse(body.expires_at) - Date.now()) / 1000;
    expect(lifetime).toBeGreaterThan(PAGE_LINK_LIFETIME_SECONDS - 10);
    expect(lifetime).toBeLessThanOrEqual(PAGE_LINK_LIFETIME_SECONDS);

    const opened = await send(body.url, HTML);
    expect(opened.status).toBe(200);
    expect(shell(opened.text)).toMatchObject({ page: 'details', context: { evaluation: id } });

    const token = new URL(body.url).searchParams.get('jwt') ?? '';
    expect(claimsOf(token)).toMatchObject({ iss: clientKey, sub: h.ann.accountId, [SESSION_LINK_CLAIM]: id });
    // Not another evaluation's page, and not the API.
    expect((await send(`${h.baseUrl}/connect/details/${randomUUID()}?jwt=${token}`, HTML)).status).toBe(401);
    const api = await verifyConnectJwt(token, {
      method: 'GET',
      originalUrl: `/api/v1/workspaces/acme/evaluations/${id}`,
      appBaseUrl: h.baseUrl,
      tenants: h.store.tenants,
      qsh: 'context',
    });
    expect(api).toMatchObject({ ok: false, code: 'QSH_MISMATCH' });

    // The page it opens gets a session that names the same evaluation and ends when the link ends.
    const session = shell(opened.text).token;
    const sessionClaims = claimsOf(session);
    expect(sessionClaims[SESSION_LINK_CLAIM]).toBe(id);
    expect(Number(sessionClaims.exp)).toBeLessThanOrEqual(Number(claimsOf(token).exp));
  });

  it('does not renew itself: a session that descends from a link cannot mint another link', async () => {
    const id = await evaluationOfWidgets();
    const first = (
      await send(`${h.baseUrl}/connect/links/details/${id}`, {
        headers: { authorization: `JWT ${contextToken({ sub: h.ann.accountId })}` },
      })
    ).json as { url: string };
    const session = shell((await send(first.url, HTML)).text).token;
    const again = await send(`${h.baseUrl}/connect/links/details/${id}`, {
      headers: { authorization: `JWT ${session}` },
    });
    expect(again.status).toBe(403);
    expect((again.json as { error: { code: string } }).error.code).toBe('LINK_SESSION_FORBIDDEN');
  });

  it('a page link opens only the evaluation it names: a forged path-bound token for another page gets no session', async () => {
    const id = await evaluationOfWidgets();
    // Even a correctly signed token for the PR-panel path, if it carries a link claim, opens nothing there.
    const res = await send(signedUrl(`/connect/details/${randomUUID()}`, { [SESSION_LINK_CLAIM]: id }), HTML);
    expect(res.status).toBe(403);
  });

  it('is refused to a viewer Bitbucket does not let read the repository, and for an unknown evaluation', async () => {
    const id = await evaluationOfWidgets();
    h.sandbox.setRepositoryPermission('acme/widgets', h.bob, 'none');
    const refused = await send(`${h.baseUrl}/connect/links/details/${id}`, {
      headers: { authorization: `JWT ${contextToken({ sub: h.bob.accountId })}` },
    });
    expect(refused.status).toBe(403);
    const unknown = await send(`${h.baseUrl}/connect/links/details/${randomUUID()}`, {
      headers: { authorization: `JWT ${contextToken({ sub: h.ann.accountId })}` },
    });
    expect(unknown.status).toBe(404);
  });

  it('needs a page user’s context token', async () => {
    const id = randomUUID();
    expect((await send(`${h.baseUrl}/connect/links/details/${id}`)).status).toBe(401);
    const noUser = encodeSymmetric({ iss: clientKey, iat: nowS(), exp: nowS() + 60, qsh: 'context-qsh' }, secret);
    expect(
      (await send(`${h.baseUrl}/connect/links/details/${id}`, { headers: { authorization: `JWT ${noUser}` } })).status,
    ).toBe(403);
    expect(
      (
        await send(`${h.baseUrl}/connect/links/details/not-an-id`, {
          headers: { authorization: `JWT ${contextToken()}` },
        })
      ).status,
    ).toBe(400);
  });
});

describe('session tokens and context JWT limits', () => {
  it('a page’s session token ends no later than the Bitbucket token that opened the page', async () => {
    const exp = nowS() + 120;
    const res = await send(signedUrl(`/connect/details/${randomUUID()}`, { exp }), HTML);
    expect(res.status).toBe(200);
    const claims = JSON.parse(Buffer.from(shell(res.text).token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      exp: number;
    };
    expect(claims.exp).toBeLessThanOrEqual(exp);
  });

  it('refuses a context JWT that lives longer than Bitbucket’s own (exp ten years ahead)', async () => {
    const res = await send(signedUrl(`/connect/details/${randomUUID()}`, { exp: nowS() + 10 * 365 * 24 * 3600 }), HTML);
    expect(res.status).toBe(401);
    const link = await send(`${h.baseUrl}/connect/links/details/${randomUUID()}`, {
      headers: { authorization: `JWT ${contextToken({ exp: nowS() + 10 * 365 * 24 * 3600 })}` },
    });
    expect(link.status).toBe(401);
  });

  it('refuses a context JWT whose audience is not this installation', async () => {
    expect((await send(signedUrl(`/connect/details/${randomUUID()}`, { aud: 'someone-else' }), HTML)).status).toBe(401);
    expect((await send(signedUrl(`/connect/details/${randomUUID()}`, { aud: clientKey }), HTML)).status).toBe(200);
  });
});

describe('the built bundle (web-assets.ts)', () => {
  let dir: string;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'clawgate-web-assets-'));
    const app = express();
    const assets = loadWebAssets('https://clawgate.example', dir);
    app.use(assets.router);
    app.get('/entry', (_req, res) => void res.json(assets.entry()));
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('has no entry before a build, then names the manifest’s entry script and stylesheet; a rebuild is picked up', async () => {
    expect((await send(`${base}/entry`)).json).toBeNull();
    mkdirSync(path.join(dir, '.vite'), { recursive: true });
    mkdirSync(path.join(dir, 'assets'), { recursive: true });
    const manifest = path.join(dir, '.vite', 'manifest.json');
    writeFileSync(
      manifest,
      JSON.stringify({ 'main.tsx': { file: 'assets/main-aaa.js', isEntry: true, css: ['assets/main-aaa.css'] } }),
    );
    expect((await send(`${base}/entry`)).json).toEqual({
      scriptUrl: 'https://clawgate.example/connect/assets/main-aaa.js',
      styleUrl: 'https://clawgate.example/connect/assets/main-aaa.css',
    });
    writeFileSync(manifest, JSON.stringify({ 'main.tsx': { file: 'assets/main-bbb.js', isEntry: true } }));
    utimesSync(manifest, new Date(), new Date(Date.now() + 5000));
    expect((await send(`${base}/entry`)).json).toEqual({
      scriptUrl: 'https://clawgate.example/connect/assets/main-bbb.js',
      styleUrl: '',
    });
  });

  it('serves the assets with a year of immutable caching; unknown files and the manifest are 404', async () => {
    mkdirSync(path.join(dir, 'assets'), { recursive: true });
    writeFileSync(path.join(dir, 'assets', 'main-ccc.js'), 'console.log(1);\n');
    const asset = await send(`${base}/connect/assets/main-ccc.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await send(`${base}/connect/assets/missing.js`)).status).toBe(404);
    expect((await send(`${base}/connect/assets/../.vite/manifest.json`)).status).toBe(404);
  });
});
