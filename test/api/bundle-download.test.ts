import { sha256B64u } from '../../src/core/clawsig/hashing';
import { makeProofBundle } from '../../src/testkit';
import { bearer, createApiWorld, grant, type ApiWorld } from './support/api-world';

/** `GET /workspaces/{ws}/bundles/{bundle_id}`: the stored bundle, for the details page's download and re-verification. */

let world: ApiWorld;

beforeAll(async () => {
  world = await createApiWorld();
});

afterAll(async () => {
  await world.close();
});

const SCOPED_TOKEN = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJkaWQ6a2V5OnoifQ.c2ln';

describe('GET /workspaces/{ws}/bundles/{bundle_id}', () => {
  it('answers the stored envelope byte for byte, as a download, with its SHA-256; never the scoped token', async () => {
    const { envelope, bundleId } = makeProofBundle();
    await world
      .http()
      .post(`/api/v1/workspaces/${world.a.slug}/bundles`)
      .set(...bearer(world.a))
      .send({ bundle: envelope, scoped_token: SCOPED_TOKEN })
      .expect(201);
    const response = await world
      .http()
      .get(`/api/v1/workspaces/${world.a.slug}/bundles/${encodeURIComponent(bundleId)}`)
      .set(...bearer(world.a))
      .buffer(true)
      .parse((res, done) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => done(null, text));
      });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.headers['content-disposition']).toBe(`attachment; filename="${bundleId}.json"`);
    expect(response.headers['cache-control']).toBe('no-store');
    const text = response.body as string;
    expect(text).toBe(JSON.stringify(envelope));
    expect(response.headers['x-bundle-sha256-b64u']).toBe(sha256B64u(text));
    expect(response.headers['x-bundle-source']).toBe('api');
    expect(text).not.toContain(SCOPED_TOKEN);
  });

  it('works with the page’s Connect JWT too (the details page downloads it) for a viewer who may read a repository that used it', async () => {
    const { envelope, bundleId } = makeProofBundle();
    await world
      .http()
      .post(`/api/v1/workspaces/${world.a.slug}/bundles`)
      .set(...bearer(world.a))
      .send({ bundle: envelope })
      .expect(201);
    const path = `/api/v1/workspaces/${world.a.slug}/bundles/${bundleId}`;
    // No evaluation used it yet: no repository vouches for a viewer; a workspace admin still may.
    expect(
      (
        await world
          .http()
          .get(path)
          .set('Authorization', `JWT ${world.a.jwt({ sub: '557058:no-access' })}`)
      ).status,
    ).toBe(403);
    expect((await world.http().get(path).set('Authorization', `JWT ${world.a.jwt()}`)).status).toBe(200);
    await world.store.evaluations.insert(world.a.id, {
      repoFullName: `${world.a.slug}/web`,
      prId: 3,
      headSha: 'a'.repeat(40),
      state: 'PASS',
      mode: 'enforce',
      statusState: 'SUCCESSFUL',
      verdict: {},
      bundleId,
      commits: [],
    });
    expect(
      (
        await world
          .http()
          .get(path)
          .set('Authorization', `JWT ${world.a.jwt({ sub: '557058:no-access' })}`)
      ).status,
    ).toBe(403);
    // (The "none" above is cached for a minute; a reader Bitbucket was not asked about yet.)
    grant(world.viewers, '557058:web-reader', 'web', 'read');
    expect(
      (
        await world
          .http()
          .get(path)
          .set('Authorization', `JWT ${world.a.jwt({ sub: '557058:web-reader' })}`)
      ).status,
    ).toBe(200);
  });

  it('file names keep only safe characters', async () => {
    const { envelope } = makeProofBundle({ bundleId: 'bundle:odd "name"/x' });
    await world
      .http()
      .post(`/api/v1/workspaces/${world.a.slug}/bundles`)
      .set(...bearer(world.a))
      .send({ bundle: envelope })
      .expect(201);
    const response = await world
      .http()
      .get(`/api/v1/workspaces/${world.a.slug}/bundles/${encodeURIComponent('bundle:odd "name"/x')}`)
      .set(...bearer(world.a));
    expect(response.status).toBe(200);
    expect(response.headers['content-disposition']).toBe('attachment; filename="bundle_odd__name__x.json"');
  });

  it('another workspace’s bundle is the same 404 as one that does not exist', async () => {
    const { envelope, bundleId } = makeProofBundle();
    await world
      .http()
      .post(`/api/v1/workspaces/${world.a.slug}/bundles`)
      .set(...bearer(world.a))
      .send({ bundle: envelope })
      .expect(201);
    const fromB = await world
      .http()
      .get(`/api/v1/workspaces/${world.b.slug}/bundles/${bundleId}`)
      .set(...bearer(world.b));
    const unknown = await world
      .http()
      .get(`/api/v1/workspaces/${world.a.slug}/bundles/bundle_does_not_exist`)
      .set(...bearer(world.a));
    expect(fromB.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(fromB.body).toEqual(unknown.body);
    expect(fromB.body.error.code).toBe('BUNDLE_NOT_FOUND');
    // B's credential on A's path is refused before anything is read.
    expect(
      (
        await world
          .http()
          .get(`/api/v1/workspaces/${world.a.slug}/bundles/${bundleId}`)
          .set(...bearer(world.b))
      ).status,
    ).toBe(403);
    expect((await world.http().get(`/api/v1/workspaces/${world.a.slug}/bundles/${bundleId}`)).status).toBe(401);
  });
});
