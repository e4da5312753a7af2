import {
  ApiBudgetExceededError,
  BitbucketRedirectError,
  createBitbucketClient,
  connectJwtAuth,
  DEFAULT_ALLOWED_HOSTS,
  EgressDeniedError,
  egressRefusal,
  parseAllowedHosts,
} from '../../src/bitbucket';
import { APP_KEY, CLIENT_KEY, SHARED_SECRET, startFakeBitbucket, type FakeBitbucket } from './support/fake-bitbucket';
import { captureLogger, connectClient, fixture } from './support/test-client';
import { z } from 'zod';

/** Items whose content does not matter to the test. */
const fixtureless = z.unknown();

const DIFFSTAT_SPEC_PATH = '/2.0/repositories/amuniz/test-repos/diffstat/amuniz/test-repos:bf0e8b7962c0%0Dbf4f4ce8a3a8';

describe('parseAllowedHosts / egressRefusal', () => {
  it('defaults to bitbucket.org and api.bitbucket.org, parses host[:port] lists, rejects junk', () => {
    expect(parseAllowedHosts(undefined)).toEqual(DEFAULT_ALLOWED_HOSTS);
    expect(parseAllowedHosts('  ')).toEqual(['bitbucket.org', 'api.bitbucket.org']);
    expect(parseAllowedHosts('API.Bitbucket.org, 127.0.0.1:8080,[::1]:9000')).toEqual([
      'api.bitbucket.org',
      '127.0.0.1:8080',
      '[::1]:9000',
    ]);
    expect(() => parseAllowedHosts('https://api.bitbucket.org')).toThrow(/not host\[:port\]/);
    expect(() => parseAllowedHosts('evil.com/path')).toThrow();
  });

  it('matches host and port exactly, https only except loopback, no userinfo', () => {
    const allowed = ['api.bitbucket.org', '127.0.0.1:8080'];
    expect(egressRefusal(new URL('https://api.bitbucket.org/2.0/user'), allowed)).toBeUndefined();
    expect(egressRefusal(new URL('https://api.bitbucket.org:8443/2.0/user'), allowed)).toMatch(
      /not in the egress allowlist/,
    );
    expect(egressRefusal(new URL('https://api.bitbucket.org.evil.com/'), allowed)).toMatch(
      /not in the egress allowlist/,
    );
    expect(egressRefusal(new URL('http://api.bitbucket.org/2.0/user'), allowed)).toMatch(/plain http/);
    expect(egressRefusal(new URL('http://127.0.0.1:8080/2.0/user'), allowed)).toBeUndefined();
    expect(egressRefusal(new URL('http://127.0.0.1:8081/2.0/user'), allowed)).toMatch(/not in the egress allowlist/);
    expect(egressRefusal(new URL('https://user:pw@api.bitbucket.org/'), allowed)).toMatch(/credentials/);
    expect(egressRefusal(new URL('file:///etc/passwd'), allowed)).toMatch(/scheme/);
  });
});

