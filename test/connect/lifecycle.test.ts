import { randomBytes } from 'node:crypto';
import { createQueryStringHash, encodeSymmetric, fromMethodAndUrl } from 'atlassian-jwt';
import { installedPayloadSchema, uninstalledPayloadSchema } from '../../src/connect';
import { InstallError } from '../../src/sandbox';
import { readSharedJson } from '../shared-data';
import { send, startConnectHarness, storeSnapshot, type ConnectHarness } from './support/connect-harness';

/** Install lifecycle against the sandbox Bitbucket: first-install proof, re-install rotation, uninstall. */

interface Capture {
  headers: Record<string, string>;
  payload: Record<string, unknown>;
}
const captured = (name: string): Capture =>
  readSharedJson('bitbucket-fixtures', 'toolchain-oss', `${name}.json`) as Capture;

const nowS = (): number => Math.floor(Date.now() / 1000);

/** A lifecycle token as Bitbucket signs it: iss = aud = clientKey, exp = iat + 3600, qsh over POST&<path>&. */
function lifecycleToken(
  clientKey: string,
  secret: string,
  path: string,
  overrides: Record<string, unknown> = {},
): string {
  const iat = nowS();
  return encodeSymmetric(
    {
      iss: clientKey,
      aud: clientKey,
      iat,
      exp: iat + 3600,
      qsh: createQueryStringHash(fromMethodAndUrl('POST', path), false),
      ...overrides,
    },
    secret,
  );
}

/** The captured install body, re-pointed at a sandbox workspace and this app. */
function installBody(
  h: ConnectHarness,
  workspace: { uuid: string; slug: string },
  sharedSecret: string,
  eventType: 'installed' | 'uninstalled' = 'installed',
): Record<string, unknown> {
  const { payload } = captured(eventType === 'installed' ? 'app_install_team' : 'app_uninstall_team');
  const principal = {
    ...(payload.principal as Record<string, unknown>),
    uuid: workspace.uuid,
    username: workspace.slug,
  };
  const body: Record<string, unknown> = {
    ...payload,
    principal,
    user: principal,
    key: h.config.appKey,
    clientKey: `ari:cloud:bitbucket::app/${workspace.uuid}/${h.config.appKey}`,
    baseUrl: h.sandbox.baseUrl,
    baseApiUrl: h.sandbox.baseUrl,
  };
  if (eventType === 'installed') body.sharedSecret = sharedSecret;
  return body;
}

