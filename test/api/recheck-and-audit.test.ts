import { makeBitbucketWpc } from '../../src/testkit';
import { csvCell } from '../../src/api/routes/audit-routes';
import { bearer, createApiWorld, grant, type ApiWorld } from './support/api-world';

let world: ApiWorld;

beforeAll(async () => {
  world = await createApiWorld();
});

afterAll(async () => {
  await world.close();
});

describe('POST /workspaces/{ws}/repositories/{repo}/pullrequests/{id}/recheck', () => {
  it('queues a re-check through the pipeline (202 {job_id}) with the full repo name, and audits it', async () => {
    grant(world.viewers, 'reviewer-1', 'web', 'write');
    world.viewers.uuids.set('reviewer-1', '{0b7c3a1e-3f0a-4c2e-9d51-7a1b2c3d4e5f}');
    const response = await world
      .http()
      .post(`/api/v1/workspaces/${world.a.slug}/repositories/web/pullrequests/7/recheck`)
      .set('Authorization', `JWT ${world.a.jwt({ sub: 'reviewer-1' })}`);
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ job_id: 'job-1' });
    expect(world.rechecks).toEqual([
      { workspaceId: world.a.id, repoFullName: `${world.a.slug}/web`, prId: 7, actor: 'connect:reviewer-1' },
    ]);
    const [event] = await world.store.audit.query(world.a.id, { kinds: ['pullrequest.recheck_requested'] });
    expect(event).toMatchObject({ repo: `${world.a.slug}/web`, prId: 7, after: { job_id: 'job-1' } });
  });

  it("takes the repository as its full name too (%2F-encoded), and the audit filter takes the slug; another workspace's repository is refused", async () => {
    const response = await world
      .http()
      .post(
        `/api/v1/workspaces/${world.a.slug}/repositories/${encodeURIComponent(`${world.a.slug}/api`)}/pullrequests/8/recheck`,
      )
      .set(...bearer(world.a));
    expect(response.status).toBe(202);
    expect(world.rechecks.at(-1)).toMatchObject({ repoFullName: `${world.a.slug}/api`, prId: 8 });
    const bySlug = await world
      .http()
      .get(`/api/v1/workspaces/${world.a.slug}/audit?repo=api`)
      .set(...bearer(world.a));
    const byFullName = await world
      .http()
      .get(`/api/v1/workspaces/${world.a.slug}/audit?repo=${world.a.slug}/api`)
      .set(...bearer(world.a));
    expect(bySlug.status).toBe(200);
    expect(bySlug.text).toContain('pullrequest.recheck_requested');
    expect(bySlug.text).toBe(byFullName.text);
    const calls = world.rechecks.length;
    const foreign = await world
      .http()
      .post(
        `/api/v1/workspaces/${world.a.slug}/repositories/${encodeURIComponent(`${world.b.slug}/api`)}/pullrequests/8/recheck`,
      )
      .set(...bearer(world.a));
    expect(foreign.status).toBe(400);
    expect(world.rechecks.length).toBe(calls);
  });

  it('answers 400 for a bad PR id or repo slug without calling the pipeline', async () => {
    const calls = world.rechecks.length;
    const response = await world
      .http()
      .post(`/api/v1/workspaces/${world.a.slug}/repositories/web/pullrequests/0/recheck`)
      .set(...bearer(world.a));
    expect(response.status).toBe(400);
    expect(response.body.error.fields).toEqual([{ path: 'id', message: expect.any(String) }]);
    const badRepo = await world
      .http()
      .post(`/api/v1/workspaces/${world.a.slug}/repositories/${encodeURIComponent('a b')}/pullrequests/1/recheck`)
      .set(...bearer(world.a));
    expect(badRepo.status).toBe(400);
    expect(world.rechecks.length).toBe(calls);
  });

  it('answers 501 when no pipeline is wired', async () => {
    const bare = await createApiWorld({ recheck: false });
    try {
      const response = await bare
        .http()
        .post(`/api/v1/workspaces/${bare.a.slug}/repositories/web/pullrequests/1/recheck`)
        .set(...bearer(bare.a));
      expect(response.status).toBe(501);
      expect(response.body.error.code).toBe('NOT_IMPLEMENTED');
    } finally {
      await bare.close();
    }
  });
});