describe('redirects and the egress allowlist against real servers', () => {
  let api: FakeBitbucket;
  /** A second server on another port, NOT in the allowlist: it must never see a request. */
  let outsider: FakeBitbucket;
  /** A third server that IS allowed but is another origin: it must never see our credentials. */
  let mirror: FakeBitbucket;

  beforeAll(async () => {
    outsider = await startFakeBitbucket({
      verifyJwt: false,
      routes: (app) => app.use((_req, res) => void res.json({ values: [] })),
    });
    mirror = await startFakeBitbucket({
      verifyJwt: false,
      routes: (app) => app.get('/files/:name', (_req, res) => void res.type('text/plain').send('mirrored content')),
    });
    api = await startFakeBitbucket({
      routes: (app) => {
        // As on Bitbucket: the PR diffstat answers 302 to the repository diffstat with the PR's spec.
        app.get('/2.0/repositories/:ws/:slug/pullrequests/:id/diffstat', (req, res) => {
          const query = new URLSearchParams(req.query as Record<string, string>);
          query.set('from_pullrequest_id', req.params.id);
          query.set('topic', 'true');
          res.redirect(302, `${DIFFSTAT_SPEC_PATH}?${query.toString()}`);
        });
        app.get(
          '/2.0/repositories/amuniz/test-repos/diffstat/*spec',
          (_req, res) => void res.json(fixture('api_diffstat.json')),
        );
        app.get('/2.0/loop/:n', (req, res) => void res.redirect(302, `/2.0/loop/${Number(req.params.n) + 1}`));
        app.get(
          '/2.0/repositories/:ws/:slug/src/:commit/outside.txt',
          (_req, res) => void res.redirect(301, `${outsider.url}/steal`),
        );
        app.get(
          '/2.0/repositories/:ws/:slug/src/:commit/mirrored.txt',
          (_req, res) => void res.redirect(302, `${mirror.url}/files/mirrored.txt`),
        );
        app.post(
          '/2.0/repositories/:ws/:slug/pullrequests/:id/comments',
          (_req, res) => void res.redirect(302, '/2.0/elsewhere'),
        );
      },
    });
  });
  afterAll(async () => {
    await api.close();
    await outsider.close();
    await mirror.close();
  });
  beforeEach(() => {
    api.received.length = 0;
    outsider.received.length = 0;
    mirror.received.length = 0;
  });

  it('meters every hop (the API budget): the redirect counts as a call, a refused call sends nothing', async () => {
    const seen: string[] = [];
    const meter = {
      beforeCall: async (call: { method: string; path: string }) => {
        seen.push(`before ${call.method} ${call.path}`);
        if (call.path.includes('/src/'))
          throw new ApiBudgetExceededError('no room', { method: call.method, path: call.path }, 'evaluation');
      },
      afterCall: (call: { method: string; path: string; status: number | null }) =>
        void seen.push(`after ${call.status}`),
    };
    const { client } = connectClient(api, { meter });
    await client.listPullRequestDiffstat('amuniz', 'test-repos', 1);
    expect(seen).toEqual([
      'before GET /2.0/repositories/amuniz/test-repos/pullrequests/1/diffstat',
      'after 302',
      expect.stringMatching(/^before GET \/2\.0\/repositories\/amuniz\/test-repos\/diffstat\//),
      'after 200',
    ]);
    api.received.length = 0;
    await expect(client.getFileAtCommit('amuniz', 'test-repos', 'a'.repeat(40), 'README.md')).rejects.toMatchObject({
      code: 'API_BUDGET_EXCEEDED',
      scope: 'evaluation',
      transient: false,
    });
    expect(api.received).toHaveLength(0);
  });

  it("reads a PR's own links.diffstat directly (no redirect); a link that leaves the repository is not followed", async () => {
    const { client } = connectClient(api);
    const href = `${api.url}${DIFFSTAT_SPEC_PATH}?from_pullrequest_id=1&topic=true`;
    const direct = await client.listPullRequestDiffstat('amuniz', 'test-repos', 1, {
      id: 1,
      links: { html: { href: 'https://bitbucket.org/x' }, diffstat: { href } },
    });
    expect(direct).toHaveLength(4);
    expect(api.received.map((r) => r.url)).toEqual([
      `${DIFFSTAT_SPEC_PATH}?from_pullrequest_id=1&topic=true&pagelen=500`,
    ]);
    api.received.length = 0;
    // Another repository's diffstat, or another host: the PR's own endpoint and its redirect instead.
    for (const other of [
      `${api.url}/2.0/repositories/amuniz/other/diffstat/x`,
      `${outsider.url}${DIFFSTAT_SPEC_PATH}`,
    ]) {
      await client.listPullRequestDiffstat('amuniz', 'test-repos', 1, {
        id: 1,
        links: { html: { href: 'https://bitbucket.org/x' }, diffstat: { href: other } },
      });
      expect(api.received[0]?.url).toBe('/2.0/repositories/amuniz/test-repos/pullrequests/1/diffstat?pagelen=500');
      api.received.length = 0;
    }
    expect(outsider.received).toHaveLength(0);
  });

  it('re-signs the JWT for the redirect target: the second hop carries a qsh for the new path and query', async () => {
    // Without the PR's own diffstat link: the redirect is followed (500 items a page, diffstat's default).
    const { client } = connectClient(api);
    const diffstat = await client.listPullRequestDiffstat('amuniz', 'test-repos', 1);
    expect(diffstat.map((item) => item.status)).toEqual(['modified', 'added', 'renamed', 'added']);
    expect(api.received).toHaveLength(2);
    const [first, second] = api.received;
    expect(first?.url).toBe('/2.0/repositories/amuniz/test-repos/pullrequests/1/diffstat?pagelen=500');
    expect(second?.url).toBe(`${DIFFSTAT_SPEC_PATH}?pagelen=500&from_pullrequest_id=1&topic=true`);
    // The server's verdict (it answered 200) plus the explicit check: each token is bound to its own URL.
    expect(second?.jwt?.claims.qsh).toBe(second?.jwt?.expectedQsh);
    expect(second?.jwt?.claims.qsh).not.toBe(first?.jwt?.claims.qsh);
  });

  it('caps redirects at 3', async () => {
    const { client } = connectClient(api);
    await expect(client.paginate('/2.0/loop/0', fixtureless)).rejects.toBeInstanceOf(BitbucketRedirectError);
    expect(api.received.map((request) => request.url.split('?')[0])).toEqual([
      '/2.0/loop/0',
      '/2.0/loop/1',
      '/2.0/loop/2',
      '/2.0/loop/3',
    ]);
  });

  it('refuses a redirect to a host outside the allowlist: the other server receives nothing', async () => {
    const { client } = connectClient(api);
    const error = await client
      .getFileAtCommit('acme', 'widgets', 'bf0e8b7962c0', 'outside.txt')
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EgressDeniedError);
    expect((error as EgressDeniedError).url).toBe(`${outsider.url}/steal`);
    expect(outsider.received).toHaveLength(0);
  });

  it('follows a redirect to another allowed origin without sending our credentials there', async () => {
    const { client } = connectClient(api, { allowedHosts: [api.host, mirror.host] });
    await expect(client.getFileAtCommit('acme', 'widgets', 'bf0e8b7962c0', 'mirrored.txt')).resolves.toBe(
      'mirrored content',
    );
    expect(mirror.received).toHaveLength(1);
    expect(mirror.received[0]?.authorization).toBeUndefined();
  });

  it('does not follow a 302 of a POST (it would silently become a GET)', async () => {
    const { client } = connectClient(api);
    await expect(client.postPullRequestComment('acme', 'widgets', 1, { raw: 'hello' })).rejects.toBeInstanceOf(
      BitbucketRedirectError,
    );
    expect(api.received).toHaveLength(1);
  });

  it('a client whose baseApiUrl is not allowed cannot be created; nothing is sent', () => {
    const { logger } = captureLogger();
    expect(() =>
      createBitbucketClient({
        baseApiUrl: outsider.url,
        auth: connectJwtAuth({ appKey: APP_KEY, clientKey: CLIENT_KEY, sharedSecret: SHARED_SECRET }),
        allowedHosts: ['bitbucket.org', 'api.bitbucket.org', api.host],
        logger,
      }),
    ).toThrow(EgressDeniedError);
    expect(outsider.received).toHaveLength(0);
  });

  it('a pagination next link to another host or outside the API base is refused before it is fetched', async () => {
    const nextServer = await startFakeBitbucket({
      routes: (app) => {
        app.get(
          '/2.0/offsite',
          (_req, res) => void res.json({ values: [{}], next: `${outsider.url}/2.0/offsite?page=2` }),
        );
        app.get(
          '/2.0/allowed-other-origin',
          (_req, res) => void res.json({ values: [{}], next: `${mirror.url}/2.0/x?page=2` }),
        );
      },
    });
    try {
      const { client } = connectClient(nextServer, { allowedHosts: [nextServer.host, mirror.host] });
      await expect(client.paginate('/2.0/offsite', fixtureless)).rejects.toBeInstanceOf(EgressDeniedError);
      await expect(client.paginate('/2.0/allowed-other-origin', fixtureless)).rejects.toThrow(/leaves the API base/);
      expect(outsider.received).toHaveLength(0);
      expect(mirror.received).toHaveLength(0);
    } finally {
      await nextServer.close();
    }
  });
});
