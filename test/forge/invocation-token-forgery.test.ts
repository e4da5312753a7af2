import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey } from 'jose';
import { createFitVerifier, JWKS_COOLDOWN_MS } from '../../src/forge';
import { SandboxForge, startSandbox, type BitbucketSandbox, type ForgeInstallation } from '../../src/sandbox';
import type { ClawgateServer } from '../../src/server/create-server';
import { startForgeClawgate } from '../e2e/forge-harness';

/**
 * Forge Invocation Token forgeries against every Forge endpoint, signed with the test's own keys and
 * checked against the sandbox Forge's JWKS: each is 401, and nothing is stored (no tenant, no audit
 * event) and nothing is called on Bitbucket. The same token, correctly made, is accepted (control).
 */

const ENDPOINTS = [
  '/forge/events',
  '/forge/merge-check',
  '/forge/lifecycle',
  '/forge/pre-uninstall',
  '/forge/ui/api/v1/workspaces/acme/settings',
] as const;

describe('Forge invocation tokens: the forgery matrix is 401 with nothing stored', () => {
  let sandbox: BitbucketSandbox;
  let forge: SandboxForge;
  let app: ClawgateServer;
  let installation: ForgeInstallation;
  let claims: Record<string, unknown>;
  let workspaceUuid: string;

  beforeAll(async () => {
    sandbox = await startSandbox();
    forge = await SandboxForge.create(sandbox);
    sandbox.createWorkspace({ slug: 'acme' });
    workspaceUuid = sandbox.workspace('acme').uuid;
    app = await startForgeClawgate(sandbox, forge);
    // An installation Forge knows about but clawgate has never heard from (no lifecycle call yet).
    installation = {
      installationId: `ari:cloud:ecosystem::installation/${randomUUID()}`,
      workspaceUuid,
      remoteBaseUrl: app.url,
      systemToken: sandbox.createAccessToken({ workspace: 'acme' }, ['repository']).token,
      systemTokenId: 'x',
      status: 'installed',
    };
    const genuine = await forge.mintFit(installation, { principal: sandbox.workspaceAdmin('acme').accountId });
    claims = JSON.parse(Buffer.from(genuine.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
  });
  afterAll(async () => {
    await app.close();
    await sandbox.close();
  });

  const now = () => Math.floor(Date.now() / 1000);
  const body = {
    workspace: { uuid: '{00000000-0000-4000-8000-000000000000}' },
    repository: { uuid: '{00000000-0000-4000-8000-000000000001}' },
    pullrequest: { id: 1 },
    trigger: { type: 'on-merge' },
  };

  async function otherKey(): Promise<CryptoKey> {
    return (await generateKeyPair('RS256', { extractable: true })).privateKey as CryptoKey;
  }

  const forgeries: [string, () => Promise<string>][] = [
    ['alg none (unsigned)', async () => new UnsecuredJWT(claims).encode()],
    [
      'alg HS256 keyed with the public JWK (algorithm confusion)',
      async () => {
        const secret = new TextEncoder().encode(JSON.stringify(await fetch(forge.jwksUrl).then((r) => r.json())));
        return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: forge.kid }).sign(secret);
      },
    ],
    [
      'another key under the genuine kid',
      async () => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: forge.kid }).sign(await otherKey()),
    ],
    [
      'another key under an unknown kid',
      async () =>
        new SignJWT(claims)
          .setProtectedHeader({ alg: 'RS256', kid: `forge/invocation-token/${randomUUID()}` })
          .sign(await otherKey()),
    ],
    ['no kid', async () => new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).sign(await otherKey())],
    [
      'aud of another app',
      async () => forge.mintFit(installation, { claims: { aud: `ari:cloud:ecosystem::app/${randomUUID()}` } }),
    ],
    [
      'iss not forge/invocation-token',
      async () => forge.mintFit(installation, { claims: { iss: 'forge/context-token' } }),
    ],
    [
      'expired beyond the skew',
      async () => forge.mintFit(installation, { claims: { iat: now() - 600, nbf: now() - 600, exp: now() - 120 } }),
    ],
    [
      'not valid yet (nbf beyond the skew)',
      async () => forge.mintFit(installation, { claims: { nbf: now() + 300, exp: now() + 400 } }),
    ],
    [
      'app.id of another app (aud right)',
      async () =>
        forge.mintFit(installation, {
          claims: { app: { ...(claims.app as object), id: `ari:cloud:ecosystem::app/${randomUUID()}` } },
        }),
    ],
    [
      'payload swapped after signing',
      async () => {
        const [header, , signature] = (await forge.mintFit(installation)).split('.');
        const evil = Buffer.from(JSON.stringify({ ...claims, principal: 'evil' })).toString('base64url');
        return `${header}.${evil}.${signature}`;
      },
    ],
    ['not a JWT', async () => 'not-a-token'],
  ];

  test.each(forgeries)('%s → 401 on every endpoint, nothing stored', async (_name, make) => {
    const token = await make();
    const before = sandbox.received.requests.length;
    for (const path of ENDPOINTS) {
      const response = await fetch(`${app.url}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'x-forge-oauth-system': installation.systemToken,
        },
        body: JSON.stringify(body),
      });
      expect([path, response.status]).toEqual([path, 401]);
      expect(response.headers.get('content-type')).toContain('application/json');
    }
    expect(await app.store.tenants.listAll()).toEqual([]);
    expect(await app.store.audit.query(workspaceUuid)).toEqual([]);
    expect(sandbox.received.requests.length).toBe(before);
  });

  test('no Authorization, or another scheme, is 401 too', async () => {
    const variants: Record<string, string>[] = [
      {},
      { authorization: 'Basic YTpi' },
      { authorization: `JWT ${await forge.mintFit(installation)}` },
    ];
    for (const headers of variants) {
      const response = await fetch(`${app.url}/forge/merge-check`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(401);
    }
    expect(await app.store.tenants.listAll()).toEqual([]);
  });

  test('control: the genuine token is accepted and maps the installation to the workspace', async () => {
    const response = await fetch(`${app.url}/forge/lifecycle`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await forge.mintFit(installation)}`,
        'content-type': 'application/json',
        'x-forge-oauth-system': installation.systemToken,
      },
      body: JSON.stringify({ eventType: 'avi:forge:installed:app' }),
    });
    expect(response.status).toBe(200);
    const tenants = await app.store.tenants.listAll();
    expect(tenants.map((t) => [t.surface, t.clientKey, t.workspaceId])).toEqual([
      ['forge', installation.installationId, workspaceUuid],
    ]);
  });
});

