import { encodeSymmetric } from 'atlassian-jwt';
import { makeBitbucketWpc } from '../../src/testkit';
import { requestQueryStringHash } from '../../src/http/connect-jwt';
import { APP_BASE_URL, bearer, createApiWorld, storedState, type ApiWorld } from './support/api-world';

let world: ApiWorld;

beforeAll(async () => {
  world = await createApiWorld();
});

afterAll(async () => {
  await world.close();
});

const wpc = () => makeBitbucketWpc({ repos: ['ws/repo'] });

describe('authentication', () => {
  it('answers 401 with the error shape and a challenge when no credential is sent, and stores nothing', async () => {
    const before = await storedState(world.store, world.a.id);
    const response = await world.http().post(`/api/v1/workspaces/${world.a.slug}/policies`).send(wpc());
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.any(String) } });
    expect(response.headers['www-authenticate']).toContain('Bearer');
    expect(await storedState(world.store, world.a.id)).toEqual(before);
  });

  it.each([
    ['a malformed bearer token', 'Bearer nope'],
    ['a well-formed but unknown bearer token', `Bearer cgw_${'A'.repeat(43)}`],
    ['an unknown scheme', 'Basic dXNlcjpwYXNz'],
    [
      'a JWT signed with the wrong secret',
      () =>
        encodeSymmetric(
          { iss: world.a.clientKey, sub: 'x', exp: Math.floor(Date.now() / 1000) + 60, qsh: 'context-qsh' },
          'wrong-secret',
        ),
    ],
    [
      'an expired JWT',
      () => world.a.jwt({ exp: Math.floor(Date.now() / 1000) - 600, iat: Math.floor(Date.now() / 1000) - 900 }),
    ],
    [
      'a JWT for an unknown client key',
      () =>
        encodeSymmetric(
          { iss: 'nobody', sub: 'x', exp: Math.floor(Date.now() / 1000) + 60, qsh: 'context-qsh' },
          world.a.sharedSecret,
        ),
    ],
    ['a JWT whose qsh is for another request', () => world.a.jwt({ qsh: 'f'.repeat(64) })],
    ['a JWT without a user (sub)', () => world.a.jwt({ sub: undefined })],
  ])('rejects %s with 401 and stores nothing', async (_name, credential) => {
    const header = typeof credential === 'function' ? `JWT ${credential()}` : credential;
    const before = await storedState(world.store, world.a.id);
    const response = await world
      .http()
      .put(`/api/v1/workspaces/${world.a.slug}/settings`)
      .set('Authorization', header)
      .send({});
    expect(response.status).toBe(401);
    expect(response.body.error.code).toMatch(/^(UNAUTHENTICATED|INVALID_CREDENTIALS)$/);
    expect(await storedState(world.store, world.a.id)).toEqual(before);
  });

  it("answers 403 when A's bearer token addresses B (by slug or uuid), and stores nothing in either", async () => {
    const beforeA = await storedState(world.store, world.a.id);
    const beforeB = await storedState(world.store, world.b.id);
    for (const ws of [world.b.slug, world.b.id, encodeURIComponent(world.b.id)]) {
      const post = await world
        .http()
        .post(`/api/v1/workspaces/${ws}/policies`)
        .set(...bearer(world.a))
        .send(wpc());
      expect(post.status).toBe(403);
      expect(post.body.error.code).toBe('WORKSPACE_FORBIDDEN');
      const read = await world
        .http()
        .get(`/api/v1/workspaces/${ws}/settings`)
        .set(...bearer(world.a));
      expect(read.status).toBe(403);
    }
    expect(await storedState(world.store, world.a.id)).toEqual(beforeA);
    expect(await storedState(world.store, world.b.id)).toEqual(beforeB);
  });

  it('answers 403 (not 404) for a workspace that does not exist, so tokens cannot probe', async () => {
    const response = await world
      .http()
      .get('/api/v1/workspaces/no-such-workspace/settings')
      .set(...bearer(world.a));
    expect(response.status).toBe(403);
  });

  it("answers 403 when A's Connect JWT addresses B", async () => {
    const response = await world
      .http()
      .get(`/api/v1/workspaces/${world.b.slug}/settings`)
      .set('Authorization', `JWT ${world.a.jwt()}`);
    expect(response.status).toBe(403);
  });

  it('accepts the bearer token with {ws} as slug or {uuid}', async () => {
    for (const ws of [
      world.a.slug,
      world.a.id,
      encodeURIComponent(world.a.id),
      encodeURIComponent(world.a.id.toUpperCase()),
    ]) {
      const response = await world
        .http()
        .get(`/api/v1/workspaces/${ws}/settings`)
        .set(...bearer(world.a));
      expect(response.status).toBe(200);
    }
  });

  it('accepts a context JWT and a JWT whose qsh is computed for the request', async () => {
    const path = `/api/v1/workspaces/${world.a.slug}/settings`;
    const context = await world.http().get(path).set('Authorization', `JWT ${world.a.jwt()}`);
    expect(context.status).toBe(200);
    const qsh = requestQueryStringHash('GET', path, APP_BASE_URL);
    const computed = await world
      .http()
      .get(path)
      .set('Authorization', `JWT ${world.a.jwt({ qsh })}`);
    expect(computed.status).toBe(200);
  });

  it('records the actor of a JWT user and of a bearer token in the audit log', async () => {
    world.viewers.owners.add('557058:alice');
    const path = `/api/v1/workspaces/${world.a.slug}/policies`;
    await world
      .http()
      .post(path)
      .set('Authorization', `JWT ${world.a.jwt({ sub: '557058:alice' })}`)
      .send(makeBitbucketWpc({ repos: ['ws/alice'] }))
      .expect(201);
    await world
      .http()
      .post(path)
      .set(...bearer(world.a))
      .send(makeBitbucketWpc({ repos: ['ws/bob'] }))
      .expect(201);
    const events = await world.store.audit.query(world.a.id, { kinds: ['policy.created'] });
    expect(events.map((event) => event.actor).slice(-2)).toEqual([
      'connect:557058:alice',
      `api_token:${world.a.tokenId}`,
    ]);
  });

  it('does not read the body of an unauthenticated request (401 even for an oversized body)', async () => {
    const response = await world
      .http()
      .post(`/api/v1/workspaces/${world.a.slug}/bundles`)
      .set('Content-Type', 'application/json')
      .send(`{"bundle":"${'x'.repeat(2 * 1024 * 1024)}"}`);
    expect(response.status).toBe(401);
  });

  it('stops accepting a workspace token once the workspace is uninstalled', async () => {
    const other = await createApiWorld();
    try {
      await other
        .http()
        .get(`/api/v1/workspaces/${other.a.slug}/settings`)
        .set(...bearer(other.a))
        .expect(200);
      await other.store.tenants.markUninstalled(other.a.clientKey, 'test');
      const bearerResponse = await other
        .http()
        .get(`/api/v1/workspaces/${other.a.slug}/settings`)
        .set(...bearer(other.a));
      expect(bearerResponse.status).toBe(401);
      const jwtResponse = await other
        .http()
        .get(`/api/v1/workspaces/${other.a.slug}/settings`)
        .set('Authorization', `JWT ${other.a.jwt()}`);
      expect(jwtResponse.status).toBe(401);
    } finally {
      await other.close();
    }
  });

  it('answers unknown routes with 404 in the error shape', async () => {
    const response = await world
      .http()
      .get(`/api/v1/workspaces/${world.a.slug}/nothing-here`)
      .set(...bearer(world.a));
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('asks Bitbucket whether a page user is a workspace admin before a settings change or read (bearer tokens go by scope)', async () => {
    const gated = await createApiWorld();
    try {
      const settingsPath = `/api/v1/workspaces/${gated.a.slug}/settings`;
      const body = { mode: 'warn', trusted_gateways: [], cst_issuers: [], wpc_issuers: [], agents: [], frozen: false };
      const before = await storedState(gated.store, gated.a.id);
      const denied = await gated
        .http()
        .put(settingsPath)
        .set('Authorization', `JWT ${gated.a.jwt({ sub: 'reader' })}`)
        .send(body);
      expect(denied.status).toBe(403);
      expect(denied.body.error.code).toBe('FORBIDDEN');
      expect(await storedState(gated.store, gated.a.id)).toEqual(before);
      expect(gated.viewers.asked).toContain('workspace:reader');
      await gated
        .http()
        .get(settingsPath)
        .set('Authorization', `JWT ${gated.a.jwt({ sub: 'reader' })}`)
        .expect(403);
      await gated.http().put(settingsPath).set('Authorization', `JWT ${gated.a.jwt()}`).send(body).expect(200);
      await gated
        .http()
        .put(settingsPath)
        .set(...bearer(gated.a))
        .send(body)
        .expect(200);
    } finally {
      await gated.close();
    }
  });
});
