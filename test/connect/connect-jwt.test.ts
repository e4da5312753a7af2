import { createHmac, randomBytes } from 'node:crypto';
import { createQueryStringHash, encodeSymmetric, fromMethodAndUrl, SymmetricAlgorithm } from 'atlassian-jwt';
import {
  connectTokenFrom,
  requestQueryStringHash,
  verifyConnectJwt,
  type QshPolicy,
  type VerifyConnectJwtOptions,
} from '../../src/connect';
import { openStore, type Store } from '../../src/store';
import { readSharedJson } from '../shared-data';
import { storeSnapshot } from './support/connect-harness';

/** verifyConnectJwt against a real store, tokens minted with atlassian-jwt (or by hand for the malformed ones). */

const APP = 'https://clawgate.example.com';
const WS = '{11111111-1111-4111-8111-111111111111}';
const OTHER_WS = '{22222222-2222-4222-8222-222222222222}';
const CLIENT_KEY = `ari:cloud:bitbucket::app/${WS}/clawgate`;
const UNINSTALLED_KEY = `ari:cloud:bitbucket::app/${OTHER_WS}/clawgate`;
const UNVERIFIED_KEY = `ari:cloud:bitbucket::app/${OTHER_WS}/clawgate-unverified`;
const HOOKS_KEY = `repo_webhooks:${WS}`;
const SECRET = randomBytes(32).toString('base64url');
const OTHER_SECRET = randomBytes(32).toString('base64url');
const NOW = new Date('2026-03-01T12:00:00Z');
const nowS = Math.floor(NOW.getTime() / 1000);
const WEBHOOK = '/connect/webhook';

let store: Store;

beforeAll(async () => {
  store = await openStore('sqlite::memory:', { secretKey: randomBytes(32) });
  const common = {
    surface: 'connect' as const,
    appKey: 'clawgate',
    baseUrl: 'https://bitbucket.org',
    baseApiUrl: 'https://api.bitbucket.org',
    actor: 'test',
  };
  await store.tenants.upsertInstall({
    ...common,
    workspaceId: WS,
    clientKey: CLIENT_KEY,
    sharedSecret: SECRET,
    verified: true,
  });
  await store.tenants.upsertInstall({
    ...common,
    workspaceId: OTHER_WS,
    clientKey: UNINSTALLED_KEY,
    sharedSecret: OTHER_SECRET,
    verified: true,
  });
  await store.tenants.markUninstalled(UNINSTALLED_KEY, 'test');
  await store.tenants.upsertInstall({
    ...common,
    workspaceId: OTHER_WS,
    clientKey: UNVERIFIED_KEY,
    sharedSecret: OTHER_SECRET,
  });
  await store.tenants.upsertInstall({
    workspaceId: WS,
    surface: 'repo_webhooks',
    clientKey: HOOKS_KEY,
    sharedSecret: OTHER_SECRET,
    accessToken: 'tok',
    actor: 'test',
  });
});
afterAll(() => store.close());

const qshOf = (method: string, url: string): string => createQueryStringHash(fromMethodAndUrl(method, url), false);

function token(claims: Record<string, unknown>, secret = SECRET): string {
  return encodeSymmetric(
    { iss: CLIENT_KEY, aud: CLIENT_KEY, iat: nowS, exp: nowS + 3600, qsh: qshOf('POST', WEBHOOK), ...claims },
    secret,
  );
}

