import { decodeSymmetric, SymmetricAlgorithm } from 'atlassian-jwt';
import {
  bearerAuth,
  BitbucketAuthError,
  connectJwtAuth,
  connectQueryStringHash,
  createBitbucketClient,
} from '../../src/bitbucket';
import { APP_KEY, CLIENT_KEY, SHARED_SECRET, startFakeBitbucket, type FakeBitbucket } from './support/fake-bitbucket';
import { captureLogger, connectClient, fixture } from './support/test-client';

describe('connectQueryStringHash', () => {
  // qsh vectors computed with atlassian-jwt 2.0.3 (the first matches a real Bitbucket webhook token).
  it.each([
    [
      'GET',
      '/2.0/repositories/acme/widgets/pullrequests/42',
      'e1affee3919b40d6873eadc37f92506c4b95020760a9b00abb7d6385a39241d3',
    ],
    [
      'GET',
      '/2.0/repositories/acme/widgets/diffstat/abc123..def456?topic=true&pagelen=100',
      '478d0378c3ddcf1295e2198489f8e66df96b3267d896b13a241d3740db7afb9d',
    ],
    [
      'post',
      '/2.0/repositories/acme/widgets/commit/0123456789abcdef0123456789abcdef01234567/statuses/build',
      'a2984e3c086aafcb526d9304efbeecf34d2f7f3ae0938c60cb2bbc0461fa8491',
    ],
  ])('%s %s matches the reference vector', (method, apiPath, expected) => {
    expect(connectQueryStringHash(method, apiPath)).toBe(expected);
  });
});

describe('connectJwtAuth', () => {
  it('mints HS256 {iss: appKey, sub: clientKey, iat, exp = iat + 180, qsh} per request', async () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    const auth = connectJwtAuth({
      appKey: APP_KEY,
      clientKey: CLIENT_KEY,
      sharedSecret: SHARED_SECRET,
      now: () => now,
    });
    const url = new URL('https://api.bitbucket.org/2.0/repositories/acme/widgets/pullrequests/42');
    const header = await auth.authorizationFor({
      method: 'GET',
      url,
      apiPath: '/2.0/repositories/acme/widgets/pullrequests/42',
    });
    expect(header).toMatch(/^JWT [\w-]+\.[\w-]+\.[\w-]+$/);
    const claims = decodeSymmetric(header.slice(4), SHARED_SECRET, SymmetricAlgorithm.HS256) as Record<string, unknown>;
    expect(claims).toEqual({
      iss: APP_KEY,
      sub: CLIENT_KEY,
      iat: now / 1000 - 30,
      exp: now / 1000 - 30 + 180,
      qsh: 'e1affee3919b40d6873eadc37f92506c4b95020760a9b00abb7d6385a39241d3',
    });
    expect(() => decodeSymmetric(header.slice(4), 'another-secret', SymmetricAlgorithm.HS256)).toThrow();
  });

  it('refuses empty credentials', () => {
    expect(() => connectJwtAuth({ appKey: APP_KEY, clientKey: CLIENT_KEY, sharedSecret: '' })).toThrow(TypeError);
  });
});

describe('against a server that verifies JWTs like Bitbucket', () => {
  let server: FakeBitbucket;
  beforeAll(async () => {
    server = await startFakeBitbucket({
      routes: (app) => {
        app.get(
          '/2.0/repositories/:ws/:slug/pullrequests/:id',
          (_req, res) => void res.json(fixture('api_get_pullrequest.json')),
        );
        app.get(
          '/2.0/repositories/:ws/:slug/branch-restrictions',
          (_req, res) =>
            void res.json({
              values: [{ id: 7, kind: 'require_passing_builds_to_merge', pattern: 'main', value: 1 }],
              pagelen: 100,
            }),
        );
      },
    });
  });
  afterAll(() => server.close());
  beforeEach(() => void (server.received.length = 0));

  it('accepts our token for a path with a {uuid} workspace (qsh over the encoded path)', async () => {
    const { client } = connectClient(server);
    const pr = await client.getPullRequest('{3deb8c29-778a-450c-8f69-3e50a18079df}', 'test-repos', 1);
    expect(pr.id).toBe(1);
    const [request] = server.received;
    expect(request?.url).toBe('/2.0/repositories/%7B3deb8c29-778a-450c-8f69-3e50a18079df%7D/test-repos/pullrequests/1');
    expect(request?.jwt?.claims.qsh).toBe(request?.jwt?.expectedQsh);
    expect(request?.jwt?.claims.exp).toBe((request?.jwt?.claims.iat ?? 0) + 180);
  });

  it('accepts our token when the request has a query (qsh covers sorted, encoded parameters)', async () => {
    const { client } = connectClient(server);
    const restrictions = await client.listBranchRestrictions('acme', 'widgets', {
      kind: 'require_passing_builds_to_merge',
      pattern: 'release/* & main',
    });
    expect(restrictions).toHaveLength(1);
    const [request] = server.received;
    expect(request?.url).toContain('pattern=release%2F*+%26+main');
    expect(request?.jwt?.claims.qsh).toBe(request?.jwt?.expectedQsh);
  });

  it('signs each request afresh: two calls carry two tokens, each bound to its own path', async () => {
    const { client } = connectClient(server);
    await client.getPullRequest('acme', 'widgets', 1);
    await client.getPullRequest('acme', 'widgets', 2);
    const [first, second] = server.received;
    expect(first?.authorization).not.toBe(second?.authorization);
    expect(first?.jwt?.claims.qsh).not.toBe(second?.jwt?.claims.qsh);
  });

  it('a token signed with the wrong secret is refused and surfaces as BitbucketAuthError without retries', async () => {
    const { client } = connectClient(server, {
      auth: connectJwtAuth({ appKey: APP_KEY, clientKey: CLIENT_KEY, sharedSecret: 'not-the-secret' }),
    });
    await expect(client.getPullRequest('acme', 'widgets', 1)).rejects.toMatchObject({
      name: 'BitbucketAuthError',
      status: 401,
    });
    await expect(client.getPullRequest('acme', 'widgets', 1)).rejects.toBeInstanceOf(BitbucketAuthError);
    expect(server.received).toHaveLength(2);
  });
});

describe('bearerAuth', () => {
  it('sends Authorization: Bearer <token>, from a string or a provider', async () => {
    const server = await startFakeBitbucket({
      verifyJwt: false,
      routes: (app) => app.get('/2.0/user', (_req, res) => void res.json({ uuid: '{u}', display_name: 'App' })),
    });
    try {
      const { logger } = captureLogger();
      const fixed = createBitbucketClient({
        baseApiUrl: server.url,
        auth: bearerAuth('tok-123'),
        allowedHosts: [server.host],
        logger,
      });
      await fixed.getCurrentUser();
      let calls = 0;
      const rotating = createBitbucketClient({
        baseApiUrl: server.url,
        auth: bearerAuth(async () => `tok-${++calls}`),
        allowedHosts: [server.host],
        logger,
      });
      await rotating.getCurrentUser();
      await rotating.getCurrentUser();
      expect(server.received.map((request) => request.authorization)).toEqual([
        'Bearer tok-123',
        'Bearer tok-1',
        'Bearer tok-2',
      ]);
    } finally {
      await server.close();
    }
  });
});