async function post(h: ConnectHarness, path: string, body: unknown, authorization?: string) {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (authorization !== undefined) headers.Authorization = authorization;
  return send(`${h.baseUrl}${path}`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('captured lifecycle payloads', () => {
  it('the real installed payload (toolchain-oss) passes the schema unchanged', () => {
    const parsed = installedPayloadSchema.safeParse(captured('app_install_team').payload);
    expect(parsed.error?.issues).toBeUndefined();
    expect(parsed.data).toMatchObject({
      clientKey: 'ari:cloud:bitbucket::app/{acf54878-51be-473e-bf0b-0fbb12e011ad}/toolchain-dev',
      principal: { uuid: '{acf54878-51be-473e-bf0b-0fbb12e011ad}' },
    });
  });

  it('the real uninstalled payload passes its schema and has no secret', () => {
    const parsed = uninstalledPayloadSchema.safeParse(captured('app_uninstall_team').payload);
    expect(parsed.success).toBe(true);
    expect(installedPayloadSchema.safeParse(captured('app_uninstall_team').payload).success).toBe(false);
  });

  it('the captured install token has the claims the lifecycle checks: iss = aud = clientKey, exp = iat + 3600, qsh of the path', () => {
    const token = captured('app_install_team').headers.Authorization?.slice(4) ?? '';
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    const clientKey = captured('app_install_team').payload.clientKey;
    expect(claims).toEqual({
      iss: clientKey,
      aud: clientKey,
      iat: expect.any(Number),
      exp: (claims.iat as number) + 3600,
      qsh: createQueryStringHash(fromMethodAndUrl('POST', '/bitbucket/install'), false),
    });
  });
});

describe('install lifecycle with the sandbox', () => {
  let h: ConnectHarness;
  let clientKey: string;
  let firstSecret: string;

  beforeAll(async () => {
    h = await startConnectHarness();
  });
  afterAll(() => h.close());

  it('a first install is proven by an API call signed with the new secret, then stored as verified', async () => {
    const inst = await h.sandbox.installApp({ descriptorUrl: h.descriptorUrl, workspace: 'acme', actor: h.ann });
    clientKey = inst.clientKey;
    firstSecret = inst.sharedSecret;
    expect(h.sandbox.lifecycleLog.at(-1)).toMatchObject({ eventType: 'installed', signed: false, status: 204 });

    // The sandbox saw exactly one API call, signed as this installation, for the workspace, and accepted it.
    expect(h.sandbox.received.requests).toEqual([
      expect.objectContaining({
        method: 'GET',
        path: `/2.0/workspaces/${encodeURIComponent(h.acme.uuid)}`,
        principal: `connect:${clientKey}`,
        status: 200,
      }),
    ]);

    const tenant = await h.store.tenants.findByClientKey(clientKey);
    expect(tenant).toMatchObject({
      surface: 'connect',
      workspaceId: h.acme.uuid,
      workspaceSlug: 'acme',
      appKey: 'clawgate-test',
      baseUrl: h.sandbox.baseUrl,
      baseApiUrl: h.sandbox.baseUrl,
      uninstalledAt: null,
    });
    expect(tenant?.installVerifiedAt).toBeInstanceOf(Date);
    expect(tenant?.sharedSecret?.reveal()).toBe(firstSecret);
    const audit = await h.store.audit.query(h.acme.uuid);
    expect(audit.map((e) => e.kind)).toEqual(['tenant.installed']);
    expect(audit[0]).toMatchObject({ subject: clientKey, actor: `bitbucket:${h.ann.accountId}` });
    expect(JSON.stringify(audit)).not.toContain(firstSecret);
  });

  it('a re-install signed with the stored secret rotates the secret', async () => {
    const again = await h.sandbox.installApp({ descriptorUrl: h.descriptorUrl, workspace: 'acme', actor: h.ann });
    expect(h.sandbox.lifecycleLog.at(-1)).toMatchObject({ eventType: 'installed', signed: true, status: 204 });
    expect(again.sharedSecret).not.toBe(firstSecret);
    const tenant = await h.store.tenants.findByClientKey(clientKey);
    expect(tenant?.sharedSecret?.reveal()).toBe(again.sharedSecret);
    expect((await h.store.audit.query(h.acme.uuid)).map((e) => e.kind)).toEqual([
      'tenant.installed',
      'tenant.reinstalled',
    ]);
    // A re-install is authenticated by the old secret: no proof call is needed.
    expect(h.sandbox.received.requests).toHaveLength(1);
  });

  describe('a re-install that does not prove continuity is refused with 401 and changes nothing', () => {
    const cases: [string, (current: string) => string | undefined][] = [
      ['unsigned', () => undefined],
      ['signed with a wrong secret', () => `JWT ${lifecycleToken(clientKey, 'not-the-secret', '/connect/installed')}`],
      [
        'signed with the secret before the rotation',
        () => `JWT ${lifecycleToken(clientKey, firstSecret, '/connect/installed')}`,
      ],
      [
        'with the qsh of /connect/uninstalled',
        (current) => `JWT ${lifecycleToken(clientKey, current, '/connect/uninstalled')}`,
      ],
      [
        'expired',
        (current) =>
          `JWT ${lifecycleToken(clientKey, current, '/connect/installed', { iat: nowS() - 7200, exp: nowS() - 3600 })}`,
      ],
      [
        'with an aud naming another installation',
        (current) =>
          `JWT ${lifecycleToken(clientKey, current, '/connect/installed', { aud: 'ari:cloud:bitbucket::app/{0}/x' })}`,
      ],
      [
        'alg none',
        () =>
          `JWT ${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: clientKey, exp: nowS() + 60, qsh: 'x' })).toString('base64url')}.`,
      ],
    ];
    it.each(cases)('%s', async (_name, authorization) => {
      const current = (await h.store.tenants.findByClientKey(clientKey))?.sharedSecret?.reveal() ?? '';
      const before = await storeSnapshot(h.store, [h.acme.uuid]);
      const res = await post(
        h,
        '/connect/installed',
        installBody(h, h.acme, 'attacker-chosen-secret'),
        authorization(current),
      );
      expect(res.status).toBe(401);
      expect(res.json).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.any(String) } });
      expect(await storeSnapshot(h.store, [h.acme.uuid])).toBe(before);
    });
  });

  it('a re-install signed by another installation (its own secret, its own iss) is refused', async () => {
    const globex = h.sandbox.createWorkspace({ slug: 'globex' });
    const other = await h.sandbox.installApp({ descriptorUrl: h.descriptorUrl, workspace: 'globex' });
    const before = await storeSnapshot(h.store, [h.acme.uuid, globex.uuid]);
    const res = await post(
      h,
      '/connect/installed',
      installBody(h, h.acme, 'attacker-chosen-secret'),
      `JWT ${lifecycleToken(other.clientKey, other.sharedSecret, '/connect/installed')}`,
    );
    expect(res.status).toBe(401);
    expect(await storeSnapshot(h.store, [h.acme.uuid, globex.uuid])).toBe(before);
  });

  it('an unsigned uninstall is refused and the tenant stays installed', async () => {
    const res = await post(h, '/connect/uninstalled', installBody(h, h.acme, '', 'uninstalled'));
    expect(res.status).toBe(401);
    expect((await h.store.tenants.findByClientKey(clientKey))?.uninstalledAt).toBeNull();
  });

  it('uninstall (signed with the stored secret) marks the tenant uninstalled and keeps its row and audit trail', async () => {
    const { status } = await h.sandbox.uninstallApp({ clientKey });
    expect(status).toBe(204);
    const tenant = await h.store.tenants.findByClientKey(clientKey);
    expect(tenant?.uninstalledAt).toBeInstanceOf(Date);
    expect(tenant?.sharedSecret).not.toBeNull();
    expect((await h.store.audit.query(h.acme.uuid)).map((e) => e.kind)).toEqual([
      'tenant.installed',
      'tenant.reinstalled',
      'tenant.uninstalled',
    ]);
  });

  it('a repeated uninstall is acknowledged without writing again', async () => {
    const secret = (await h.store.tenants.findByClientKey(clientKey))?.sharedSecret?.reveal() ?? '';
    const before = await storeSnapshot(h.store, [h.acme.uuid]);
    const res = await post(
      h,
      '/connect/uninstalled',
      installBody(h, h.acme, '', 'uninstalled'),
      `JWT ${lifecycleToken(clientKey, secret, '/connect/uninstalled')}`,
    );
    expect(res.status).toBe(204);
    expect(await storeSnapshot(h.store, [h.acme.uuid])).toBe(before);
  });

  it('an install after uninstall, signed with the last secret, reattaches the tenant with a new secret', async () => {
    const back = await h.sandbox.installApp({ descriptorUrl: h.descriptorUrl, workspace: 'acme' });
    expect(h.sandbox.lifecycleLog.at(-1)).toMatchObject({ eventType: 'installed', signed: true, status: 204 });
    const tenant = await h.store.tenants.findByClientKey(clientKey);
    expect(tenant?.uninstalledAt).toBeNull();
    expect(tenant?.sharedSecret?.reveal()).toBe(back.sharedSecret);
    expect(await h.store.tenants.listForWorkspace(h.acme.uuid)).toHaveLength(1);
  });

  it('a forged first install (secret Bitbucket never issued) is refused: nothing stored, the proof call was rejected', async () => {
    const initech = h.sandbox.createWorkspace({ slug: 'initech' });
    const failuresBefore = h.sandbox.received.authFailures.length;
    const res = await post(h, '/connect/installed', installBody(h, initech, randomBytes(24).toString('base64url')));
    expect(res.status).toBe(403);
    expect(res.json).toEqual({ error: { code: 'INSTALL_NOT_PROVEN', message: expect.any(String) } });
    expect(await h.store.tenants.findByClientKey(`ari:cloud:bitbucket::app/${initech.uuid}/clawgate-test`)).toBeNull();
    expect(await storeSnapshot(h.store, [initech.uuid])).toBe(JSON.stringify([{ tenants: [], audit: [] }]));
    expect(h.sandbox.received.authFailures.slice(failuresBefore)).toEqual([
      expect.objectContaining({
        method: 'GET',
        path: `/2.0/workspaces/${encodeURIComponent(initech.uuid)}`,
        scheme: 'JWT',
      }),
    ]);
  });

  it('a first install naming a workspace other than its clientKey is refused before any call', async () => {
    const requests = h.sandbox.received.requests.length;
    const body = {
      ...installBody(h, h.acme, 'x'),
      clientKey: `ari:cloud:bitbucket::app/{00000000-0000-0000-0000-000000000000}/clawgate-test`,
    };
    const res = await post(h, '/connect/installed', body);
    expect(res.status).toBe(400);
    expect(h.sandbox.received.requests).toHaveLength(requests);
  });

  describe('invalid install payloads are answered 400 without any call or write', () => {
    const cases: [string, (body: Record<string, unknown>) => unknown, string][] = [
      ['no sharedSecret (personal-account install)', ({ sharedSecret: _s, ...rest }) => rest, 'sharedSecret'],
      ['productType jira', (body) => ({ ...body, productType: 'jira' }), 'productType'],
      ['eventType uninstalled', (body) => ({ ...body, eventType: 'uninstalled' }), 'eventType'],
      ['another app key', (body) => ({ ...body, key: 'someone-else' }), ''],
      ['principal without uuid', (body) => ({ ...body, principal: { username: 'x' } }), 'principal.uuid'],
      [
        'principal without a name',
        (body) => ({ ...body, principal: { uuid: (body.principal as { uuid: string }).uuid } }),
        'principal',
      ],
      ['baseApiUrl not a URL', (body) => ({ ...body, baseApiUrl: 'api.bitbucket.org' }), 'baseApiUrl'],
      ['an array', () => [], '(body)'],
    ];
    it.each(cases)('%s', async (_name, mutate, field) => {
      const requests = h.sandbox.received.requests.length;
      const tenants = await storeSnapshot(h.store, [h.acme.uuid]);
      const res = await post(h, '/connect/installed', mutate(installBody(h, h.acme, 'fresh-secret-value')));
      expect(res.status).toBe(400);
      const error = (res.json as { error: { code: string; fields?: { path: string; message: string }[] } }).error;
      expect(error.code).toBe('INVALID_INSTALL_PAYLOAD');
      if (field !== '') expect((error.fields ?? []).map((f) => f.path)).toContain(field);
      expect(res.text).not.toContain('fresh-secret-value');
      expect(h.sandbox.received.requests).toHaveLength(requests);
      expect(await storeSnapshot(h.store, [h.acme.uuid])).toBe(tenants);
    });

    it('malformed JSON', async () => {
      const res = await post(h, '/connect/installed', '{"clientKey":');
      expect(res.status).toBe(400);
      expect((res.json as { error: { code: string } }).error.code).toBe('MALFORMED_BODY');
    });

    it('a body over the lifecycle limit', async () => {
      const res = await post(h, '/connect/installed', {
        ...installBody(h, h.acme, 'x'),
        padding: 'x'.repeat(70 * 1024),
      });
      expect(res.status).toBe(413);
      expect((res.json as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
    });
  });

  it('never logs a shared secret', async () => {
    const secrets = h.sandbox.listInstallations().map((i) => i.sharedSecret);
    expect(secrets.length).toBeGreaterThan(0);
    for (const secret of [...secrets, firstSecret, 'attacker-chosen-secret', 'fresh-secret-value']) {
      expect(h.logs.join('\n')).not.toContain(secret);
    }
  });
});

describe('install hosts outside CLAWGATE_ALLOWED_HOSTS', () => {
  let h: ConnectHarness;
  beforeAll(async () => {
    h = await startConnectHarness({ allowSandboxHost: false });
  });
  afterAll(() => h.close());

  it('are refused with 403: nothing stored and the named host is never called', async () => {
    const attempt = h.sandbox.installApp({ descriptorUrl: h.descriptorUrl, workspace: 'acme' });
    await expect(attempt).rejects.toBeInstanceOf(InstallError);
    await expect(attempt).rejects.toMatchObject({ status: 403 });
    expect(h.sandbox.lifecycleLog.at(-1)).toMatchObject({ eventType: 'installed', status: 403 });
    expect(await storeSnapshot(h.store, [h.acme.uuid])).toBe(JSON.stringify([{ tenants: [], audit: [] }]));
    expect(h.sandbox.received.requests).toEqual([]);
  });

  it('a baseApiUrl on an allowed host but with plain http (non-loopback) or credentials is refused too', async () => {
    for (const baseApiUrl of ['http://api.bitbucket.org', 'https://user:pw@api.bitbucket.org']) {
      const body = { ...installBody(h, h.acme, 's3cret'), baseUrl: 'https://bitbucket.org', baseApiUrl };
      const res = await post(h, '/connect/installed', body);
      expect(res.status).toBe(403);
      expect((res.json as { error: { code: string } }).error.code).toBe('HOST_NOT_ALLOWED');
    }
    expect(h.sandbox.received.requests).toEqual([]);
  });
});

describe('replaying the captured install through the route (app key toolchain-dev, hosts re-pointed at the sandbox)', () => {
  let h: ConnectHarness;
  beforeAll(async () => {
    h = await startConnectHarness({ appKey: 'toolchain-dev' });
  });
  afterAll(() => h.close());

  it('passes validation and reaches the proof, which Bitbucket (the sandbox) does not accept: refused, nothing stored', async () => {
    const { payload } = captured('app_install_team');
    const res = await post(h, '/connect/installed', {
      ...payload,
      baseUrl: h.sandbox.baseUrl,
      baseApiUrl: h.sandbox.baseUrl,
    });
    expect(res.status).toBe(403);
    expect((res.json as { error: { code: string } }).error.code).toBe('INSTALL_NOT_PROVEN');
    expect(h.sandbox.received.requests).toEqual([
      expect.objectContaining({
        method: 'GET',
        path: '/2.0/workspaces/%7Bacf54878-51be-473e-bf0b-0fbb12e011ad%7D',
        status: 401,
      }),
    ]);
    expect(await h.store.tenants.findByClientKey(payload.clientKey as string)).toBeNull();
  });
});
