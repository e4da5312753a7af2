import { makeBitbucketWpc } from '../../src/testkit';
import { bearer, createApiWorld, storedState, type ApiWorld } from './support/api-world';

let world: ApiWorld;
let hashA: string;
let hashA2: string;
let hashB: string;

beforeAll(async () => {
  world = await createApiWorld();
  const upload = async (ws: typeof world.a, repo: string) =>
    (
      await world
        .http()
        .post(`/api/v1/workspaces/${ws.slug}/policies`)
        .set(...bearer(ws))
        .send(makeBitbucketWpc({ repos: [repo] }))
        .expect(201)
    ).body.policy_hash_b64u as string;
  hashA = await upload(world.a, 'ws/one');
  hashA2 = await upload(world.a, 'ws/two');
  hashB = await upload(world.b, 'ws/three');
});

afterAll(async () => {
  await world.close();
});

const path = () => `/api/v1/workspaces/${world.a.slug}/assignments`;

describe('GET|PUT /workspaces/{ws}/assignments', () => {
  it('replaces the ordered list and answers it on GET', async () => {
    const list = [
      { repo: `${world.a.slug}/web-*`, policy_hash_b64u: hashA, mode: 'enforce' },
      { repo: '*/*', policy_hash_b64u: hashA2 },
    ];
    const response = await world
      .http()
      .put(path())
      .set(...bearer(world.a))
      .send(list);
    expect(response.status).toBe(200);
    const expected = [
      { repo: `${world.a.slug}/web-*`, policy_hash_b64u: hashA, mode: 'enforce' },
      { repo: '*/*', policy_hash_b64u: hashA2, mode: null },
    ];
    expect(response.body).toEqual(expected);
    expect(
      (
        await world
          .http()
          .get(path())
          .set(...bearer(world.a))
      ).body,
    ).toEqual(expected);
    const second = await world
      .http()
      .put(path())
      .set(...bearer(world.a))
      .send([{ repo: '**', policy_hash_b64u: hashA2, mode: null }]);
    expect(second.body).toEqual([{ repo: '**', policy_hash_b64u: hashA2, mode: null }]);
    const [event] = (await world.store.audit.query(world.a.id, { kinds: ['assignments.replaced'] })).slice(-1);
    expect(event?.actor).toBe(`api_token:${world.a.tokenId}`);
  });

  it("refuses an unknown hash, and another workspace's hash, with 422 UNKNOWN_POLICY at each path; nothing changes", async () => {
    await world
      .http()
      .put(path())
      .set(...bearer(world.a))
      .send([{ repo: '*/*', policy_hash_b64u: hashA }])
      .expect(200);
    const before = await storedState(world.store, world.a.id);
    const response = await world
      .http()
      .put(path())
      .set(...bearer(world.a))
      .send([
        { repo: '*/a', policy_hash_b64u: hashA },
        { repo: '*/b', policy_hash_b64u: 'A'.repeat(43) },
        { repo: '*/c', policy_hash_b64u: hashB },
      ]);
    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe('UNKNOWN_POLICY');
    expect(response.body.error.fields.map((field: { path: string }) => field.path)).toEqual([
      '[1].policy_hash_b64u',
      '[2].policy_hash_b64u',
    ]);
    expect(await storedState(world.store, world.a.id)).toEqual(before);
    expect(
      (
        await world
          .http()
          .get(path())
          .set(...bearer(world.a))
      ).body,
    ).toEqual([{ repo: '*/*', policy_hash_b64u: hashA, mode: null }]);
  });

  it.each<[string, unknown, string[]]>([
    ['a body that is not an array', { repo: '*/*' }, ['']],
    [
      'a glob without the workspace part',
      [{ repo: 'web-*', policy_hash_b64u: 'x' }],
      ['[0].repo', '[0].policy_hash_b64u'],
    ],
    ['an unknown mode', [{ repo: '*/*', policy_hash_b64u: 'A'.repeat(43), mode: 'block' }], ['[0].mode']],
    [
      'a duplicate glob',
      [
        { repo: '*/*', policy_hash_b64u: 'A'.repeat(43) },
        { repo: '*/*', policy_hash_b64u: 'B'.repeat(43) },
      ],
      ['[1].repo'],
    ],
    ['an unknown field', [{ repo: '*/*', policy_hash_b64u: 'A'.repeat(43), repos: [] }], ['[0].repos']],
  ])('refuses %s with 422 and field paths, storing nothing', async (_name, body, paths) => {
    const before = await storedState(world.store, world.a.id);
    const response = await world
      .http()
      .put(path())
      .set(...bearer(world.a))
      .send(body as object);
    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    expect(response.body.error.fields.map((field: { path: string }) => field.path).sort()).toEqual([...paths].sort());
    expect(await storedState(world.store, world.a.id)).toEqual(before);
  });

  it("does not show A's assignments to B", async () => {
    const b = await world
      .http()
      .get(`/api/v1/workspaces/${world.b.slug}/assignments`)
      .set(...bearer(world.b));
    expect(b.status).toBe(200);
    expect(b.body).toEqual([]);
  });
});
