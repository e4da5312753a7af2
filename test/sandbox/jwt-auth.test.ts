import { createHmac } from 'node:crypto';
import { createQueryStringHash, encodeSymmetric, fromMethodAndUrl } from 'atlassian-jwt';
import { appJwt, call, TokenClient } from './support/api-client';
import { startWorld, type World } from './support/world';

/** Connect JWT and access-token authentication of /2.0 calls, and the record of rejections. */

let world: World;
let secret: string;
const KEY = 'clawgate-test';
const PATH = '/2.0/repositories/acme/widgets/pullrequests?state=OPEN&pagelen=5';

beforeAll(async () => {
  world = await startWorld();
  secret = world.sandbox.getInstallation({ clientKey: world.clientKey })?.sharedSecret ?? '';
});
afterAll(() => world.close());

const b64u = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
function handMade(header: object, claims: object, key: string | null): string {
  const input = `${b64u(header)}.${b64u(claims)}`;
  const sig = key === null ? '' : createHmac('sha256', key).update(input).digest('base64url');
  return `${input}.${sig}`;
}
const qshOf = (method: string, url: string): string => createQueryStringHash(fromMethodAndUrl(method, url), false);
const nowS = (): number => Math.floor(Date.now() / 1000);

async function get(authorization: string | undefined, path = PATH): Promise<number> {
  return (await call(`${world.sandbox.baseUrl}${path}`, authorization === undefined ? {} : { authorization })).status;
}

describe('Connect JWT', () => {
  it('accepts HS256 with iss = app key, sub = clientKey, exp and the right qsh (query included)', async () => {
    const jwt = appJwt({ key: KEY, clientKey: world.clientKey, secret, method: 'GET', pathAndQuery: PATH });
    const res = await call(`${world.sandbox.baseUrl}${PATH}`, { authorization: `JWT ${jwt}` });
    expect(res.status).toBe(200);
    expect((res.json as { pagelen: number }).pagelen).toBe(5);
  });

  it('qsh is order-independent over query parameters, as atlassian-jwt canonicalises them', async () => {
    const jwt = appJwt({
      key: KEY,
      clientKey: world.clientKey,
      secret,
      method: 'GET',
      pathAndQuery: '/2.0/repositories/acme/widgets/pullrequests?pagelen=5&state=OPEN',
    });
    expect(await get(`JWT ${jwt}`)).toBe(200);
  });

  const cases: [string, () => string][] = [
    [
      'wrong secret',
      () =>
        `JWT ${appJwt({ key: KEY, clientKey: world.clientKey, secret: 'not-the-secret', method: 'GET', pathAndQuery: PATH })}`,
    ],
    [
      'alg none',
      () =>
        `JWT ${handMade({ alg: 'none', typ: 'JWT' }, { iss: KEY, sub: world.clientKey, iat: nowS(), exp: nowS() + 60, qsh: qshOf('GET', PATH) }, null)}`,
    ],
    [
      'alg HS512 (only HS256 accepted)',
      () =>
        `JWT ${encodeSymmetric({ iss: KEY, sub: world.clientKey, iat: nowS(), exp: nowS() + 60, qsh: qshOf('GET', PATH) }, secret, 'HS512' as never)}`,
    ],
    [
      'missing exp',
      () => `JWT ${encodeSymmetric({ iss: KEY, sub: world.clientKey, iat: nowS(), qsh: qshOf('GET', PATH) }, secret)}`,
    ],
    [
      'expired beyond the leeway',
      () =>
        `JWT ${encodeSymmetric({ iss: KEY, sub: world.clientKey, iat: nowS() - 600, exp: nowS() - 120, qsh: qshOf('GET', PATH) }, secret)}`,
    ],
    [
      'qsh of another path',
      () =>
        `JWT ${appJwt({ key: KEY, clientKey: world.clientKey, secret, method: 'GET', pathAndQuery: '/2.0/repositories/acme/widgets/pullrequests/1' })}`,
    ],
    [
      'qsh of another method',
      () => `JWT ${appJwt({ key: KEY, clientKey: world.clientKey, secret, method: 'POST', pathAndQuery: PATH })}`,
    ],
    [
      'qsh without the query',
      () =>
        `JWT ${appJwt({ key: KEY, clientKey: world.clientKey, secret, method: 'GET', pathAndQuery: '/2.0/repositories/acme/widgets/pullrequests' })}`,
    ],
    [
      'missing qsh',
      () => `JWT ${encodeSymmetric({ iss: KEY, sub: world.clientKey, iat: nowS(), exp: nowS() + 60 }, secret)}`,
    ],
    [
      'iss = clientKey (the inbound convention, not the outbound one)',
      () =>
        `JWT ${appJwt({ key: world.clientKey, clientKey: world.clientKey, secret, method: 'GET', pathAndQuery: PATH })}`,
    ],
    [
      'wrong iss',
      () =>
        `JWT ${appJwt({ key: 'another-app', clientKey: world.clientKey, secret, method: 'GET', pathAndQuery: PATH })}`,
    ],
    [
      'unknown sub',
      () =>
        `JWT ${appJwt({ key: KEY, clientKey: 'ari:cloud:bitbucket::app/{0}/clawgate-test', secret, method: 'GET', pathAndQuery: PATH })}`,
    ],
    [
      'Bearer scheme with a JWT',
      () => `Bearer ${appJwt({ key: KEY, clientKey: world.clientKey, secret, method: 'GET', pathAndQuery: PATH })}`,
    ],
    ['Basic auth', () => `Basic ${Buffer.from('ann:app-password').toString('base64')}`],
    ['garbage', () => 'JWT not.a.token'],
  ];

  it.each(cases)('rejects %s with 401 and records the reason', async (name, make) => {
    const before = world.sandbox.received.authFailures.length;
    expect(await get(make())).toBe(401);
    const failures = world.sandbox.received.authFailures.slice(before);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toEqual(
      expect.objectContaining({
        method: 'GET',
        path: '/2.0/repositories/acme/widgets/pullrequests',
        reason: expect.any(String),
      }),
    );
    expect(JSON.stringify(failures[0])).not.toContain(secret);
  });

  it('records distinct reasons (expired, qsh, signature, alg) so tests can tell them apart', async () => {
    const reasons = world.sandbox.received.authFailures.map((f) => f.reason);
    expect(reasons).toEqual(
      expect.arrayContaining([
        'token expired',
        'qsh does not match the request',
        'signature verification failed',
        'unsupported alg "none"',
        'iss is not the app key of this installation',
      ]),
    );
  });

  it('accepts an exp within the leeway (clock skew)', async () => {
    const jwt = encodeSymmetric(
      { iss: KEY, sub: world.clientKey, iat: nowS() - 200, exp: nowS() - 5, qsh: qshOf('GET', PATH) },
      secret,
    );
    expect(await get(`JWT ${jwt}`)).toBe(200);
  });

  it('rejects calls without credentials and does not accept the ?jwt= query form', async () => {
    expect(await get(undefined)).toBe(401);
    const jwt = appJwt({ key: KEY, clientKey: world.clientKey, secret, method: 'GET', pathAndQuery: PATH });
    expect(await get(undefined, `${PATH}&jwt=${jwt}`)).toBe(401);
    expect(world.sandbox.received.authFailures.at(-1)?.scheme).toBe('none');
  });

  it('keeps a Connect installation inside its workspace and its declared scopes', async () => {
    world.sandbox.createWorkspace({ slug: 'other' });
    world.sandbox.createRepository({ workspace: 'other', slug: 'secret', files: { a: 'a' } });
    expect((await world.client.get('/2.0/repositories/other/secret')).status).toBe(403);
    // The test app declared account, repository, pullrequest: branch restrictions need repository:admin.
    const res = await world.client.get('/2.0/repositories/acme/widgets/branch-restrictions');
    expect(res.status).toBe(403);
    expect(res.json).toEqual({
      type: 'error',
      error: expect.objectContaining({ message: 'Your credentials lack one or more required privilege scopes.' }),
    });
  });
});

