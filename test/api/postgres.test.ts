import { randomBytes } from 'node:crypto';
import { makeBitbucketWpc, makeProofBundle } from '../../src/testkit';
import { backendsUnderTest, createTestDatabase, type TestDatabase } from '../store/support/postgres';
import { bearer, createApiWorld, storedState, type ApiWorld } from './support/api-world';

/**
 * The whole API once more on PostgreSQL (production's store): column types differ (UUID, JSONB), so
 * a path that only works on SQLite would show here. The PostgreSQL is the one Jest's global setup
 * started (or CLAWGATE_TEST_PG_URL); an unreachable one fails this file rather than skipping it.
 */
backendsUnderTest('api/postgres');

describe('the API on postgres', () => {
  let database: TestDatabase;
  let world: ApiWorld;

  beforeAll(async () => {
    database = await createTestDatabase('api');
    world = await createApiWorld({ databaseUrl: database.url });
  });

  afterAll(async () => {
    await world?.close();
    await database?.drop();
  });

  it('serves every route for A and keeps B out', async () => {
    const a = world.a;
    const base = `/api/v1/workspaces/${a.slug}`;
    await world
      .http()
      .put(`${base}/settings`)
      .set(...bearer(a))
      .send({ mode: 'enforce', trusted_gateways: [], cst_issuers: [], wpc_issuers: [], agents: [], frozen: false })
      .expect(200);
    const hash = (
      await world
        .http()
        .post(`${base}/policies`)
        .set(...bearer(a))
        .send(makeBitbucketWpc({ repos: ['ws/pg'] }))
        .expect(201)
    ).body.policy_hash_b64u as string;
    await world
      .http()
      .put(`${base}/assignments`)
      .set(...bearer(a))
      .send([{ repo: '*/*', policy_hash_b64u: hash }])
      .expect(200);
    const { envelope, bundleId } = makeProofBundle();
    await world
      .http()
      .post(`${base}/bundles`)
      .set(...bearer(a))
      .send({ bundle: envelope })
      .expect(201);
    const evaluation = await world.store.evaluations.insert(a.id, {
      repoFullName: `${a.slug}/web`,
      prId: 3,
      headSha: randomBytes(20).toString('hex'),
      state: 'PASS',
      mode: 'enforce',
      statusState: 'SUCCESSFUL',
      verdict: { state: 'PASS' },
      bundleId,
      commits: [],
    });
    const listed = await world
      .http()
      .get(`${base}/evaluations`)
      .query({ repo: `${a.slug}/web`, pr: '3' })
      .set(...bearer(a))
      .expect(200);
    expect(listed.body.evaluations.map((item: { id: string }) => item.id)).toEqual([evaluation.id]);
    await world
      .http()
      .get(`${base}/evaluations/${evaluation.id}`)
      .set(...bearer(a))
      .expect(200);
    await world
      .http()
      .get(`${base}/evaluations/not-a-uuid`)
      .set(...bearer(a))
      .expect(404);
    await world
      .http()
      .post(`${base}/tokens/not-a-uuid/revoke`)
      .set(...bearer(a))
      .expect(404);
    await world
      .http()
      .get(`${base}/audit?format=csv`)
      .set(...bearer(a))
      .expect(200);

    const beforeB = await storedState(world.store, world.b.id);
    await world
      .http()
      .get(`/api/v1/workspaces/${world.b.slug}/evaluations/${evaluation.id}`)
      .set(...bearer(world.b))
      .expect(404);
    await world
      .http()
      .put(`/api/v1/workspaces/${a.slug}/settings`)
      .set(...bearer(world.b))
      .send({})
      .expect(403);
    expect(await storedState(world.store, world.b.id)).toEqual(beforeB);
  });
});
