import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createQueryStringHash, encodeSymmetric, fromMethodAndUrl } from 'atlassian-jwt';
import { verifyConnectJwt } from '../../src/connect';
import { escapeHtml, loadPageShell } from '../../src/connect/page-shell';
import { send, startConnectHarness, type ConnectHarness } from './support/connect-harness';

/** The iframe pages: JWT with qsh required, a generic HTML shell, output encoding, security headers. */

const nowS = (): number => Math.floor(Date.now() / 1000);

let h: ConnectHarness;
let clientKey: string;
let secret: string;
const REPO = '{6b1f3a52-7d51-4c1e-9a57-0c1d2e3f4a5b}';

/** An iframe URL as Bitbucket builds it: context parameters, then `jwt` whose qsh covers them. */
function iframeUrl(pathAndQuery: string, claims: Record<string, unknown> = {}, signedFor = pathAndQuery): string {
  const qsh = createQueryStringHash(fromMethodAndUrl('GET', signedFor), false);
  const token = encodeSymmetric(
    { iss: clientKey, aud: clientKey, sub: '557058:ann', iat: nowS(), exp: nowS() + 180, qsh, ...claims },
    secret,
  );
  return `${h.baseUrl}${pathAndQuery}${pathAndQuery.includes('?') ? '&' : '?'}jwt=${token}`;
}

function metaToken(html: string): string {
  return /<meta name="token" content="([^"]+)">/.exec(html)?.[1] ?? '';
}

function rootAttributes(html: string): Record<string, string> {
  const tag = /<div id="clawgate-root"([^>]*)>/.exec(html)?.[1] ?? '';
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/ (data-[a-z-]+)="([^"]*)"/g)) {
    out[m[1] ?? ''] = (m[2] ?? '')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&#96;/g, '`')
      .replace(/&amp;/g, '&');
  }
  return out;
}

beforeAll(async () => {
  h = await startConnectHarness();
  const inst = await h.sandbox.installApp({ descriptorUrl: h.descriptorUrl, workspace: 'acme' });
  clientKey = inst.clientKey;
  secret = inst.sharedSecret;
});
afterAll(() => h.close());

describe('GET /connect/panel', () => {
  it('renders the shell for a signed iframe load: page, context, host script, session token', async () => {
    const res = await send(iframeUrl(`/connect/panel?repo=${encodeURIComponent(REPO)}&pr=7`));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.text).toContain(`<script src="${h.config.hostScriptUrl}" async`);
    const root = rootAttributes(res.text);
    expect(root).toMatchObject({ 'data-page': 'pr-panel', 'data-base-url': h.baseUrl, 'data-workspace': h.acme.uuid });
    // The signed context reaches the page (the web pages may add to it, e.g. the repository's name).
    expect(JSON.parse(root['data-context'] ?? '{}')).toMatchObject({ pr: 7 });
    expect(root['data-context']).toContain(REPO);
  });

  it('the session token is a context token for the page’s API calls: accepted with qsh "context", refused where qsh is required', async () => {
    const res = await send(iframeUrl(`/connect/panel?repo=${encodeURIComponent(REPO)}&pr=7`));
    const token = metaToken(res.text);
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      exp: number;
      iat: number;
    };
    // It ends with the iframe token it came from (180 s here), never later than 15 minutes.
    expect(claims.exp - claims.iat).toBeLessThanOrEqual(180);
    expect(claims.exp - claims.iat).toBeGreaterThan(170);
    const base = {
      method: 'GET',
      originalUrl: `/api/v1/workspaces/${encodeURIComponent(h.acme.uuid)}/settings`,
      appBaseUrl: h.baseUrl,
      tenants: h.store.tenants,
    };
    expect(await verifyConnectJwt(token, { ...base, qsh: 'context' })).toMatchObject({
      ok: true,
      accountId: '557058:ann',
      tenant: { clientKey },
    });
    expect(await verifyConnectJwt(token, { ...base, qsh: 'required' })).toMatchObject({
      ok: false,
      code: 'QSH_MISMATCH',
    });
    // ...and it cannot load a page either.
    const page = await send(`${h.baseUrl}/connect/configure?jwt=${token}`);
    expect(page.status).toBe(401);
  });

  it.each([
    ['no token', () => `${h.baseUrl}/connect/panel?repo=${encodeURIComponent(REPO)}&pr=7`],
    [
      'context parameters changed after signing',
      () =>
        iframeUrl(
          `/connect/panel?repo=${encodeURIComponent(REPO)}&pr=8`,
          {},
          `/connect/panel?repo=${encodeURIComponent(REPO)}&pr=7`,
        ),
    ],
    [
      'a token signed with another secret',
      () =>
        iframeUrl(`/connect/panel?repo=${encodeURIComponent(REPO)}&pr=7`).replace(
          /jwt=.*/,
          `jwt=${encodeSymmetric({ iss: clientKey, iat: nowS(), exp: nowS() + 60, qsh: 'context-qsh' }, 'wrong')}`,
        ),
    ],
    [
      'an expired token',
      () => iframeUrl(`/connect/panel?repo=${encodeURIComponent(REPO)}&pr=7`, { iat: nowS() - 600, exp: nowS() - 300 }),
    ],
  ])('%s → 401 JSON error, no page', async (_name, url) => {
    const res = await send(url());
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.any(String) } });
    expect(res.text).not.toContain('<html');
  });

  it.each([
    [
      'a repo that is not a braced UUID (markup)',
      `/connect/panel?repo=${encodeURIComponent('"><script>alert(1)</script>')}&pr=7`,
    ],
    ['a non-numeric pr', `/connect/panel?repo=${encodeURIComponent(REPO)}&pr=7x`],
    ['a repeated parameter', `/connect/panel?repo=${encodeURIComponent(REPO)}&pr=7&pr=8`],
    ['no context at all', '/connect/panel'],
  ])('%s → 400, nothing echoed', async (_name, pathAndQuery) => {
    const res = await send(iframeUrl(pathAndQuery));
    expect(res.status).toBe(400);
    expect((res.json as { error: { code: string } }).error.code).toBe('INVALID_PAGE_CONTEXT');
    expect(res.text).not.toContain('<script>');
  });

  it('answers with HSTS, nosniff, no referrer and a CSP that lets Bitbucket and the allowed hosts frame it', async () => {
    const res = await send(iframeUrl(`/connect/panel?repo=${encodeURIComponent(REPO)}&pr=7`));
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-frame-options')).toBeNull();
    const csp = Object.fromEntries(
      (res.headers.get('content-security-policy') ?? '')
        .split('; ')
        .map((d) => [d.split(' ')[0], d.split(' ').slice(1)]),
    );
    const sandboxHost = new URL(h.sandbox.baseUrl).host;
    expect(csp['frame-ancestors']).toEqual([
      "'self'",
      'https://bitbucket.org',
      'bitbucket.org',
      'api.bitbucket.org',
      sandboxHost,
    ]);
    expect(csp['script-src']).toEqual(["'self'", new URL(h.config.hostScriptUrl).origin]);
    expect(csp['object-src']).toEqual(["'none'"]);
    expect(csp['default-src']).toEqual(["'self'"]);
  });

  it('an uninstalled tenant’s pages are refused', async () => {
    const other = h.sandbox.createWorkspace({ slug: 'umbrella' });
    const inst = await h.sandbox.installApp({ descriptorUrl: h.descriptorUrl, workspace: other });
    const pathAndQuery = '/connect/configure';
    const qsh = createQueryStringHash(fromMethodAndUrl('GET', pathAndQuery), false);
    const token = encodeSymmetric({ iss: inst.clientKey, iat: nowS(), exp: nowS() + 60, qsh }, inst.sharedSecret);
    expect((await send(`${h.baseUrl}${pathAndQuery}?jwt=${token}`)).status).toBe(200);
    await h.sandbox.uninstallApp({ clientKey: inst.clientKey });
    expect((await send(`${h.baseUrl}${pathAndQuery}?jwt=${token}`)).status).toBe(401);
  });
});

