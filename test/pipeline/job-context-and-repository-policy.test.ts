import { randomBytes, randomUUID } from 'node:crypto';
import pino from 'pino';
import { loadAppConfig } from '../../src/config/app-config';
import { parseBitbucketWpc } from '../../src/core/policy';
import { openJobContext } from '../../src/pipeline/job-context';
import { policyForRepository } from '../../src/pipeline/repository-policy';
import { openStore, type Store } from '../../src/store';
import { makeBitbucketWpc } from '../../src/testkit';

/** The two pieces evaluation/ and operations/ share, against a real (SQLite) store. */
const logger = pino({ level: 'silent' });
const config = loadAppConfig({ APP_BASE_URL: 'https://clawgate.example' });
let store: Store;

beforeEach(async () => {
  store = await openStore('sqlite::memory:', { secretKey: randomBytes(32) });
});
afterEach(async () => {
  await store.close();
});

async function install(workspaceId: string): Promise<string> {
  const clientKey = `connect:${randomUUID()}`;
  await store.tenants.upsertInstall({
    workspaceId,
    workspaceSlug: 'acme',
    surface: 'connect',
    clientKey,
    sharedSecret: randomBytes(32).toString('base64url'),
    baseUrl: 'https://bitbucket.org',
    baseApiUrl: 'https://api.bitbucket.org',
    verified: true,
    actor: 'test',
  });
  return clientKey;
}

describe('openJobContext', () => {
  test('opens a job of an installed tenant: its client and the repository slugs', async () => {
    const workspaceId = `{${randomUUID()}}`;
    const clientKey = await install(workspaceId);
    const ctx = await openJobContext(
      { store, config, logger },
      { workspaceId, clientKey, repoFullName: 'acme/widgets', deliveryId: 'd-1' },
      logger,
      'dropped',
    );
    expect(ctx).not.toBeNull();
    expect(ctx?.tenant.clientKey).toBe(clientKey);
    expect([ctx?.workspace, ctx?.repoSlug]).toEqual(['acme', 'widgets']);
    expect(typeof ctx?.client.getPullRequest).toBe('function');
  });

  test('drops a job whose tenant is unknown, uninstalled, or belongs to another workspace', async () => {
    const workspaceId = `{${randomUUID()}}`;
    const clientKey = await install(workspaceId);
    const open = (job: { workspaceId: string; clientKey: string }) =>
      openJobContext(
        { store, config, logger },
        { ...job, repoFullName: 'acme/widgets', deliveryId: 'd-2' },
        logger,
        'dropped',
      );
    expect(await open({ workspaceId, clientKey: 'connect:unknown' })).toBeNull();
    // A job naming another workspace than the tenant's own must not act for that tenant.
    expect(await open({ workspaceId: `{${randomUUID()}}`, clientKey })).toBeNull();
    await store.tenants.markUninstalled(clientKey, 'test');
    expect(await open({ workspaceId, clientKey })).toBeNull();
  });
});

describe('policyForRepository', () => {
  async function storePolicy(workspaceId: string, repos: string[]): Promise<string> {
    const document = makeBitbucketWpc({ repos });
    const parsed = parseBitbucketWpc(document);
    if (!parsed.ok) throw new Error('test WPC invalid');
    await store.policies.create(workspaceId, {
      policyHashB64u: parsed.policyHashB64u,
      documentText: JSON.stringify(document),
      actor: 'test',
    });
    return parsed.policyHashB64u;
  }

  test('the first matching assignment wins, case-insensitively; no match is unassigned', async () => {
    const workspaceId = `{${randomUUID()}}`;
    const first = await storePolicy(workspaceId, ['acme/widgets']);
    const second = await storePolicy(workspaceId, ['acme/gadgets']);
    await store.assignments.replace(
      workspaceId,
      [
        { repoGlob: 'acme/WID*', policyHashB64u: first, mode: 'warn' },
        { repoGlob: 'acme/*', policyHashB64u: second },
      ],
      'test',
    );
    const widgets = await policyForRepository(store, workspaceId, 'acme/widgets');
    expect(widgets).toMatchObject({ assigned: true, mode: 'warn', policy: { hash: first } });
    expect((await policyForRepository(store, workspaceId, 'acme/gadgets')).policy?.hash).toBe(second);
    expect(await policyForRepository(store, workspaceId, 'other/repo')).toEqual({ mode: null, assigned: false });
  });

  test('an assignment whose policy was retired is assigned without a policy (fails closed downstream)', async () => {
    const workspaceId = `{${randomUUID()}}`;
    const hash = await storePolicy(workspaceId, ['acme/widgets']);
    await store.assignments.replace(workspaceId, [{ repoGlob: 'acme/widgets', policyHashB64u: hash }], 'test');
    await store.policies.retire(workspaceId, hash, 'test');
    const result = await policyForRepository(store, workspaceId, 'acme/widgets');
    expect(result.assigned).toBe(true);
    expect(result.policy).toBeUndefined();
  });
});