describe('GET /workspaces/{ws}/audit', () => {
  beforeAll(async () => {
    await world
      .http()
      .post(`/api/v1/workspaces/${world.a.slug}/policies`)
      .set(...bearer(world.a))
      .send(makeBitbucketWpc({ repos: ['a/x'] }))
      .expect(201);
    await world
      .http()
      .post(`/api/v1/workspaces/${world.b.slug}/policies`)
      .set(...bearer(world.b))
      .send(makeBitbucketWpc({ repos: ['b/only'] }))
      .expect(201);
  });

  it("exports the workspace's events as JSON Lines, oldest first, without other workspaces' events", async () => {
    const response = await world
      .http()
      .get(`/api/v1/workspaces/${world.a.slug}/audit`)
      .set(...bearer(world.a));
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const events = response.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: number; kind: string; actor: string });
    const kinds = events.map((event) => event.kind);
    expect(kinds[0]).toBe('tenant.installed');
    expect(kinds).toEqual(
      expect.arrayContaining(['api_token.created', 'policy.created', 'pullrequest.recheck_requested']),
    );
    expect(events.map((event) => event.id)).toEqual([...events.map((event) => event.id)].sort((x, y) => x - y));
    const ownIds = new Set((await world.store.audit.query(world.a.id)).map((event) => event.id));
    for (const event of events) expect(ownIds.has(event.id)).toBe(true);
  });

  it('exports CSV and pages with after_id', async () => {
    const csv = await world
      .http()
      .get(`/api/v1/workspaces/${world.a.slug}/audit?format=csv`)
      .set(...bearer(world.a));
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe('id,at,actor,kind,subject,repo,pr_id,before,after');
    expect(lines.length).toBe((await world.store.audit.query(world.a.id)).length + 1);

    const first = await world
      .http()
      .get(`/api/v1/workspaces/${world.a.slug}/audit?limit=2`)
      .set(...bearer(world.a));
    const cursor = first.headers['x-next-after-id'] as string;
    expect(cursor).toMatch(/^\d+$/);
    const next = await world
      .http()
      .get(`/api/v1/workspaces/${world.a.slug}/audit?limit=2&after_id=${cursor}`)
      .set(...bearer(world.a));
    const firstIds = first.text
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { id: number }).id);
    const nextIds = next.text
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { id: number }).id);
    expect(Math.min(...nextIds)).toBeGreaterThan(Math.max(...firstIds));
  });

  it('filters by event kind (e.g. incidents) and rejects a malformed kind list', async () => {
    const response = await world
      .http()
      .get(`/api/v1/workspaces/${world.a.slug}/audit?kind=policy.created,api_token.created`)
      .set(...bearer(world.a));
    expect(response.status).toBe(200);
    const kinds = new Set(
      response.text
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { kind: string }).kind),
    );
    expect([...kinds].sort()).toEqual(['api_token.created', 'policy.created']);
    const bad = await world
      .http()
      .get(`/api/v1/workspaces/${world.a.slug}/audit?kind=a;b`)
      .set(...bearer(world.a));
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toEqual([{ path: 'kind', message: expect.any(String) }]);
  });

  it('answers 400 for a bad time bound', async () => {
    const response = await world
      .http()
      .get(`/api/v1/workspaces/${world.a.slug}/audit?since=yesterday`)
      .set(...bearer(world.a));
    expect(response.status).toBe(400);
    expect(response.body.error.fields).toEqual([{ path: 'since', message: expect.any(String) }]);
  });

  it('quotes CSV cells and defuses spreadsheet formulas', () => {
    expect(csvCell('=HYPERLINK("x")')).toBe('"\'=HYPERLINK(""x"")"');
    expect(csvCell(null)).toBe('""');
    expect(csvCell({ a: 1 })).toBe('"{""a"":1}"');
  });
});
