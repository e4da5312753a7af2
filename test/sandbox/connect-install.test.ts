import { createQueryStringHash, decodeSymmetric, fromMethodAndUrl, SymmetricAlgorithm } from 'atlassian-jwt';
import { createHash } from 'node:crypto';
import { InstallError, startSandbox, type BitbucketSandbox } from '../../src/sandbox';
import { appJwt, call } from './support/api-client';
import { startAppReceiver, type AppReceiver } from './support/app-receiver';
import { readFixture } from './support/openapi-validator';

/** The Connect install lifecycle (first install unsigned, later ones signed with the stored secret) against a real HTTP receiver. */

let sandbox: BitbucketSandbox;
let app: AppReceiver;

beforeEach(async () => {
  sandbox = await startSandbox();
  app = await startAppReceiver({ pathPrefix: '/app' });
  sandbox.createWorkspace({ slug: 'acme', name: 'Acme Inc' });
  sandbox.createUser({ nickname: 'ann' });
  sandbox.createRepository({ workspace: 'acme', slug: 'widgets', files: { 'a.txt': 'a\n' } });
});
afterEach(async () => {
  await sandbox.waitForDeliveries();
  await sandbox.close();
  await app.close();
});

type Payload = Record<string, unknown>;
const claimsOf = (authorization: string | string[] | undefined, secret: string): Record<string, unknown> =>
  decodeSymmetric(String(authorization).replace(/^JWT /, ''), secret, SymmetricAlgorithm.HS256) as Record<
    string,
    unknown
  >;
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

async function apiStatus(clientKey: string, secret: string): Promise<number> {
  const path = '/2.0/repositories/acme/widgets';
  const jwt = appJwt({ key: 'clawgate-test', clientKey, secret, method: 'GET', pathAndQuery: path });
  return (await call(`${sandbox.baseUrl}${path}`, { authorization: `JWT ${jwt}` })).status;
}