describe('Forge JWKS: cached, refreshed on an unknown kid at most once per cooldown', () => {
  test('a flood of unknown kids costs one refetch; a rotated-in key is picked up after the cooldown', async () => {
    const appId = `ari:cloud:ecosystem::app/${randomUUID()}`;
    const first = await generateKeyPair('RS256', { extractable: true });
    const second = await generateKeyPair('RS256', { extractable: true });
    const keys = [{ ...(await exportJWK(first.publicKey)), kid: 'k1', alg: 'RS256' }];
    let fetches = 0;
    // The network: Atlassian's JWKS endpoint (the verifier under test is real).
    const jwksFetch = (async () => {
      fetches += 1;
      return new Response(JSON.stringify({ keys }), { status: 200, headers: { 'content-type': 'application/json' } });
    }) as unknown as typeof fetch;
    let nowMs = Date.now();
    void nowMs;
    const verifier = createFitVerifier({
      config: { appId, jwksUrl: 'https://forge.example.test/jwks.json' },
      fetch: jwksFetch,
      now: () => new Date(nowMs),
    });
    const installationId = `ari:cloud:ecosystem::installation/${randomUUID()}`;
    const fitClaims = {
      app: {
        id: appId,
        installationId,
        apiBaseUrl: 'https://api.bitbucket.org',
        installation: { contexts: [{ name: 'bitbucket', workspaceId: randomUUID() }] },
      },
    };
    const sign = (key: CryptoKey, kid: string) =>
      new SignJWT(fitClaims)
        .setProtectedHeader({ alg: 'RS256', kid })
        .setIssuer('forge/invocation-token')
        .setAudience(appId)
        .setIssuedAt()
        .setExpirationTime('25s')
        .sign(key);

    expect((await verifier.verify(`Bearer ${await sign(first.privateKey as CryptoKey, 'k1')}`)).ok).toBe(true);
    expect(fetches).toBe(1);
    for (let i = 0; i < 20; i += 1) {
      const result = await verifier.verify(`Bearer ${await sign(second.privateKey as CryptoKey, `unknown-${i}`)}`);
      expect(result.ok).toBe(false);
    }
    expect(fetches).toBeLessThanOrEqual(2);
    // Atlassian rotates: k2 is published. Once the cooldown has passed (jose reads Date.now), the
    // first token under k2 triggers one refetch and verifies.
    keys.push({ ...(await exportJWK(second.publicKey)), kid: 'k2', alg: 'RS256' });
    const beforeRotation = fetches;
    const realNow = Date.now();
    const clock = jest.spyOn(Date, 'now').mockReturnValue(realNow + JWKS_COOLDOWN_MS + 1_000);
    try {
      nowMs = realNow + JWKS_COOLDOWN_MS + 1_000;
      const token = await new SignJWT(fitClaims)
        .setProtectedHeader({ alg: 'RS256', kid: 'k2' })
        .setIssuer('forge/invocation-token')
        .setAudience(appId)
        .setIssuedAt(Math.floor(nowMs / 1000))
        .setExpirationTime(Math.floor(nowMs / 1000) + 25)
        .sign(second.privateKey as CryptoKey);
      expect((await verifier.verify(`Bearer ${token}`)).ok).toBe(true);
    } finally {
      clock.mockRestore();
    }
    expect(fetches).toBe(beforeRotation + 1);
  });
});
