import { inspect } from 'node:util';
import { MIGRATIONS } from '../../migrations';
import { jcs, jcsHashB64u } from '../../src/core/clawsig/hashing';
import { defaultWorkspaceSettings, StoreError, type Store, type WorkspaceSettings } from '../../src/store';
import { SecretBox } from '../../src/store/secret-box';
import { backendsUnderTest } from './support/postgres';
import { BackendDatabase, newWorkspaceId, randomSha, TEST_SECRET_KEY } from './support/store-fixture';

const WPC = {
  tool: 'bitbucket_via_official_api',
  policy: { repos_allowlist: ['ws/proj-web'], paths: { deny_globs: ['**/.github/**'] } },
};
const WPC_TEXT = JSON.stringify(WPC, null, 2);
const WPC_HASH = jcsHashB64u(WPC);

async function rawQuery(store: Store, sql: string): Promise<Record<string, unknown>[]> {
  // Reaches past the API on purpose: these tests check what is really at rest.
  const sequelize = (
    store as unknown as {
      database: { sequelize: { query(sql: string, options: { type: 'SELECT' }): Promise<Record<string, unknown>[]> } };
    }
  ).database.sequelize;
  return sequelize.query(sql, { type: 'SELECT' });
}

async function expectStoreError(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(StoreError);
  await expect(promise).rejects.toMatchObject({ code });
}

