import type { Express } from 'express';
import pino from 'pino';
import { openStore, type Store } from '../../src/store';
import {
  registerWorkspace,
  RegistrationError,
  repoWebhooksClientKey,
  type RegisterWorkspaceDeps,
} from '../../src/webhooks';
import { SUBSCRIBED_WEBHOOK_EVENTS } from '../../src/pipeline/subscribed-events';
import { startFakeBitbucket, type FakeBitbucket } from '../bitbucket/support/fake-bitbucket';

/**
 * registerWorkspace against a stand-in for api.bitbucket.org (real HTTP on 127.0.0.1): the paths the
 * sandbox does not cover — every repository of the workspace (paginated), Bitbucket failing, a
 * rollback that cannot delete, a store failure after the hooks exist.
 */

const WORKSPACE_UUID = '{0b0e0c9a-1111-4222-8333-444455556666}';
const TOKEN = 'ATCTT3xFAKE-token_value';

interface FakeState {
  repos: string[];
  hooks: Map<string, { repo: string; uuid: string; secret: string; url: string; events: string[] }>;
  failHookFor: Set<string>;
  failDeleteFor: Set<string>;
  workspaceStatus: number;
}

let state: FakeState;
let fake: FakeBitbucket;
let store: Store;
const logger = pino({ level: 'silent' });

function routes(app: Express): void {
  app.use((req, res, next) => {
    if (req.get('authorization') !== `Bearer ${TOKEN}`) {
      res.status(401).json({ type: 'error', error: { message: 'bad token' } });
      return;
    }
    next();
  });
  app.get('/2.0/workspaces/acme', (_req, res) => {
    if (state.workspaceStatus !== 200) {
      res.status(state.workspaceStatus).json({ type: 'error', error: { message: 'down' } });
      return;
    }
    res.json({ type: 'workspace', uuid: WORKSPACE_UUID.toUpperCase(), slug: 'acme', name: 'ACME' });
  });
  app.get('/2.0/repositories/acme', (req, res) => {
    const page = Number(req.query.page ?? '1');
    const size = 2;
    const values = state.repos
      .slice((page - 1) * size, page * size)
      .map((slug) => ({ type: 'repository', slug, full_name: `acme/${slug}` }));
    const next =
      page * size < state.repos.length
        ? `http://${req.get('host')}/2.0/repositories/acme?pagelen=100&page=${page + 1}`
        : undefined;
    res.json({ pagelen: size, page, values, ...(next ? { next } : {}) });
  });
  app.post('/2.0/repositories/acme/:repo/hooks', (req, res) => {
    const repo = String(req.params.repo);
    if (state.failHookFor.has(repo)) {
      res.status(400).json({ type: 'error', error: { message: 'invalid hook' } });
      return;
    }
    const body = req.body as { url: string; events: string[]; secret: string };
    const uuid = `{00000000-0000-4000-8000-${String(state.hooks.size + 1).padStart(12, '0')}}`;
    state.hooks.set(uuid, { repo, uuid, secret: body.secret, url: body.url, events: body.events });
    res
      .status(201)
      .json({ uuid, url: body.url, active: true, events: body.events, description: 'clawgate', secret_set: true });
  });
  app.delete('/2.0/repositories/acme/:repo/hooks/:uuid', (req, res) => {
    const uuid = String(req.params.uuid);
    if (state.failDeleteFor.has(String(req.params.repo))) {
      res.status(403).json({ type: 'error', error: { message: 'no' } });
      return;
    }
    res.status(state.hooks.delete(uuid) ? 204 : 404).end();
  });
}

function deps(overrides: Partial<RegisterWorkspaceDeps> = {}): RegisterWorkspaceDeps {
  return {
    store,
    config: { baseUrl: 'https://clawgate.example.com', allowedHosts: [fake.host] },
    logger,
    actor: 'test',
    retry: { maxAttempts: 1 },
    ...overrides,
  };
}

