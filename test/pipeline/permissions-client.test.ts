import pino from 'pino';
import {
  BitbucketAuthError,
  BitbucketInputError,
  accountRefFrom,
  bearerAuth,
  createBitbucketClient,
  type BitbucketClient,
} from '../../src/bitbucket';
import { agentIdentityOf } from '../../src/pipeline/agent-identities';
import { startSandbox, type BitbucketSandbox } from '../../src/sandbox';
import { defaultWorkspaceSettings } from '../../src/store';

/** The permission look-ups clawgate makes (re-check by comment, page write gate), against the sandbox over HTTP. */
describe('repository and workspace permissions through the client', () => {
  let sandbox: BitbucketSandbox;
  let client: BitbucketClient;
  let accountOnly: BitbucketClient;

  beforeAll(async () => {
    sandbox = await startSandbox();
    sandbox.createWorkspace({ slug: 'acme' });
    sandbox.createUser({ nickname: 'alice' });
    sandbox.createUser({ nickname: 'bob' });
    sandbox.createRepository({ workspace: 'acme', slug: 'web', author: 'alice', files: { 'a.txt': 'a' } });
    const make = (scopes: string[]) => {
      const { token } = sandbox.createAccessToken({ workspace: 'acme' }, scopes);
      return createBitbucketClient({
        baseApiUrl: sandbox.baseUrl,
        auth: bearerAuth(() => token),
        allowedHosts: [new URL(sandbox.baseUrl).host],
        logger: pino({ level: 'silent' }),
        retry: { maxAttempts: 1 },
      });
    };
    client = make(['repository', 'account']);
    accountOnly = make(['account']);
  });

  afterAll(async () => {
    await sandbox.close();
  });

  test('repository permission by uuid: creator admin, others read, overrides win; the main branch is read too', async () => {
    const alice = sandbox.user('alice');
    const bob = sandbox.user('bob');
    expect(await client.getRepositoryPermission('acme', 'web', { uuid: alice.uuid })).toBe('admin');
    expect(await client.getRepositoryPermission('acme', 'web', { uuid: bob.uuid })).toBe('read');
    sandbox.setRepositoryPermission('acme/web', 'bob', 'write');
    expect(await client.getRepositoryPermission('acme', 'web', accountRefFrom(bob.uuid.toUpperCase()))).toBe('write');
    expect(
      await client.getRepositoryPermission('acme', 'web', { uuid: '{00000000-0000-4000-8000-000000000000}' }),
    ).toBe('none');
    expect((await client.getRepository('acme', 'web')).mainbranch?.name).toBe('main');
  });

  test('workspace permission by account id or uuid: the workspace admin owns it, others are members, strangers are not listed', async () => {
    const admin = sandbox.workspaceAdmin('acme');
    expect(await client.getWorkspacePermission('acme', accountRefFrom(admin.accountId))).toBe('owner');
    expect(await client.getWorkspacePermission('acme', accountRefFrom(admin.uuid))).toBe('owner');
    expect(await client.getWorkspacePermission('acme', accountRefFrom(sandbox.user('alice').accountId))).toBe('member');
    expect(await client.getWorkspacePermission('acme', { accountId: '557058:nobody' })).toBeNull();
  });

  test('a crafted account reference never reaches the query; a missing scope is an auth error', async () => {
    expect(() => accountRefFrom('x" OR user.uuid!="')).toThrow(BitbucketInputError);
    await expect(client.getWorkspacePermission('acme', { accountId: 'a" OR permission="owner' })).rejects.toThrow(
      BitbucketInputError,
    );
    await expect(client.getRepositoryPermission('acme', 'web', { uuid: '{not-a-uuid}' })).rejects.toThrow(
      BitbucketInputError,
    );
    await expect(
      accountOnly.getRepositoryPermission('acme', 'web', { uuid: sandbox.user('alice').uuid }),
    ).rejects.toThrow(BitbucketAuthError);
  });
});

describe('agent identities', () => {
  test('match without braces or case; a revoked account is still an agent; a double registration takes the weaker role', () => {
    const settings = defaultWorkspaceSettings();
    settings.agents = [
      { account_uuid: '{AAAAAAAA-0000-4000-8000-000000000001}', role: 'write' },
      { account_uuid: 'bbbbbbbb-0000-4000-8000-000000000002', role: 'write' },
      { account_uuid: '{bbbbbbbb-0000-4000-8000-000000000002}', role: 'read' },
    ];
    settings.revocations.account_uuids = ['aaaaaaaa-0000-4000-8000-000000000001'];
    expect(agentIdentityOf(settings, '{aaaaaaaa-0000-4000-8000-000000000001}')).toMatchObject({
      role: 'write',
      revoked: true,
    });
    expect(agentIdentityOf(settings, '{BBBBBBBB-0000-4000-8000-000000000002}')).toMatchObject({
      role: 'read',
      revoked: false,
    });
    expect(agentIdentityOf(settings, '{cccccccc-0000-4000-8000-000000000003}')).toBeNull();
    expect(agentIdentityOf(settings, null)).toBeNull();
  });
});
