import { jcsHashB64u } from '../../src/core/clawsig/hashing';
import { defaultWorkspaceSettings, type Store } from '../../src/store';
import { backendsUnderTest } from './support/postgres';
import { BackendDatabase, newWorkspaceId, randomSha } from './support/store-fixture';

/**
 * Workspace A must not read or change anything of workspace B through any repository, even when
 * it knows B's identifiers (policy hash, bundle id, evaluation id, token id, client key).
 */
describe.each(backendsUnderTest('tenant-isolation.test'))('tenant isolation on %s', (backend) => {
  const database = new BackendDatabase(backend, 'isolation');
  let store: Store;
  const A = newWorkspaceId();
  const B = newWorkspaceId();
  const policy = { tool: 'bitbucket_via_official_api', policy: { repos_allowlist: ['b/repo'] } };
  const policyHash = jcsHashB64u(policy);
  let evaluationIdOfB = '';
  let tokenIdOfB = '';
  let tokenOfB = '';

  beforeAll(async () => {
    await database.setUp();
    store = await database.open();
    for (const ws of [A, B]) {
      await store.tenants.upsertInstall({
        workspaceId: ws,
        workspaceSlug: ws === A ? 'alpha' : 'beta',
        surface: 'connect',
        clientKey: `ck:${ws}`,
        sharedSecret: `secret-of-${ws}`,
        actor: 'setup',
      });
    }
    await store.settings.put(B, { ...defaultWorkspaceSettings(), mode: 'enforce' }, { actor: 'b-admin' });
    await store.policies.create(B, {
      policyHashB64u: policyHash,
      documentText: JSON.stringify(policy),
      actor: 'b-admin',
    });
    await store.assignments.replace(B, [{ repoGlob: 'b/*', policyHashB64u: policyHash }], 'b-admin');
    await store.bundles.put(B, { bundleId: 'bundle-b', envelopeText: '{"b":1}', source: 'api' });
    evaluationIdOfB = (
      await store.evaluations.insert(B, {
        repoFullName: 'b/repo',
        prId: 1,
        headSha: randomSha(),
        state: 'PASS',
        mode: 'enforce',
        statusState: 'SUCCESSFUL',
        verdict: {},
        commits: [],
      })
    ).id;
    await store.consumedIds.consumeIds(B, [{ kind: 'bundle_id', value: 'bundle-b' }], { repo: 'b/repo', prId: 1 });
    const created = await store.apiTokens.create(B, { actor: 'b-admin' });
    tokenIdOfB = created.info.id;
    tokenOfB = created.token;
    await store.audit.append(B, { actor: 'b', kind: 'note', subject: 'b-only', repo: 'b/repo', prId: 1 });
    await store.deliveries.recordDelivery(B, 'delivery-1', 'repo:push');
  });
  afterAll(async () => {
    await store?.close();
    await database.tearDown();
  });

  test('reads through A see none of B', async () => {
    expect((await store.settings.get(A)).version).toBe(0);
    expect(await store.policies.get(A, policyHash)).toBeNull();
    expect(await store.policies.list(A, { includeRetired: true })).toEqual([]);
    expect(await store.assignments.list(A)).toEqual([]);
    expect(await store.bundles.get(A, 'bundle-b')).toBeNull();
    expect(await store.evaluations.get(A, evaluationIdOfB)).toBeNull();
    expect(await store.evaluations.listForPullRequest(A, 'b/repo', 1)).toEqual([]);
    expect(await store.evaluations.listForRepository(A, 'b/repo')).toEqual([]);
    expect(await store.consumedIds.findConsumed(A, [{ kind: 'bundle_id', value: 'bundle-b' }])).toEqual([]);
    expect(await store.apiTokens.list(A)).toEqual([]);
    expect((await store.audit.query(A)).map((event) => event.subject)).not.toContain('b-only');
    expect(await store.audit.query(A, { repo: 'b/repo' })).toEqual([]);
    expect((await store.tenants.listForWorkspace(A)).map((tenant) => tenant.clientKey)).toEqual([`ck:${A}`]);
  });

  test('writes through A do not touch B', async () => {
    expect(await store.policies.retire(A, policyHash, 'a-admin')).toBeNull();
    expect((await store.policies.get(B, policyHash))?.retiredAt).toBeNull();

    expect(await store.apiTokens.revoke(A, tokenIdOfB, 'a-admin')).toBeNull();
    expect(await store.verifyApiToken(tokenOfB)).toEqual({ workspaceId: B, tokenId: tokenIdOfB, scopes: ['admin'] });

    expect(await store.tenants.setSharedSecret(A, `ck:${B}`, 'hijacked', 'a-admin')).toBe(false);
    expect(await store.tenants.setAccessToken(A, `ck:${B}`, 'hijacked', 'a-admin')).toBe(false);
    expect(await store.tenants.markInstallVerified(A, `ck:${B}`)).toBe(false);
    expect((await store.tenants.findByClientKey(`ck:${B}`))?.sharedSecret?.reveal()).toBe(`secret-of-${B}`);

    // A replacing its own assignments or settings leaves B's alone.
    await store.assignments.replace(A, [], 'a-admin');
    expect(await store.assignments.list(B)).toHaveLength(1);
    await store.settings.put(A, defaultWorkspaceSettings(), { actor: 'a-admin' });
    expect((await store.settings.get(B)).settings.mode).toBe('enforce');

    // Ids consumed in B are not consumed in A (anti-replay is per workspace), and vice versa.
    expect(
      (await store.consumedIds.consumeIds(A, [{ kind: 'bundle_id', value: 'bundle-b' }], { repo: 'a/repo', prId: 9 }))
        .ok,
    ).toBe(true);
    expect((await store.consumedIds.findConsumed(B, [{ kind: 'bundle_id', value: 'bundle-b' }]))[0]?.firstRepo).toBe(
      'b/repo',
    );

    // A bundle id B uses is free in A and does not collide.
    expect((await store.bundles.put(A, { bundleId: 'bundle-b', envelopeText: '{"a":1}', source: 'api' })).created).toBe(
      true,
    );
    expect((await store.bundles.get(B, 'bundle-b'))?.envelopeText).toBe('{"b":1}');

    // The same delivery id in another workspace is a different delivery.
    expect(await store.deliveries.recordDelivery(A, 'delivery-1', 'repo:push')).toEqual({ isNew: true });

    // A's retention purge does not reach B.
    await store.audit.purgeOlderThan(new Date(Date.now() + 60_000), A);
    expect((await store.audit.query(B)).map((event) => event.subject)).toContain('b-only');
  });

  test('a workspace id that is not a braced UUID is refused rather than matched loosely', async () => {
    await expect(store.policies.list('%')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(store.evaluations.get("{x}' OR '1'='1", evaluationIdOfB)).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
  });
});