beforeAll(async () => {
  fake = await startFakeBitbucket({ verifyJwt: false, routes });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(async () => {
  state = {
    repos: ['one', 'two', 'three'],
    hooks: new Map(),
    failHookFor: new Set(),
    failDeleteFor: new Set(),
    workspaceStatus: 200,
  };
  store = await openStore('sqlite::memory:', { secretKey: Buffer.alloc(32, 5) });
});
afterEach(async () => {
  await store.close();
});

async function expectRefused(body: unknown, status: number, code: string, d = deps()): Promise<RegistrationError> {
  const error = await registerWorkspace(d, body).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RegistrationError);
  const refusal = error as RegistrationError;
  expect({ status: refusal.status, code: refusal.code }).toEqual({ status, code });
  return refusal;
}

async function expectNothingStored(): Promise<void> {
  expect(await store.tenants.listAll()).toEqual([]);
  expect(await store.apiTokens.list(WORKSPACE_UUID)).toEqual([]);
  expect(state.hooks.size).toBe(0);
}

describe('registerWorkspace', () => {
  test('without repositories, hooks every repository the token sees (all pages), one secret, the events clawgate reads', async () => {
    const registered = await registerWorkspace(deps(), {
      workspace: 'acme',
      access_token: TOKEN,
      base_api_url: fake.url,
    });
    expect(registered.workspaceId).toBe(WORKSPACE_UUID);
    expect(registered.clientKey).toBe(repoWebhooksClientKey(WORKSPACE_UUID));
    expect(registered.hooks.map((hook) => hook.repository)).toEqual(['acme/one', 'acme/two', 'acme/three']);
    const hooks = [...state.hooks.values()];
    expect(new Set(hooks.map((hook) => hook.secret)).size).toBe(1);
    expect(hooks[0]?.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(
      hooks.every(
        (hook) => hook.url === `https://clawgate.example.com/hooks/bitbucket/w/${WORKSPACE_UUID.slice(1, -1)}`,
      ),
    ).toBe(true);
    expect(hooks[0]?.events).toEqual([...SUBSCRIBED_WEBHOOK_EVENTS]);
    const tenant = await store.tenants.findByClientKey(registered.clientKey);
    expect(tenant?.sharedSecret?.reveal()).toBe(hooks[0]?.secret);
    expect(tenant?.accessToken?.reveal()).toBe(TOKEN);
    expect(tenant?.baseApiUrl).toBe(fake.url);
    expect(await store.verifyApiToken(registered.apiToken.token)).toEqual(
      expect.objectContaining({ workspaceId: WORKSPACE_UUID }),
    );
    const audit = await store.audit.query(WORKSPACE_UUID);
    expect(audit.map((event) => event.kind)).toEqual(
      expect.arrayContaining(['tenant.installed', 'repo_webhooks.registered', 'api_token.created']),
    );
    expect(JSON.stringify(audit)).not.toContain(TOKEN);
    expect(JSON.stringify(audit)).not.toContain(hooks[0]?.secret);
  });

  test('Bitbucket unavailable → 502, nothing stored', async () => {
    state.workspaceStatus = 503;
    await expectRefused(
      { workspace: 'acme', access_token: TOKEN, base_api_url: fake.url },
      502,
      'BITBUCKET_UNAVAILABLE',
    );
    await expectNothingStored();
  });

  test('a hook refused on the third repository deletes the first two and stores nothing', async () => {
    state.failHookFor.add('three');
    const calls = fake.received.length;
    const refusal = await expectRefused(
      { workspace: 'acme', access_token: TOKEN, base_api_url: fake.url, repositories: ['one', 'two', 'three'] },
      422,
      'REJECTED_BY_BITBUCKET',
    );
    expect(refusal.fields).toEqual([expect.objectContaining({ path: 'repositories[2]' })]);
    expect(fake.received.slice(calls).filter((r) => r.method === 'DELETE')).toHaveLength(2);
    await expectNothingStored();
  });

  test('a rollback that cannot delete a hook still refuses and stores nothing', async () => {
    state.failHookFor.add('two');
    state.failDeleteFor.add('one');
    await expectRefused(
      { workspace: 'acme', access_token: TOKEN, base_api_url: fake.url, repositories: ['one', 'two'] },
      422,
      'REJECTED_BY_BITBUCKET',
    );
    expect(await store.tenants.listAll()).toEqual([]);
    expect(state.hooks.size).toBe(1);
  });

  test('a store failure after the hooks exist deletes them and leaves the tenant uninstalled (authenticates nothing)', async () => {
    const failing = {
      ...store,
      tenants: store.tenants,
      audit: store.audit,
      apiTokens: { ...store.apiTokens, create: () => Promise.reject(new Error('disk full')) },
    } as unknown as Store;
    await expect(
      registerWorkspace(deps({ store: failing }), {
        workspace: 'acme',
        access_token: TOKEN,
        base_api_url: fake.url,
        repositories: ['one'],
      }),
    ).rejects.toThrow('disk full');
    expect(state.hooks.size).toBe(0);
    const tenants = await store.tenants.listAll();
    expect(tenants).toHaveLength(1);
    expect(tenants[0]?.uninstalledAt).not.toBeNull();
  });

  test('a workspace with more repositories than the limit must list them', async () => {
    state.repos = Array.from({ length: 251 }, (_, index) => `r${index}`);
    const refusal = await expectRefused(
      { workspace: 'acme', access_token: TOKEN, base_api_url: fake.url },
      422,
      'TOO_MANY_REPOSITORIES',
    );
    expect(refusal.fields[0]?.path).toBe('repositories');
    await expectNothingStored();
  });

  test('a token that sees no repository is refused', async () => {
    state.repos = [];
    await expectRefused({ workspace: 'acme', access_token: TOKEN, base_api_url: fake.url }, 422, 'NO_REPOSITORIES');
    await expectNothingStored();
  });

  test('the default API base is api.bitbucket.org, which is never called when it is not allowed', async () => {
    const calls = fake.received.length;
    const refusal = await expectRefused({ workspace: 'acme', access_token: TOKEN }, 422, 'VALIDATION_FAILED');
    expect(refusal.fields).toEqual([expect.objectContaining({ path: 'base_api_url' })]);
    expect(fake.received.length).toBe(calls);
  });
});