function handMade(header: Record<string, unknown>, claims: Record<string, unknown>, secret: string | null): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${secret === null ? '' : createHmac('sha256', secret).update(input).digest('base64url')}`;
}

function verify(jwt: string, options: Partial<VerifyConnectJwtOptions> = {}) {
  return verifyConnectJwt(jwt, {
    method: 'POST',
    originalUrl: WEBHOOK,
    appBaseUrl: APP,
    tenants: store.tenants,
    qsh: 'required',
    now: NOW,
    ...options,
  });
}

describe('verifyConnectJwt', () => {
  it('accepts a webhook token (iss = aud = clientKey, qsh over POST&/connect/webhook&) and names the tenant', async () => {
    const result = await verify(token({}));
    expect(result).toMatchObject({
      ok: true,
      tenant: { clientKey: CLIENT_KEY, workspaceId: WS },
      claims: { iss: CLIENT_KEY, aud: [CLIENT_KEY] },
    });
    expect(result.ok && result.accountId).toBeUndefined();
  });

  it('returns sub as accountId on user-context tokens', async () => {
    const result = await verify(token({ sub: '557058:abc' }));
    expect(result.ok && result.accountId).toBe('557058:abc');
  });

  const failures: [string, () => string, string][] = [
    ['no token', () => '', 'MISSING_TOKEN'],
    ['two segments', () => 'abc.def', 'MALFORMED_TOKEN'],
    [
      'payload not JSON',
      () => `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.bm90IGpzb24.sig`,
      'MALFORMED_TOKEN',
    ],
    ['over 8 KB', () => token({ pad: 'x'.repeat(9000) }), 'MALFORMED_TOKEN'],
    ['wrong secret', () => token({}, 'not-the-secret'), 'BAD_SIGNATURE'],
    ['signature stripped', () => token({}).split('.').slice(0, 2).join('.') + '.', 'BAD_SIGNATURE'],
    [
      'alg none',
      () =>
        handMade(
          { alg: 'none', typ: 'JWT' },
          { iss: CLIENT_KEY, iat: nowS, exp: nowS + 60, qsh: qshOf('POST', WEBHOOK) },
          null,
        ),
      'UNSUPPORTED_ALGORITHM',
    ],
    [
      'alg NONE with a valid HMAC',
      () =>
        handMade({ alg: 'NONE' }, { iss: CLIENT_KEY, iat: nowS, exp: nowS + 60, qsh: qshOf('POST', WEBHOOK) }, SECRET),
      'UNSUPPORTED_ALGORITHM',
    ],
    [
      'alg HS512 with the right secret',
      () =>
        encodeSymmetric(
          { iss: CLIENT_KEY, iat: nowS, exp: nowS + 60, qsh: qshOf('POST', WEBHOOK) },
          SECRET,
          SymmetricAlgorithm.HS512,
        ),
      'UNSUPPORTED_ALGORITHM',
    ],
    [
      'alg RS256 header',
      () =>
        handMade({ alg: 'RS256' }, { iss: CLIENT_KEY, iat: nowS, exp: nowS + 60, qsh: qshOf('POST', WEBHOOK) }, SECRET),
      'UNSUPPORTED_ALGORITHM',
    ],
    ['missing exp', () => token({ exp: undefined }), 'INVALID_CLAIMS'],
    ['exp as a string', () => token({ exp: String(nowS + 60) }), 'INVALID_CLAIMS'],
    ['missing iss', () => token({ iss: undefined }), 'INVALID_CLAIMS'],
    ['missing qsh', () => token({ qsh: undefined }), 'INVALID_CLAIMS'],
    ['expired beyond the 60 s leeway', () => token({ iat: nowS - 3700, exp: nowS - 61 }), 'EXPIRED'],
    ['issued 61 s in the future', () => token({ iat: nowS + 61, exp: nowS + 3600 }), 'NOT_YET_VALID'],
    ['nbf 61 s in the future', () => token({ nbf: nowS + 61 }), 'NOT_YET_VALID'],
    ['qsh of another path', () => token({ qsh: qshOf('POST', '/connect/installed') }), 'QSH_MISMATCH'],
    ['qsh of another method', () => token({ qsh: qshOf('GET', WEBHOOK) }), 'QSH_MISMATCH'],
    ['context-qsh where the request hash is required', () => token({ qsh: 'context-qsh' }), 'QSH_MISMATCH'],
    [
      'unknown iss',
      () => token({ iss: 'ari:cloud:bitbucket::app/{99999999-9999-4999-8999-999999999999}/clawgate' }),
      'UNKNOWN_TENANT',
    ],
    ['iss = app key (the outbound convention)', () => token({ iss: 'clawgate' }), 'UNKNOWN_TENANT'],
    [
      'an uninstalled tenant, signed with its stored secret',
      () => token({ iss: UNINSTALLED_KEY }, OTHER_SECRET),
      'TENANT_UNINSTALLED',
    ],
    ['a tenant whose install was never proven', () => token({ iss: UNVERIFIED_KEY }, OTHER_SECRET), 'UNKNOWN_TENANT'],
    [
      'a repository-webhook tenant signing with its HMAC secret',
      () => token({ iss: HOOKS_KEY }, OTHER_SECRET),
      'UNKNOWN_TENANT',
    ],
    ['iss of one tenant, signed with another tenant’s secret', () => token({}, OTHER_SECRET), 'BAD_SIGNATURE'],
  ];

  it.each(failures.map(([name, make, code]) => ({ name, make, code })))(
    'rejects $name → $code, writing nothing',
    async ({ make, code }) => {
      const before = await storeSnapshot(store, [WS, OTHER_WS]);
      const result = await verify(make());
      expect(result).toMatchObject({ ok: false, code });
      expect(await storeSnapshot(store, [WS, OTHER_WS])).toBe(before);
    },
  );

  it('failure messages never contain the token or the secret', async () => {
    const jwt = token({}, 'not-the-secret');
    const result = await verify(jwt);
    expect(JSON.stringify(result)).not.toContain(jwt.split('.')[2] ?? '');
    expect(JSON.stringify(result)).not.toContain(SECRET);
  });

  it('accepts clock skew within 60 s on exp, iat and nbf', async () => {
    expect((await verify(token({ iat: nowS - 3659, exp: nowS - 59 }))).ok).toBe(true);
    expect((await verify(token({ iat: nowS + 59 }))).ok).toBe(true);
    expect((await verify(token({ nbf: nowS + 59 }))).ok).toBe(true);
  });

  it('accepts an uninstalled tenant only where the caller asks (lifecycle re-install)', async () => {
    const jwt = token({ iss: UNINSTALLED_KEY, aud: UNINSTALLED_KEY }, OTHER_SECRET);
    expect(await verify(jwt, { acceptUninstalled: true })).toMatchObject({
      ok: true,
      tenant: { clientKey: UNINSTALLED_KEY },
    });
  });

  describe('qsh policies', () => {
    const panel = '/connect/panel?repo=%7Babc%7D&pr=7&jwt=ignored';
    const cases: [QshPolicy, string | undefined, boolean][] = [
      ['required', qshOf('GET', '/connect/panel?pr=7&repo=%7Babc%7D'), true],
      ['required', 'context-qsh', false],
      ['context', 'context-qsh', true],
      ['context', qshOf('GET', '/connect/panel?pr=7&repo=%7Babc%7D'), true],
      ['context', qshOf('GET', '/connect/panel?pr=8&repo=%7Babc%7D'), false],
      ['context', undefined, false],
      ['skip', 'anything', true],
      ['skip', undefined, true],
    ];
    it.each(cases)('%s with qsh %s → ok %s', async (policy, qsh, ok) => {
      const result = await verify(token({ qsh }), { method: 'GET', originalUrl: panel, qsh: policy });
      expect(result.ok).toBe(ok);
    });
  });
});

describe('requestQueryStringHash', () => {
  it('reproduces the bitbucket.md §3.3 vectors (jwt parameter dropped, parameters sorted)', () => {
    expect(requestQueryStringHash('POST', '/bitbucket/webhook', APP)).toBe(
      'dbcf4dcadc2373d44fff39fd9ecf9442792238144d029aa2502f63a9b6ed6393',
    );
    expect(requestQueryStringHash('GET', '/panel?repoUuid=%7Babc%7D&prId=7&jwt=xyz', APP)).toBe(
      '14b1237fb7567502b32f214e41945b5fed8ee94357c81a100a2eb38957cc443c',
    );
  });

  it('strips the app baseUrl path prefix whether or not a proxy already did', () => {
    const expected = 'dbcf4dcadc2373d44fff39fd9ecf9442792238144d029aa2502f63a9b6ed6393';
    expect(
      requestQueryStringHash('post', '/apps/clawgate/bitbucket/webhook', 'https://example.com/apps/clawgate'),
    ).toBe(expected);
    expect(requestQueryStringHash('POST', '/bitbucket/webhook', 'https://example.com/apps/clawgate')).toBe(expected);
  });
});

describe('a captured Bitbucket webhook token (toolchain-oss pullrequest_created)', () => {
  const capture = readSharedJson('bitbucket-fixtures', 'toolchain-oss', 'pullrequest_created.json') as {
    headers: Record<string, string>;
  };
  const captured = (capture.headers.Authorization ?? '').replace(/^JWT /, '');
  const claims = JSON.parse(Buffer.from(captured.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
    iss: string;
    iat: number;
    exp: number;
  };
  const capturedWs = '{acf54878-51be-473e-bf0b-0fbb12e011ad}';

  beforeAll(async () => {
    await store.tenants.upsertInstall({
      workspaceId: capturedWs,
      surface: 'connect',
      clientKey: claims.iss,
      sharedSecret: SECRET,
      verified: true,
      actor: 'test',
    });
  });

  const options = { originalUrl: '/bitbucket/webhook', now: new Date(claims.iat * 1000) };

  it('its exact claims, signed with the tenant secret, verify for POST /bitbucket/webhook at its issue time', async () => {
    const resigned = encodeSymmetric(claims, SECRET);
    expect(await verify(resigned, options)).toMatchObject({
      ok: true,
      tenant: { clientKey: claims.iss, workspaceId: capturedWs },
    });
    expect(await verify(resigned, { ...options, originalUrl: '/connect/webhook' })).toMatchObject({
      ok: false,
      code: 'QSH_MISMATCH',
    });
    expect(await verify(resigned, { ...options, now: new Date((claims.exp + 61) * 1000) })).toMatchObject({
      ok: false,
      code: 'EXPIRED',
    });
  });

  it('as captured (its secret was redacted from the fixture) it fails on the signature', async () => {
    expect(await verify(captured, options)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE', issuer: claims.iss });
  });
});

describe('connectTokenFrom', () => {
  const req = (authorization: string | undefined, originalUrl: string) => ({
    headers: authorization === undefined ? {} : { authorization },
    originalUrl,
  });
  it.each([
    ['the Authorization JWT header', req('JWT a.b.c', '/x'), 'a.b.c'],
    ['the jwt query parameter', req(undefined, '/x?y=1&jwt=a.b.c'), 'a.b.c'],
    ['both, equal', req('JWT a.b.c', '/x?jwt=a.b.c'), 'a.b.c'],
    ['both, different (ambiguous)', req('JWT a.b.c', '/x?jwt=d.e.f'), ''],
    ['jwt given twice', req(undefined, '/x?jwt=a.b.c&jwt=a.b.c'), ''],
    ['a Bearer header', req('Bearer a.b.c', '/x'), ''],
    ['nothing', req(undefined, '/x'), ''],
  ])('%s', (_name, request, expected) => {
    expect(connectTokenFrom(request)).toBe(expected);
  });
});