describe('access tokens', () => {
  it('accepts Bearer tokens minted by the sandbox, scoped to a repository and its scopes', async () => {
    const { token } = world.sandbox.createAccessToken({ repository: 'acme/widgets' }, [
      'repository',
      'pullrequest',
      'webhook',
    ]);
    const client = new TokenClient(world.sandbox, token);
    expect((await client.get('/2.0/repositories/acme/widgets/pullrequests')).status).toBe(200);
    expect((await client.get('/2.0/repositories/other/secret')).status).toBe(403);
    expect((await client.get('/2.0/repositories/acme/widgets/branch-restrictions')).status).toBe(403);
    const user = await client.get('/2.0/user');
    expect(user.json).toEqual(expect.objectContaining({ type: 'app_user', kind: 'access_token' }));
  });

  it('rejects unknown and revoked tokens', async () => {
    const { token, id } = world.sandbox.createAccessToken({ workspace: 'acme' }, ['repository']);
    expect(await get(`Bearer ${token}`, '/2.0/repositories/acme/widgets')).toBe(200);
    world.sandbox.revokeAccessToken(id);
    expect(await get(`Bearer ${token}`, '/2.0/repositories/acme/widgets')).toBe(401);
    expect(await get(`Bearer ${token}x`, '/2.0/repositories/acme/widgets')).toBe(401);
    expect(world.sandbox.received.authFailures.at(-1)).toEqual(
      expect.objectContaining({ scheme: 'Bearer', reason: 'unknown access token' }),
    );
  });
});
