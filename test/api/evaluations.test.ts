import { randomBytes } from 'node:crypto';
import type { EvaluationRecord } from '../../src/store';
import { bearer, createApiWorld, type ApiWorld } from './support/api-world';

let world: ApiWorld;
const inA: EvaluationRecord[] = [];
let inB: EvaluationRecord;

const sha = () => randomBytes(20).toString('hex');

beforeAll(async () => {
  world = await createApiWorld();
  const repo = `${world.a.slug}/web`;
  for (const prId of [1, 1, 2, 1]) {
    inA.push(
      await world.store.evaluations.insert(world.a.id, {
        repoFullName: repo,
        prId,
        headSha: sha(),
        state: prId === 2 ? 'FAIL' : 'PASS',
        mode: 'enforce',
        statusState: prId === 2 ? 'FAILED' : 'SUCCESSFUL',
        verdict: { state: prId === 2 ? 'FAIL' : 'PASS', checks: [{ code: 'OK' }] },
        bundleId: `bundle_${prId}`,
        policyHashB64u: 'P'.repeat(43),
        commits: [{ hash: 'abc' }],
      }),
    );
  }
  // Same repository full name and PR number in workspace B: must never show up in A.
  inB = await world.store.evaluations.insert(world.b.id, {
    repoFullName: repo,
    prId: 1,
    headSha: sha(),
    state: 'FAIL',
    mode: 'observe',
    statusState: 'SUCCESSFUL',
    verdict: { secret: 'of B' },
    commits: [],
  });
});

afterAll(async () => {
  await world.close();
});

const list = (query: Record<string, string>, ws = world.a) =>
  world
    .http()
    .get(`/api/v1/workspaces/${ws.slug}/evaluations`)
    .query(query)
    .set(...bearer(ws));

describe('GET /workspaces/{ws}/evaluations', () => {
  it('lists a PR newest first, without B’s evaluation of the same repo and PR', async () => {
    const response = await list({ repo: `${world.a.slug}/web`, pr: '1' });
    expect(response.status).toBe(200);
    const expected = inA
      .filter((evaluation) => evaluation.prId === 1)
      .reverse()
      .map((evaluation) => evaluation.id);
    expect(response.body.evaluations.map((evaluation: { id: string }) => evaluation.id)).toEqual(expected);
    expect(response.body.has_more).toBe(false);
    expect(response.body.evaluations[0]).toMatchObject({
      repo: `${world.a.slug}/web`,
      pr_id: 1,
      state: 'PASS',
      status_state: 'SUCCESSFUL',
      mode: 'enforce',
      bundle_id: 'bundle_1',
    });
    expect(response.body.evaluations[0].verdict).toBeUndefined();
    expect(JSON.stringify(response.body)).not.toContain(inB.id);
  });

  it('lists a repository across PRs with a limit and says when there is more', async () => {
    const page = await list({ repo: `${world.a.slug}/web`, limit: '3' });
    expect(page.body.evaluations.map((evaluation: { id: string }) => evaluation.id)).toEqual(
      inA
        .slice(1)
        .reverse()
        .map((evaluation) => evaluation.id),
    );
    expect(page.body.has_more).toBe(true);
    const all = await list({ repo: `${world.a.slug}/web`, limit: '4' });
    expect(all.body.has_more).toBe(false);
  });

  it("shows B only B's evaluation", async () => {
    const response = await list({ repo: `${world.a.slug}/web` }, world.b);
    expect(response.body.evaluations.map((evaluation: { id: string }) => evaluation.id)).toEqual([inB.id]);
  });

  it('accepts the repository slug or its full name (the workspace is already in the path)', async () => {
    const full = await list({ repo: `${world.a.slug}/web` });
    const bySlug = await list({ repo: 'web' });
    expect(bySlug.status).toBe(200);
    expect(bySlug.body.evaluations.length).toBeGreaterThan(0);
    expect(bySlug.body).toEqual(full.body);
  });

  it.each<[string, Record<string, string>, string[]]>([
    ['no repo', {}, ['repo']],
    ['a repo with too many parts', { repo: 'a/b/c' }, ['repo']],
    ['a bad pr', { repo: 'a/b', pr: '0' }, ['pr']],
    ['a limit over the maximum', { repo: 'a/b', limit: '1000' }, ['limit']],
    ['an unknown parameter', { repo: 'a/b', sort: 'asc' }, ['sort']],
  ])('answers 400 INVALID_QUERY for %s', async (_name, query, paths) => {
    const response = await list(query);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('INVALID_QUERY');
    expect(response.body.error.fields.map((field: { path: string }) => field.path)).toEqual(paths);
  });
});

describe('GET /workspaces/{ws}/evaluations/{id}', () => {
  it('answers the whole record with the verdict', async () => {
    const evaluation = inA[2] as EvaluationRecord;
    const response = await world
      .http()
      .get(`/api/v1/workspaces/${world.a.slug}/evaluations/${evaluation.id}`)
      .set(...bearer(world.a));
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      id: evaluation.id,
      pr_id: 2,
      head_sha: evaluation.headSha,
      state: 'FAIL',
      verdict: { state: 'FAIL', checks: [{ code: 'OK' }] },
      commits: [{ hash: 'abc' }],
      policy_hash_b64u: 'P'.repeat(43),
      created_at: evaluation.createdAt.toISOString(),
    });
  });

  it("answers 404 for B's evaluation id asked through A, the same as for an unknown id", async () => {
    const foreign = await world
      .http()
      .get(`/api/v1/workspaces/${world.a.slug}/evaluations/${inB.id}`)
      .set(...bearer(world.a));
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('EVALUATION_NOT_FOUND');
    const unknown = await world
      .http()
      .get(`/api/v1/workspaces/${world.a.slug}/evaluations/00000000-0000-4000-8000-000000000000`)
      .set(...bearer(world.a));
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual(foreign.body);
    const own = await world
      .http()
      .get(`/api/v1/workspaces/${world.b.slug}/evaluations/${inB.id}`)
      .set(...bearer(world.b));
    expect(own.status).toBe(200);
  });
});