describe('other pages', () => {
  it('GET /connect/configure renders the configure page (token in the Authorization header works too)', async () => {
    const qsh = createQueryStringHash(fromMethodAndUrl('GET', '/connect/configure'), false);
    const token = encodeSymmetric({ iss: clientKey, iat: nowS(), exp: nowS() + 60, qsh }, secret);
    const res = await send(`${h.baseUrl}/connect/configure`, { headers: { Authorization: `JWT ${token}` } });
    expect(res.status).toBe(200);
    expect(rootAttributes(res.text)).toMatchObject({ 'data-page': 'configure', 'data-context': '{}' });
    expect(res.text).toMatch(/<title>clawgate:? settings<\/title>/);
  });

  it('GET /connect/details/{repo}/{pr} renders the details page with its context', async () => {
    const res = await send(iframeUrl(`/connect/details/${encodeURIComponent(REPO)}/12`));
    expect(res.status).toBe(200);
    const root = rootAttributes(res.text);
    expect(root['data-page']).toBe('details');
    expect(JSON.parse(root['data-context'] ?? '{}')).toMatchObject({ pr: 12 });
    expect(root['data-context']).toContain(REPO);
    expect((await send(iframeUrl('/connect/details/not-a-uuid/12'))).status).toBe(400);
  });
});

describe('page shell output encoding', () => {
  it('escapes every value; the context survives the round trip through the attribute', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'clawgate-views-'));
    writeFileSync(
      path.join(dir, 'page.html'),
      '<title>{{title}}</title><meta name="token" content="{{token}}"><div data-context="{{context}}" data-page=\'{{page}}\'></div><script src="{{hostScriptUrl}}"></script>{{baseUrl}}{{workspace}}',
    );
    const render = loadPageShell(dir);
    const evil = `"><script>alert('x')</script>&\``;
    const html = render({
      title: evil,
      page: evil,
      context: { repo: evil, pr: 1 },
      token: evil,
      hostScriptUrl: evil,
      baseUrl: evil,
      workspace: evil,
    });
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain(evil);
    expect(html).not.toMatch(/'x'|`/);
    expect(html.match(/<script/g)).toHaveLength(1);
    const context = /data-context="([^"]*)"/.exec(html)?.[1] ?? '';
    expect(
      JSON.parse(
        context
          .replace(/&quot;/g, '"')
          .replace(/&#39;/g, "'")
          .replace(/&lt;/g, '<')
          .replace(/&gt;/g, '>')
          .replace(/&#96;/g, '`')
          .replace(/&amp;/g, '&'),
      ),
    ).toEqual({ repo: evil, pr: 1 });
  });

  it('escapeHtml covers the characters that end text or attributes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&\`</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&#96;&lt;/a&gt;',
    );
  });

  it('refuses a template with a placeholder it cannot fill', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'clawgate-views-'));
    writeFileSync(path.join(dir, 'page.html'), '<p>{{rawHtml}}</p>');
    expect(() => loadPageShell(dir)).toThrow(/unknown placeholder \{\{rawHtml\}\}/);
  });
});