describe('installApp', () => {
  it('first install: GETs the descriptor and POSTs an unsigned installed payload shaped like the capture', async () => {
    const inst = await sandbox.installApp({ descriptorUrl: app.descriptorUrl, workspace: 'acme', actor: 'ann' });
    const [req] = app.at('/installed');
    expect(req).toBeDefined();
    expect(req?.headers.authorization).toBeUndefined();
    expect(req?.headers['content-type']).toBe('application/json');
    const body = req?.json as Payload;
    const captured = (readFixture('toolchain-oss/app_install_team.json') as { payload: Payload }).payload;
    expect(Object.keys(body).sort()).toEqual(Object.keys(captured).sort());
    const ws = sandbox.workspace('acme');
    const ann = sandbox.user('ann');
    expect(body).toEqual(
      expect.objectContaining({
        productType: 'bitbucket',
        eventType: 'installed',
        key: 'clawgate-test',
        clientKey: `ari:cloud:bitbucket::app/${ws.uuid}/clawgate-test`,
        sharedSecret: inst.sharedSecret,
        baseUrl: sandbox.baseUrl,
        baseApiUrl: sandbox.baseUrl,
        actor: { type: 'user', uuid: ann.uuid.slice(1, -1), account_id: ann.accountId },
      }),
    );
    expect(body.principal).toEqual(
      expect.objectContaining({
        type: 'team',
        uuid: ws.uuid,
        username: 'acme',
        display_name: 'Acme Inc',
        is_active: true,
      }),
    );
    expect(body.user).toEqual(body.principal);
    expect(Buffer.from(String(body.publicKey), 'base64').length).toBeGreaterThan(100);
    expect(inst.sharedSecret.length).toBeGreaterThanOrEqual(32);
    expect(inst.sharedSecret.length).toBeLessThanOrEqual(128);
    expect(inst.webhooks).toEqual([
      { event: '*', url: `${app.baseUrl}/webhook`, hookUuid: expect.stringMatching(/^[0-9a-f-]{36}$/) },
    ]);
    expect(await apiStatus(inst.clientKey, inst.sharedSecret)).toBe(200);
  });

  it('re-install: signed with the PREVIOUS secret (iss = aud = clientKey, exp = iat + 3600, qsh of the lifecycle path), then a new secret', async () => {
    const first = await sandbox.installApp({ descriptorUrl: app.descriptorUrl, workspace: 'acme' });
    const second = await sandbox.installApp({ descriptorUrl: app.descriptorUrl, workspace: 'acme' });
    expect(second.clientKey).toBe(first.clientKey);
    expect(second.sharedSecret).not.toBe(first.sharedSecret);
    const req = app.at('/installed')[1];
    expect(() => claimsOf(req?.headers.authorization, second.sharedSecret)).toThrow();
    const claims = claimsOf(req?.headers.authorization, first.sharedSecret);
    expect(claims.iss).toBe(first.clientKey);
    expect(claims.aud).toEqual([first.clientKey]);
    expect(Number(claims.exp) - Number(claims.iat)).toBe(3600);
    // The app lives under /app: the qsh covers the path relative to its baseUrl, like the capture's.
    expect(claims.qsh).toBe(sha('POST&/installed&'));
    expect(claims.qsh).toBe(
      createQueryStringHash(fromMethodAndUrl('POST', `${app.baseUrl}/installed`), false, app.baseUrl),
    );
    expect((req?.json as Payload).sharedSecret).toBe(second.sharedSecret);
    expect(await apiStatus(first.clientKey, first.sharedSecret)).toBe(401);
    expect(await apiStatus(second.clientKey, second.sharedSecret)).toBe(200);
  });

  it('uninstall: signed with the current secret, no sharedSecret in the body, then the installation stops working', async () => {
    const inst = await sandbox.installApp({ descriptorUrl: app.descriptorUrl, workspace: 'acme' });
    const result = await sandbox.uninstallApp({ clientKey: inst.clientKey });
    expect(result.status).toBe(204);
    const [req] = app.at('/uninstalled');
    const body = req?.json as Payload;
    expect(body.eventType).toBe('uninstalled');
    expect(body).not.toHaveProperty('sharedSecret');
    const captured = (readFixture('toolchain-oss/app_uninstall_team.json') as { payload: Payload }).payload;
    expect(Object.keys(body).sort()).toEqual(Object.keys(captured).concat('actor').sort());
    const claims = claimsOf(req?.headers.authorization, inst.sharedSecret);
    expect(claims).toEqual(expect.objectContaining({ iss: inst.clientKey, qsh: sha('POST&/uninstalled&') }));
    expect(sandbox.getInstallation({ clientKey: inst.clientKey })?.status).toBe('uninstalled');
    expect(await apiStatus(inst.clientKey, inst.sharedSecret)).toBe(401);
    sandbox.commit('acme/widgets', { branch: 'x', author: 'ann', message: 'm', files: { b: 'b' } });
    await sandbox.waitForDeliveries();
    expect(app.at('/webhook')).toHaveLength(0);
    await expect(sandbox.uninstallApp({ clientKey: inst.clientKey })).rejects.toThrow(InstallError);
  });

  it('install after uninstall is signed with the secret of the last install', async () => {
    const first = await sandbox.installApp({ descriptorUrl: app.descriptorUrl, workspace: 'acme' });
    await sandbox.uninstallApp({ key: 'clawgate-test', workspace: 'acme' });
    const again = await sandbox.installApp({ descriptorUrl: app.descriptorUrl, workspace: 'acme' });
    const req = app.at('/installed')[1];
    expect(claimsOf(req?.headers.authorization, first.sharedSecret).iss).toBe(first.clientKey);
    expect(again.status).toBe('installed');
    expect(sandbox.lifecycleLog.map((l) => `${l.eventType}:${l.signed}:${l.status}`)).toEqual([
      'installed:false:204',
      'uninstalled:true:204',
      'installed:true:204',
    ]);
  });

  it('a failed installed callback leaves the previous installation and secret in place', async () => {
    const first = await sandbox.installApp({ descriptorUrl: app.descriptorUrl, workspace: 'acme' });
    app.respondWith('/installed', 500);
    await expect(sandbox.installApp({ descriptorUrl: app.descriptorUrl, workspace: 'acme' })).rejects.toThrow(
      /installed callback answered 500/,
    );
    expect(sandbox.getInstallation({ clientKey: first.clientKey })?.sharedSecret).toBe(first.sharedSecret);
    expect(await apiStatus(first.clientKey, first.sharedSecret)).toBe(200);
  });

  it('refuses descriptors with unknown scopes or without lifecycle.installed', async () => {
    app.descriptorOverride = { ...(app.descriptor() as Payload), scopes: ['repository', 'admin:everything'] };
    await expect(sandbox.installApp({ descriptorUrl: app.descriptorUrl, workspace: 'acme' })).rejects.toThrow(
      /unknown scopes admin:everything/,
    );
    app.descriptorOverride = { ...(app.descriptor() as Payload), scopes: undefined, lifecycle: {} };
    await expect(sandbox.installApp({ descriptorUrl: app.descriptorUrl, workspace: 'acme' })).rejects.toThrow(
      InstallError,
    );
    expect(app.at('/installed')).toHaveLength(0);
  });

  it('accepts an API call signed with the new secret while the app is still handling `installed`', async () => {
    const seen: number[] = [];
    app.beforeAnswer = async (req) => {
      if (req.path !== '/installed') return;
      const body = req.json as { clientKey: string; sharedSecret: string; baseApiUrl: string };
      const jwt = appJwt({
        key: 'clawgate-test',
        clientKey: body.clientKey,
        secret: body.sharedSecret,
        method: 'GET',
        pathAndQuery: '/2.0/workspaces/acme',
      });
      seen.push((await call(`${body.baseApiUrl}/2.0/workspaces/acme`, { authorization: `JWT ${jwt}` })).status);
    };
    const first = await sandbox.installApp({ descriptorUrl: app.descriptorUrl, workspace: 'acme' });
    app.respondWith('/installed', 503);
    await expect(sandbox.installApp({ descriptorUrl: app.descriptorUrl, workspace: 'acme' })).rejects.toThrow(
      InstallError,
    );
    expect(seen).toEqual([200, 200]);
    // the secret offered by the failed re-install was never committed
    const offered = (app.at('/installed')[1]?.json as { sharedSecret: string }).sharedSecret;
    expect(offered).not.toBe(first.sharedSecret);
    expect(await apiStatus(first.clientKey, offered)).toBe(401);
    expect(await apiStatus(first.clientKey, first.sharedSecret)).toBe(200);
  });

  it('createConnectJwt mints what an installed app would send', async () => {
    const inst = await sandbox.installApp({ descriptorUrl: app.descriptorUrl, workspace: 'acme' });
    const url = '/2.0/repositories/acme/widgets?fields=full_name';
    const jwt = sandbox.createConnectJwt({ clientKey: inst.clientKey, method: 'GET', url });
    expect((await call(`${sandbox.baseUrl}${url}`, { authorization: `JWT ${jwt}` })).status).toBe(200);
  });
});
