import { z } from 'zod';
import { BitbucketResponseError, PageCapExceededError } from '../../src/bitbucket';
import { startFakeBitbucket, type FakeBitbucket } from './support/fake-bitbucket';
import { connectClient } from './support/test-client';

const sha = (n: number) => n.toString(16).padStart(40, 'a');
const commit = (n: number) => ({
  hash: sha(n),
  parents: [{ hash: sha(n + 1000) }],
  author: { raw: `Dev ${n} <dev@example.com>` },
  message: `commit ${n}`,
  date: '2026-01-01T00:00:00+00:00',
  type: 'commit',
});

describe('paginate', () => {
  let server: FakeBitbucket;
  let pages: number;
  let corruptPage: number | undefined;

  beforeAll(async () => {
    server = await startFakeBitbucket({
      routes: (app) => {
        // Iterator pagination like PR commits: `next` carries an opaque cursor, not a page number.
        app.get('/2.0/repositories/:ws/:slug/pullrequests/:id/commits', (req, res) => {
          const cursor = typeof req.query.cursor === 'string' ? Number(req.query.cursor) : 0;
          const values = [0, 1].map((i) => commit(cursor * 2 + i));
          if (corruptPage === cursor) values[1] = { ...commit(99), hash: 'bf0e8b7962c0' };
          const next =
            cursor + 1 < pages
              ? `${server.url}/2.0/repositories/${req.params.ws}/${req.params.slug}/pullrequests/${req.params.id}/commits?pagelen=${String(req.query.pagelen)}&cursor=${cursor + 1}`
              : undefined;
          res.json({ pagelen: 2, values, ...(next ? { next } : {}) });
        });
      },
    });
  });
  afterAll(() => server.close());
  beforeEach(() => {
    server.received.length = 0;
    pages = 3;
    corruptPage = undefined;
  });

  it('follows next links over 3 pages with pagelen=100, every page signed for its own URL', async () => {
    const { client } = connectClient(server);
    const commits = await client.listPullRequestCommits('acme', 'widgets', 7);
    expect(commits.map((item) => item.message)).toEqual([
      'commit 0',
      'commit 1',
      'commit 2',
      'commit 3',
      'commit 4',
      'commit 5',
    ]);
    expect(commits[0]?.parents[0]?.hash).toBe(sha(1000));
    expect(server.received.map((request) => request.url)).toEqual([
      '/2.0/repositories/acme/widgets/pullrequests/7/commits?pagelen=100',
      '/2.0/repositories/acme/widgets/pullrequests/7/commits?pagelen=100&cursor=1',
      '/2.0/repositories/acme/widgets/pullrequests/7/commits?pagelen=100&cursor=2',
    ]);
    expect(server.received.every((request) => request.jwt?.claims.qsh === request.jwt?.expectedQsh)).toBe(true);
  });

  it('refuses to truncate: more pages than the cap is PageCapExceededError after exactly cap requests', async () => {
    pages = 5;
    const { client } = connectClient(server, { pageCap: 3 });
    const error = await client.listPullRequestCommits('acme', 'widgets', 7).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PageCapExceededError);
    expect(error).toMatchObject({
      pageCap: 3,
      path: '/2.0/repositories/acme/widgets/pullrequests/7/commits?pagelen=100',
    });
    expect(server.received).toHaveLength(3);
  });

  it('exactly cap pages is fine; the default cap is 20 and a per-call cap overrides it', async () => {
    pages = 3;
    const { client } = connectClient(server, { pageCap: 3 });
    await expect(client.listPullRequestCommits('acme', 'widgets', 7)).resolves.toHaveLength(6);
    pages = 21;
    const defaults = connectClient(server).client;
    server.received.length = 0;
    await expect(defaults.listPullRequestCommits('acme', 'widgets', 7)).rejects.toMatchObject({ pageCap: 20 });
    expect(server.received).toHaveLength(20);
    pages = 2;
    await expect(
      defaults.paginate('/2.0/repositories/acme/widgets/pullrequests/7/commits', z.unknown(), { pageCap: 1 }),
    ).rejects.toBeInstanceOf(PageCapExceededError);
  });

  it('a bad item on page 2 fails the whole listing with the zod path of the item', async () => {
    corruptPage = 1;
    const { client } = connectClient(server);
    const error = await client.listPullRequestCommits('acme', 'widgets', 7).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BitbucketResponseError);
    expect(error).toMatchObject({ issuePath: 'values.1.hash' });
    expect((error as Error).message).toContain('values.1.hash');
  });
});