describe.each(backendsUnderTest('store.test'))('store on %s', (backend) => {
  const database = new BackendDatabase(backend, 'store');
  let store: Store;

  beforeAll(async () => {
    await database.setUp();
    store = await database.open();
  });
  afterAll(async () => {
    await store?.close();
    await database.tearDown();
  });

  test('migrations run on open and are recorded', async () => {
    // Every migration in the folder, in order (more are appended by later changes).
    expect(await store.appliedMigrations()).toEqual(MIGRATIONS.map((m) => m.name));
    expect(MIGRATIONS[0]?.name).toBe('0001-initial-schema');
    expect(await store.ping()).toBe(true);
  });

  describe('tenants', () => {
    test('secrets are sealed at rest, redacted when printed, and readable with reveal()', async () => {
      const ws = newWorkspaceId();
      const clientKey = `connect:${ws}`;
      const { tenant, created } = await store.tenants.upsertInstall({
        workspaceId: ws,
        workspaceSlug: 'acme',
        surface: 'connect',
        clientKey,
        appKey: 'clawgate',
        sharedSecret: 'super-secret-shared-value',
        baseUrl: 'https://bitbucket.org',
        baseApiUrl: 'https://api.bitbucket.org',
        actor: 'installer',
      });
      expect(created).toBe(true);
      expect(tenant.sharedSecret?.reveal()).toBe('super-secret-shared-value');
      expect(JSON.stringify(tenant)).not.toContain('super-secret');
      expect(inspect(tenant)).not.toContain('super-secret');
      expect(`${tenant.sharedSecret}`).toBe('[redacted]');

      const rows = await rawQuery(
        store,
        `SELECT shared_secret, access_token FROM tenants WHERE client_key = '${clientKey}'`,
      );
      expect(String(rows[0]?.shared_secret)).toMatch(/^v1:/);
      expect(String(rows[0]?.shared_secret)).not.toContain('super-secret');
      expect(rows[0]?.access_token).toBeNull();

      const found = await store.tenants.findByClientKey(clientKey);
      expect(found?.workspaceId).toBe(ws);
      expect(found?.sharedSecret?.reveal()).toBe('super-secret-shared-value');
      const audit = await store.audit.query(ws, { kinds: ['tenant.installed'] });
      expect(audit).toHaveLength(1);
      expect(JSON.stringify(audit)).not.toContain('super-secret');
    });

    test('re-install updates the secret, keeps unmentioned secrets, and clears uninstalled_at; uninstall keeps the row', async () => {
      const ws = newWorkspaceId();
      const clientKey = `repo_webhooks:${ws}`;
      await store.tenants.upsertInstall({
        workspaceId: ws,
        surface: 'repo_webhooks',
        clientKey,
        sharedSecret: 'hmac-1',
        accessToken: 'tok-1',
        actor: 'cli',
      });
      const uninstalled = await store.tenants.markUninstalled(clientKey, 'bitbucket');
      expect(uninstalled?.uninstalledAt).toBeInstanceOf(Date);
      expect((await store.tenants.resolveWorkspace(ws))?.active).toBe(false);
      const { tenant, created } = await store.tenants.upsertInstall({
        workspaceId: ws,
        surface: 'repo_webhooks',
        clientKey,
        sharedSecret: 'hmac-2',
        actor: 'cli',
      });
      expect(created).toBe(false);
      expect(tenant.uninstalledAt).toBeNull();
      expect(tenant.sharedSecret?.reveal()).toBe('hmac-2');
      expect(tenant.accessToken?.reveal()).toBe('tok-1');
      expect((await store.tenants.resolveWorkspace(ws))?.active).toBe(true);
      const kinds = (await store.audit.query(ws)).map((event) => event.kind);
      expect(kinds).toEqual(['tenant.installed', 'tenant.uninstalled', 'tenant.reinstalled']);
    });

    test('a client key cannot move to another workspace', async () => {
      const clientKey = `connect:${newWorkspaceId()}`;
      await store.tenants.upsertInstall({
        workspaceId: newWorkspaceId(),
        surface: 'connect',
        clientKey,
        sharedSecret: 's',
        actor: 'a',
      });
      await expectStoreError(
        store.tenants.upsertInstall({
          workspaceId: newWorkspaceId(),
          surface: 'connect',
          clientKey,
          sharedSecret: 's',
          actor: 'a',
        }),
        'INVALID_INPUT',
      );
    });

    test('resolveWorkspace accepts the slug or the {uuid}', async () => {
      const ws = newWorkspaceId();
      const slug = `slug-${ws.slice(1, 9)}`;
      await store.tenants.upsertInstall({
        workspaceId: ws,
        workspaceSlug: slug,
        surface: 'connect',
        clientKey: `c:${ws}`,
        sharedSecret: 's',
        actor: 'a',
      });
      expect(await store.tenants.resolveWorkspace(slug)).toEqual({
        workspaceId: ws,
        workspaceSlug: slug,
        active: true,
      });
      expect((await store.tenants.resolveWorkspace(ws.toUpperCase()))?.workspaceId).toBe(ws);
      expect(await store.tenants.resolveWorkspace('no-such-slug')).toBeNull();
    });

    test('a ciphertext copied to another row does not decrypt (bound to the client key)', async () => {
      const wsA = newWorkspaceId();
      const wsB = newWorkspaceId();
      await store.tenants.upsertInstall({
        workspaceId: wsA,
        surface: 'connect',
        clientKey: `a:${wsA}`,
        sharedSecret: 'alpha',
        actor: 'a',
      });
      await store.tenants.upsertInstall({
        workspaceId: wsB,
        surface: 'connect',
        clientKey: `b:${wsB}`,
        sharedSecret: 'beta',
        actor: 'a',
      });
      const [rowA] = await rawQuery(store, `SELECT shared_secret FROM tenants WHERE client_key = 'a:${wsA}'`);
      const box = new SecretBox(TEST_SECRET_KEY);
      expect(() => box.open(String(rowA?.shared_secret), `tenants.shared_secret:b:${wsB}`)).toThrow(/authentication/);
      expect(box.open(String(rowA?.shared_secret), `tenants.shared_secret:a:${wsA}`)).toBe('alpha');
    });
  });

  describe('settings', () => {
    const settings: WorkspaceSettings = {
      ...defaultWorkspaceSettings(),
      mode: 'enforce',
      trusted_gateways: [
        { did: 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK', expires_at: '2030-01-01T00:00:00Z' },
      ],
      agents: [{ account_uuid: '{agent-1}', role: 'write' }],
    };

    test('defaults before the first save, then versions increase', async () => {
      const ws = newWorkspaceId();
      expect(await store.settings.get(ws)).toEqual({
        settings: defaultWorkspaceSettings(),
        version: 0,
        updatedAt: null,
        updatedBy: null,
      });
      const first = await store.settings.put(ws, settings, { expectedVersion: 0, actor: 'admin' });
      expect(first.version).toBe(1);
      const read = await store.settings.get(ws);
      expect(read.settings).toEqual(settings);
      expect(read.version).toBe(1);
      expect(read.updatedBy).toBe('admin');
      const second = await store.settings.put(ws, { ...settings, frozen: true }, { actor: 'admin' });
      expect(second.version).toBe(2);
      const audit = await store.audit.query(ws, { kinds: ['settings.updated'] });
      expect(audit.map((event) => event.before === null)).toEqual([true, false]);
      expect(audit[1]?.after).toMatchObject({ frozen: true });
    });

    test('a stale expectedVersion is a VERSION_CONFLICT and changes nothing', async () => {
      const ws = newWorkspaceId();
      await store.settings.put(ws, settings, { expectedVersion: 0, actor: 'a' });
      await expectStoreError(
        store.settings.put(ws, { ...settings, mode: 'observe' }, { expectedVersion: 0, actor: 'b' }),
        'VERSION_CONFLICT',
      );
      expect((await store.settings.get(ws)).settings.mode).toBe('enforce');
    });

    test('invalid settings are refused', async () => {
      const ws = newWorkspaceId();
      const bad = { ...settings, mode: 'block' } as unknown as WorkspaceSettings;
      await expectStoreError(store.settings.put(ws, bad, { actor: 'a' }), 'INVALID_INPUT');
      const badDid = { ...settings, wpc_issuers: ['not-a-did'] };
      await expectStoreError(store.settings.put(ws, badDid, { actor: 'a' }), 'INVALID_INPUT');
    });
  });

  describe('policies and assignments', () => {
    test('a policy is stored with its exact text, is idempotent by hash, and can be retired', async () => {
      const ws = newWorkspaceId();
      const { policy, created } = await store.policies.create(ws, {
        policyHashB64u: WPC_HASH,
        documentText: WPC_TEXT,
        actor: 'admin',
      });
      expect(created).toBe(true);
      expect(policy.documentText).toBe(WPC_TEXT);
      expect(policy.document).toEqual(WPC);
      const again = await store.policies.create(ws, {
        policyHashB64u: WPC_HASH,
        documentText: jcs(WPC),
        actor: 'admin',
      });
      expect(again.created).toBe(false);
      expect(again.policy.documentText).toBe(WPC_TEXT);
      expect(await store.policies.list(ws)).toHaveLength(1);
      const retired = await store.policies.retire(ws, WPC_HASH, 'admin');
      expect(retired?.retiredAt).toBeInstanceOf(Date);
      expect(await store.policies.list(ws)).toHaveLength(0);
      expect(await store.policies.list(ws, { includeRetired: true })).toHaveLength(1);
      expect((await store.audit.query(ws)).map((event) => event.kind)).toEqual(['policy.created', 'policy.retired']);
    });

    test('a document that does not hash to its hash is refused', async () => {
      await expectStoreError(
        store.policies.create(newWorkspaceId(), {
          policyHashB64u: WPC_HASH,
          documentText: JSON.stringify({ ...WPC, tool: 'x' }),
          actor: 'a',
        }),
        'POLICY_HASH_MISMATCH',
      );
      await expectStoreError(
        store.policies.create(newWorkspaceId(), { policyHashB64u: WPC_HASH, documentText: '{not json', actor: 'a' }),
        'POLICY_HASH_MISMATCH',
      );
    });

    test('a policy row edited at rest is refused on read (fail closed)', async () => {
      const ws = newWorkspaceId();
      await store.policies.create(ws, { policyHashB64u: WPC_HASH, documentText: WPC_TEXT, actor: 'a' });
      const tampered = JSON.stringify({ ...WPC, policy: {} }).replace(/'/g, "''");
      await rawQuery(store, `UPDATE policies SET document = '${tampered}' WHERE workspace_uuid = '${ws}'`).catch(
        () => undefined,
      );
      await expectStoreError(store.policies.get(ws, WPC_HASH), 'CORRUPT_ROW');
    });

    test('assignments are replaced as a whole, in order, and only with known active policies', async () => {
      const ws = newWorkspaceId();
      await store.policies.create(ws, { policyHashB64u: WPC_HASH, documentText: WPC_TEXT, actor: 'a' });
      const list = [
        { repoGlob: 'ws/proj-*', policyHashB64u: WPC_HASH, mode: 'enforce' as const },
        { repoGlob: '**', policyHashB64u: WPC_HASH },
      ];
      expect(await store.assignments.replace(ws, list, 'admin')).toEqual([
        { repoGlob: 'ws/proj-*', policyHashB64u: WPC_HASH, mode: 'enforce' },
        { repoGlob: '**', policyHashB64u: WPC_HASH, mode: null },
      ]);
      const unknown = 'A'.repeat(43);
      await expectStoreError(
        store.assignments.replace(ws, [{ repoGlob: 'x', policyHashB64u: unknown }], 'admin'),
        'UNKNOWN_POLICY',
      );
      // The failed replace rolled back: the previous list is intact.
      expect((await store.assignments.list(ws)).map((item) => item.repoGlob)).toEqual(['ws/proj-*', '**']);
      await store.policies.retire(ws, WPC_HASH, 'admin');
      await expectStoreError(
        store.assignments.replace(ws, [{ repoGlob: 'x', policyHashB64u: WPC_HASH }], 'admin'),
        'UNKNOWN_POLICY',
      );
      expect(await store.assignments.replace(ws, [], 'admin')).toEqual([]);
      expect(await store.assignments.list(ws)).toEqual([]);
    });
  });

  describe('bundles', () => {
    test('stores the exact envelope text with a computed hash and size; same id + other bytes conflicts', async () => {
      const ws = newWorkspaceId();
      const envelope = JSON.stringify({ envelope_version: '1', payload: { bundle_id: 'b-1', note: 'ünïcode' } });
      const { bundle, created } = await store.bundles.put(ws, {
        bundleId: 'b-1',
        envelopeText: envelope,
        scopedToken: 'jwt.here.sig',
        source: 'api',
      });
      expect(created).toBe(true);
      expect(bundle.size).toBe(Buffer.byteLength(envelope));
      expect(bundle.sha256B64u).toHaveLength(43);
      expect((await store.bundles.get(ws, 'b-1'))?.envelopeText).toBe(envelope);
      expect((await store.bundles.put(ws, { bundleId: 'b-1', envelopeText: envelope, source: 'api' })).created).toBe(
        false,
      );
      await expectStoreError(
        store.bundles.put(ws, { bundleId: 'b-1', envelopeText: `${envelope} `, source: 'api' }),
        'BUNDLE_ID_CONFLICT',
      );
      expect(await store.bundles.get(ws, 'missing')).toBeNull();
    });
  });

  describe('evaluations', () => {
    test('insert, get by id, and list a PR newest first', async () => {
      const ws = newWorkspaceId();
      const base = {
        repoFullName: 'acme/web',
        prId: 7,
        state: 'PASS',
        mode: 'enforce' as const,
        statusState: 'SUCCESSFUL' as const,
        commits: ['a'],
      };
      const first = await store.evaluations.insert(ws, { ...base, headSha: randomSha(), verdict: { n: 1 } });
      const second = await store.evaluations.insert(ws, {
        ...base,
        headSha: randomSha(),
        verdict: { n: 2 },
        bundleId: 'b',
        policyHashB64u: WPC_HASH,
      });
      await store.evaluations.insert(ws, { ...base, prId: 8, headSha: randomSha(), verdict: { n: 3 } });
      const list = await store.evaluations.listForPullRequest(ws, 'acme/web', 7);
      expect(list.map((item) => item.id)).toEqual([second.id, first.id]);
      expect((await store.evaluations.latestForPullRequest(ws, 'acme/web', 7))?.verdict).toEqual({ n: 2 });
      const got = await store.evaluations.get(ws, first.id);
      expect(got).toMatchObject({
        id: first.id,
        workspaceId: ws,
        prId: 7,
        verdict: { n: 1 },
        commits: ['a'],
        bundleId: null,
      });
      expect(await store.evaluations.listForRepository(ws, 'acme/web')).toHaveLength(3);
    });

    test('the latest evaluation for a head: newest of any PR in the repository, not another repository or workspace', async () => {
      const ws = newWorkspaceId();
      const head = randomSha();
      const base = {
        repoFullName: 'acme/web',
        prId: 7,
        state: 'PASS',
        mode: 'enforce' as const,
        statusState: 'SUCCESSFUL' as const,
        commits: [],
      };
      expect(await store.evaluations.latestForHead(ws, 'acme/web', head)).toBeNull();
      await store.evaluations.insert(ws, { ...base, headSha: head, verdict: { n: 1 } });
      const newest = await store.evaluations.insert(ws, { ...base, prId: 8, headSha: head, verdict: { n: 2 } });
      await store.evaluations.insert(ws, { ...base, headSha: randomSha(), verdict: { n: 3 } });
      await store.evaluations.insert(ws, { ...base, repoFullName: 'acme/api', headSha: head, verdict: { n: 4 } });
      await store.evaluations.insert(newWorkspaceId(), { ...base, headSha: head, verdict: { n: 5 } });
      expect(await store.evaluations.latestForHead(ws, 'acme/web', head)).toMatchObject({
        id: newest.id,
        prId: 8,
        verdict: { n: 2 },
      });
      expect(await store.evaluations.latestForHead(ws, 'acme/other', head)).toBeNull();
      expect(await store.evaluations.latestForHead(ws, 'acme/web', head.slice(0, 12))).toBeNull();
    });

    test('bad input is refused', async () => {
      const ws = newWorkspaceId();
      const base = {
        repoFullName: 'acme/web',
        prId: 7,
        state: 'PASS',
        mode: 'enforce' as const,
        statusState: 'SUCCESSFUL' as const,
        commits: [],
        verdict: {},
      };
      await expectStoreError(store.evaluations.insert(ws, { ...base, headSha: 'abc123' }), 'INVALID_INPUT');
      await expectStoreError(store.evaluations.insert(ws, { ...base, headSha: randomSha(), prId: 0 }), 'INVALID_INPUT');
      await expectStoreError(
        store.evaluations.insert(ws, { ...base, headSha: randomSha(), statusState: 'PASSED' as never }),
        'INVALID_INPUT',
      );
      await expectStoreError(store.evaluations.insert('acme', { ...base, headSha: randomSha() }), 'INVALID_INPUT');
    });
  });

  describe('consumed ids (anti-replay)', () => {
    test('the first PR consumes; the same PR again is not a replay; another PR is refused and consumes nothing', async () => {
      const ws = newWorkspaceId();
      const ids = [
        { kind: 'bundle_id' as const, value: 'bundle-1' },
        { kind: 'run_id' as const, value: 'run-1' },
        { kind: 'cst_jti' as const, value: 'jti-1' },
      ];
      expect(await store.consumedIds.findConsumed(ws, ids)).toEqual([]);
      const first = await store.consumedIds.consumeIds(ws, ids, { repo: 'acme/web', prId: 1, evaluationId: null });
      expect(first).toEqual({ ok: true, newlyConsumed: expect.arrayContaining(ids) });
      const again = await store.consumedIds.consumeIds(ws, [...ids, { kind: 'receipt_id', value: 'rcpt-1' }], {
        repo: 'acme/web',
        prId: 1,
      });
      expect(again).toEqual({ ok: true, newlyConsumed: [{ kind: 'receipt_id', value: 'rcpt-1' }] });

      const replay = await store.consumedIds.consumeIds(
        ws,
        [
          { kind: 'run_id', value: 'run-1' },
          { kind: 'cst_nonce', value: 'nonce-9' },
        ],
        { repo: 'acme/web', prId: 2 },
      );
      expect(replay.ok).toBe(false);
      if (!replay.ok)
        expect(replay.conflicts).toEqual([
          expect.objectContaining({ kind: 'run_id', value: 'run-1', firstRepo: 'acme/web', firstPrId: 1 }),
        ]);
      // All-or-nothing: the new nonce of the losing call was not consumed.
      expect(await store.consumedIds.findConsumed(ws, [{ kind: 'cst_nonce', value: 'nonce-9' }])).toEqual([]);
      // The same value under another kind is a different id.
      expect(
        (await store.consumedIds.consumeIds(ws, [{ kind: 'cst_nonce', value: 'run-1' }], { repo: 'acme/web', prId: 2 }))
          .ok,
      ).toBe(true);
      const found = await store.consumedIds.findConsumed(ws, ids);
      expect(found.map((item) => [item.kind, item.firstPrId]).sort()).toEqual([
        ['bundle_id', 1],
        ['cst_jti', 1],
        ['run_id', 1],
      ]);
    });

    test('unknown kinds are refused', async () => {
      await expectStoreError(
        store.consumedIds.consumeIds(newWorkspaceId(), [{ kind: 'jti' as never, value: 'x' }], {
          repo: 'a/b',
          prId: 1,
        }),
        'INVALID_INPUT',
      );
    });

    test('many PRs racing for the same ids: exactly one wins', async () => {
      const ws = newWorkspaceId();
      const ids = [
        { kind: 'bundle_id' as const, value: 'contested' },
        { kind: 'run_id' as const, value: 'contested-run' },
      ];
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, index) =>
          store.consumedIds.consumeIds(ws, ids, { repo: 'acme/web', prId: index + 1 }),
        ),
      );
      expect(results.filter((result) => result.ok)).toHaveLength(1);
      const owners = await store.consumedIds.findConsumed(ws, ids);
      expect(new Set(owners.map((owner) => owner.firstPrId)).size).toBe(1);
    });
  });

  describe('api tokens', () => {
    test('only a hash is stored; verify maps the token to its workspace; revoked tokens fail', async () => {
      const ws = newWorkspaceId();
      await store.tenants.upsertInstall({
        workspaceId: ws,
        surface: 'connect',
        clientKey: `tok:${ws}`,
        sharedSecret: 's',
        actor: 'a',
      });
      const { token, info } = await store.apiTokens.create(ws, { label: 'ci', actor: 'admin' });
      expect(token).toMatch(/^cgw_[A-Za-z0-9_-]{43}$/);
      expect(info.prefix).toBe(token.slice(0, 12));
      const rows = await rawQuery(store, `SELECT * FROM api_tokens WHERE id = '${info.id}'`);
      expect(JSON.stringify(rows)).not.toContain(token);

      // The first token of a workspace is admin.
      expect(await store.verifyApiToken(token)).toEqual({ workspaceId: ws, tokenId: info.id, scopes: ['admin'] });
      expect((await store.apiTokens.list(ws))[0]?.lastUsedAt).toBeInstanceOf(Date);
      const flipped = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
      expect(await store.verifyApiToken(flipped)).toBeNull();
      expect(await store.verifyApiToken('Bearer nonsense')).toBeNull();
      expect(await store.verifyApiToken('')).toBeNull();

      expect((await store.apiTokens.revoke(ws, info.id, 'admin'))?.revokedAt).toBeInstanceOf(Date);
      expect(await store.verifyApiToken(token)).toBeNull();
      expect(
        (await store.audit.query(ws, { kinds: ['api_token.created', 'api_token.revoked'] })).map((event) => event.kind),
      ).toEqual(['api_token.created', 'api_token.revoked']);
    });

    test('tokens of an uninstalled workspace stop working', async () => {
      const ws = newWorkspaceId();
      await store.tenants.upsertInstall({
        workspaceId: ws,
        surface: 'connect',
        clientKey: `un:${ws}`,
        sharedSecret: 's',
        actor: 'a',
      });
      const { token } = await store.apiTokens.create(ws, { actor: 'admin' });
      expect(await store.verifyApiToken(token)).not.toBeNull();
      await store.tenants.markUninstalled(`un:${ws}`, 'bitbucket');
      expect(await store.verifyApiToken(token)).toBeNull();
    });
  });

  describe('audit log', () => {
    test('filters by repo, PR and time window; purges by age', async () => {
      const clock = { now: new Date('2025-01-01T00:00:00.000Z') };
      const timed = await database.open({ clock: () => clock.now });
      try {
        const ws = newWorkspaceId();
        await timed.audit.append(ws, {
          actor: 'pipeline',
          kind: 'evaluation',
          subject: 'e1',
          repo: 'acme/web',
          prId: 1,
          after: { state: 'PASS' },
        });
        clock.now = new Date('2025-01-02T00:00:00.000Z');
        await timed.audit.append(ws, {
          actor: 'pipeline',
          kind: 'evaluation',
          subject: 'e2',
          repo: 'acme/web',
          prId: 2,
        });
        clock.now = new Date('2025-01-03T00:00:00.000Z');
        await timed.audit.append(ws, {
          actor: 'pipeline',
          kind: 'evaluation',
          subject: 'e3',
          repo: 'acme/api',
          prId: 1,
        });

        expect((await timed.audit.query(ws, { repo: 'acme/web' })).map((event) => event.subject)).toEqual(['e1', 'e2']);
        expect((await timed.audit.query(ws, { repo: 'acme/web', prId: 1 })).map((event) => event.subject)).toEqual([
          'e1',
        ]);
        expect(
          (await timed.audit.query(ws, { since: new Date('2025-01-02T00:00:00.000Z') })).map((event) => event.subject),
        ).toEqual(['e2', 'e3']);
        expect(
          (await timed.audit.query(ws, { until: new Date('2025-01-02T00:00:00.000Z') })).map((event) => event.subject),
        ).toEqual(['e1']);
        const all = await timed.audit.query(ws);
        expect(all[0]).toMatchObject({ workspaceId: ws, actor: 'pipeline', after: { state: 'PASS' }, before: null });
        expect((await timed.audit.query(ws, { afterId: all[0]?.id, limit: 1 })).map((event) => event.subject)).toEqual([
          'e2',
        ]);

        expect(await timed.audit.purgeOlderThan(new Date('2025-01-02T12:00:00.000Z'), ws)).toBe(2);
        expect((await timed.audit.query(ws)).map((event) => event.subject)).toEqual(['e3']);
      } finally {
        await timed.close();
      }
    });
  });

  describe('tenants: a recent installation of a surface', () => {
    test('only an installed tenant of that surface, in that workspace, updated after the cutoff counts', async () => {
      const clock = { now: new Date('2025-05-01T00:00:00.000Z') };
      const timed = await database.open({ clock: () => clock.now });
      try {
        const ws = newWorkspaceId();
        const other = newWorkspaceId();
        const install = (workspaceId: string, clientKey: string, surface: 'forge' | 'connect') =>
          timed.tenants.upsertInstall({
            workspaceId,
            surface,
            clientKey,
            sharedSecret: 'a-shared-secret-of-enough-length',
            actor: 'test',
          });
        const cutoff = new Date('2025-04-30T00:00:00.000Z');
        await install(ws, `connect-${ws}`, 'connect');
        await install(other, `forge-${other}`, 'forge');
        expect(await timed.tenants.hasRecentInstallation(ws, 'forge', cutoff)).toBe(false);
        await install(ws, `forge-${ws}`, 'forge');
        expect(await timed.tenants.hasRecentInstallation(ws, 'forge', cutoff)).toBe(true);
        expect(await timed.tenants.hasRecentInstallation(ws, 'forge', new Date('2025-05-01T00:00:01.000Z'))).toBe(
          false,
        );
        clock.now = new Date('2025-05-02T00:00:00.000Z');
        await timed.tenants.markUninstalled(`forge-${ws}`, 'test');
        expect(await timed.tenants.hasRecentInstallation(ws, 'forge', cutoff)).toBe(false);
        expect(await timed.tenants.hasRecentInstallation(other, 'forge', cutoff)).toBe(true);
      } finally {
        await timed.close();
      }
    });
  });

  describe('deliveries', () => {
    test('insert-if-absent says whether the delivery is new', async () => {
      const ws = newWorkspaceId();
      expect(await store.deliveries.recordDelivery(ws, 'req-1', 'pullrequest:created')).toEqual({ isNew: true });
      expect(await store.deliveries.recordDelivery(ws, 'req-1', 'pullrequest:created')).toEqual({ isNew: false });
      expect(await store.deliveries.recordDelivery(ws, 'req-2', 'pullrequest:created')).toEqual({ isNew: true });
      const concurrent = await Promise.all(
        [1, 2, 3, 4].map(() => store.deliveries.recordDelivery(ws, 'req-3', 'repo:push')),
      );
      expect(concurrent.filter((result) => result.isNew)).toHaveLength(1);
    });

    test('the receipt time is stored as the model stores dates: purged by age to the millisecond', async () => {
      const clock = { now: new Date('2025-03-01T10:00:00.250Z') };
      const timed = await database.open({ clock: () => clock.now });
      try {
        const ws = newWorkspaceId();
        await timed.deliveries.recordDelivery(ws, 'old', 'repo:push');
        clock.now = new Date('2025-03-01T10:00:00.750Z');
        await timed.deliveries.recordDelivery(ws, 'new', 'repo:push');
        expect(await timed.deliveries.purgeOlderThan(new Date('2025-03-01T10:00:00.500Z'))).toBe(1);
        // The purged one is new again; the kept one is still a redelivery.
        expect(await timed.deliveries.recordDelivery(ws, 'old', 'repo:push')).toEqual({ isNew: true });
        expect(await timed.deliveries.recordDelivery(ws, 'new', 'repo:push')).toEqual({ isNew: false });
      } finally {
        await timed.close();
      }
    });
  });
});
