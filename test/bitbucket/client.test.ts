import {
  AnnotationLimitError,
  BitbucketAuthError,
  BitbucketInputError,
  BitbucketNotFoundError,
  BitbucketRequestRejectedError,
  BitbucketResponseError,
  connectQueryStringHash,
  ResponseTooLargeError,
  type AnnotationInput,
} from '../../src/bitbucket';
import { startFakeBitbucket, type FakeBitbucket } from './support/fake-bitbucket';
import { connectClient, fixture, FULL_SHA } from './support/test-client';

const REPO = '/2.0/repositories/:ws/:slug';

/** Per-test override: answers first when it returns true; otherwise the default routes serve the captured fixtures. */
let overrideHandler: ((req: import('express').Request, res: import('express').Response) => boolean) | undefined;

describe('typed methods against captured Bitbucket responses', () => {
  let server: FakeBitbucket;

  beforeAll(async () => {
    server = await startFakeBitbucket({
      routes: (app) => {
        app.use((req, res, next) => {
          if (overrideHandler?.(req, res)) return;
          next();
        });
        app.get(`${REPO}/pullrequests/:id`, (_req, res) => void res.json(fixture('api_get_pullrequest.json')));
        app.get(`${REPO}/pullrequests/:id/diffstat`, (_req, res) => void res.json(fixture('api_diffstat.json')));
        app.post(`${REPO}/commit/:sha/statuses/build`, (req, res) => {
          const stored = {
            ...(fixture('api_commit_status_build.json') as Record<string, unknown>),
            ...(req.body as Record<string, unknown>),
          };
          res.status(201).json(stored);
        });
        app.get(`${REPO}/commit/:sha/statuses/build/:key`, (req, res) => {
          if (req.params.key !== 'fe7e71305b004dd8dd5a124e1dae4c33')
            return void res.status(404).json({ type: 'error', error: { message: 'No such status' } });
          res.json(fixture('api_commit_status_build.json'));
        });
        app.get(`${REPO}/commit/:hash`, (req, res) => {
          if (FULL_SHA.startsWith(req.params.hash))
            return void res.json({ hash: FULL_SHA, type: 'commit', message: 'x' });
          res.status(404).json({ type: 'error', error: { message: `Commit not found: ${req.params.hash}` } });
        });
        app.get(`${REPO}/src/:commit/*path`, (req, res) => {
          const path = (req.params as unknown as { path: string[] }).path.join('/');
          if (path === 'missing.txt')
            return void res.status(404).json({ type: 'error', error: { message: 'No such file' } });
          if (path === 'binary.bin')
            return void res.type('application/octet-stream').send(Buffer.from([0xff, 0xfe, 0x00, 0x80]));
          if (path === 'big.txt') return void res.type('text/plain').send('x'.repeat(2048));
          if (path === 'endless.txt') {
            // Chunked, no Content-Length: the limit must hold while streaming.
            res.type('text/plain');
            const timer = setInterval(() => res.write('y'.repeat(1000)), 1);
            res.on('close', () => clearInterval(timer));
            return;
          }
          res.type('text/plain').send(`content of ${path}`);
        });
        app.post(`${REPO}/commit/:sha/reports/:reportId/annotations`, (req, res) => {
          const body = req.body as { external_id: string }[];
          res.json(body.map((annotation, i) => ({ ...annotation, uuid: `{a-${i}}`, type: 'report_annotation' })));
        });
        app.put(
          `${REPO}/commit/:sha/reports/:reportId`,
          (req, res) => void res.json({ ...(req.body as object), uuid: '{r-1}', external_id: req.params.reportId }),
        );
        app.delete(`${REPO}/commit/:sha/reports/:reportId`, (req, res) => {
          if (req.params.reportId === 'absent')
            return void res.status(404).json({ type: 'error', error: { message: 'not found' } });
          res.status(204).end();
        });
        app.get(
          `${REPO}/branch-restrictions`,
          (_req, res) =>
            void res.json({
              pagelen: 100,
              values: [
                {
                  id: 1,
                  kind: 'require_passing_builds_to_merge',
                  pattern: 'main',
                  value: 1,
                  branch_match_kind: 'glob',
                  users: [],
                  groups: [],
                },
              ],
            }),
        );
        app.post(
          `${REPO}/branch-restrictions`,
          (req, res) => void res.status(201).json({ id: 42, ...(req.body as object) }),
        );
        app.post(
          `${REPO}/pullrequests/:id/comments`,
          (req, res) => void res.status(201).json({ id: 9001, ...(req.body as object) }),
        );
        app.get(
          `${REPO}/hooks`,
          (_req, res) =>
            void res.json({
              values: [
                {
                  uuid: '{h-1}',
                  url: 'https://clawgate.example/hooks/bitbucket',
                  active: true,
                  events: ['pullrequest:created'],
                  secret_set: true,
                },
              ],
            }),
        );
        app.get('/2.0/workspaces/:ws/hooks', (_req, res) => void res.json({ values: [] }));
        app.post(`${REPO}/hooks`, (req, res) => {
          const { secret: _secret, ...rest } = req.body as Record<string, unknown>;
          res.status(201).json({ uuid: '{h-2}', secret_set: true, ...rest });
        });
        app.delete(
          `${REPO}/hooks/:uid`,
          (req, res) =>
            void (req.params.uid === '{h-1}'
              ? res.status(204).end()
              : res.status(404).json({ type: 'error', error: { message: 'no hook' } })),
        );
        app.get(
          '/2.0/workspaces/:ws',
          (_req, res) =>
            void res.json({ uuid: '{w-1}', slug: 'acme', name: 'Acme', type: 'workspace', is_private: true }),
        );
        app.get('/2.0/user', (_req, res) => void res.json({ uuid: '{u-1}', display_name: 'clawgate', type: 'user' }));
      },
    });
  });
  afterAll(() => server.close());
  beforeEach(() => {
    server.received.length = 0;
    overrideHandler = undefined;
  });

  describe('schemas accept real data', () => {
    it('getPullRequest parses api_get_pullrequest.json (12-char hashes, no participants → [])', async () => {
      const { client } = connectClient(server);
      const pr = await client.getPullRequest('amuniz', 'test-repos', 1);
      expect(pr).toMatchObject({
        id: 1,
        title: 'Release/release 1',
        state: 'OPEN',
        author: {
          uuid: '{644c7fc2-b15a-4445-9f89-35390694fac9}',
          account_id: '557058:ca1cd232-2017-4216-94be-99637899e18d',
          display_name: 'Nikolas Falco',
        },
        source: { commit: { hash: 'bf0e8b7962c0' }, repository: { full_name: 'amuniz/test-repos' } },
        destination: { branch: { name: 'master' }, commit: { hash: 'bf4f4ce8a3a8' } },
        links: { html: { href: 'https://bitbucket.org/amuniz/test-repos/pull-requests/1' } },
        participants: [],
      });
      // Unknown fields pass through untouched.
      expect(pr).toHaveProperty('close_source_branch', true);
    });

    it('listPullRequestDiffstat parses api_diffstat.json (old: null for added files)', async () => {
      const { client } = connectClient(server);
      const items = await client.listPullRequestDiffstat('amuniz', 'test-repos', 1);
      expect(items.map((item) => [item.status, item.old?.path ?? null, item.new?.path ?? null])).toEqual([
        ['modified', 'Jenkinsfile', 'Jenkinsfile'],
        ['added', null, 'resources/README.md'],
        ['renamed', 'folder/file.properties', 'resources/file.properties'],
        ['added', null, 'resources/image.png'],
      ]);
    });

    it('getBuildStatus parses api_commit_status_build.json (refname null); a missing key is null', async () => {
      const { client } = connectClient(server);
      await expect(
        client.getBuildStatus('amuniz', 'test-repos', FULL_SHA, 'fe7e71305b004dd8dd5a124e1dae4c33'),
      ).resolves.toMatchObject({
        state: 'FAILED',
        refname: null,
        description: 'There was a failure building this commit.',
      });
      await expect(client.getBuildStatus('amuniz', 'test-repos', FULL_SHA, 'OTHER')).resolves.toBeNull();
    });
  });

  describe('schema rejection', () => {
    it('a PR missing source.commit.hash is BitbucketResponseError with the zod path, never returned', async () => {
      overrideHandler = (req, res) => {
        if (req.method !== 'GET' || !req.path.endsWith('/pullrequests/1')) return false;
        const pr = fixture('api_get_pullrequest.json') as { source: { commit: Record<string, unknown> } };
        delete pr.source.commit.hash;
        res.json(pr);
        return true;
      };
      const { client } = connectClient(server);
      const error = await client.getPullRequest('amuniz', 'test-repos', 1).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(BitbucketResponseError);
      expect(error).toMatchObject({ issuePath: 'source.commit.hash', status: 200, transient: false });
    });

    it('an unknown PR state or a non-JSON body is rejected too', async () => {
      const { client } = connectClient(server);
      overrideHandler = (req, res) => {
        if (!req.path.endsWith('/pullrequests/1')) return false;
        res.json({ ...(fixture('api_get_pullrequest.json') as object), state: 'WHATEVER' });
        return true;
      };
      await expect(client.getPullRequest('amuniz', 'test-repos', 1)).rejects.toMatchObject({
        name: 'BitbucketResponseError',
        issuePath: 'state',
      });
      overrideHandler = (req, res) => {
        if (!req.path.endsWith('/pullrequests/1')) return false;
        res.type('text/html').send('<html>maintenance</html>');
        return true;
      };
      await expect(client.getPullRequest('amuniz', 'test-repos', 1)).rejects.toThrow(/not JSON/);
    });

    it('a JSON body over the limit is ResponseTooLargeError', async () => {
      const { client } = connectClient(server, { maxJsonBytes: 1024 });
      await expect(client.getPullRequest('amuniz', 'test-repos', 1)).rejects.toBeInstanceOf(ResponseTooLargeError);
    });
  });

  describe('commits', () => {
    it('resolveCommitHash: 40 hex returned without a request; a 12-char prefix resolved and checked', async () => {
      const { client } = connectClient(server);
      await expect(client.resolveCommitHash('acme', 'widgets', FULL_SHA)).resolves.toBe(FULL_SHA);
      expect(server.received).toHaveLength(0);
      await expect(client.resolveCommitHash('acme', 'widgets', FULL_SHA.slice(0, 12))).resolves.toBe(FULL_SHA);
      expect(server.received.map((request) => request.url)).toEqual([
        `/2.0/repositories/acme/widgets/commit/${FULL_SHA.slice(0, 12)}`,
      ]);
    });

    it('resolveCommitHash refuses a server answer that is not 40 hex or not the asked-for commit', async () => {
      const { client } = connectClient(server);
      overrideHandler = (req, res) => {
        if (!req.path.includes('/commit/')) return false;
        res.json({ hash: req.path.endsWith('bf0e8b7962c0') ? 'bf0e8b7962c0' : 'f'.repeat(40) });
        return true;
      };
      await expect(client.resolveCommitHash('acme', 'widgets', 'bf0e8b7962c0')).rejects.toMatchObject({
        name: 'BitbucketResponseError',
        issuePath: 'hash',
      });
      await expect(client.resolveCommitHash('acme', 'widgets', 'abcdef123456')).rejects.toThrow(/does not prefix/);
    });

    it('resolveCommitHash refuses non-hex input before any request; unknown commits are BitbucketNotFoundError', async () => {
      const { client } = connectClient(server);
      await expect(client.resolveCommitHash('acme', 'widgets', '../../user')).rejects.toBeInstanceOf(
        BitbucketInputError,
      );
      expect(server.received).toHaveLength(0);
      await expect(client.resolveCommitHash('acme', 'widgets', '0000000deadbeef')).rejects.toBeInstanceOf(
        BitbucketNotFoundError,
      );
    });
  });

  describe('getFileAtCommit', () => {
    it('encodes each path segment, keeps the slashes, returns text', async () => {
      const { client } = connectClient(server);
      const text = await client.getFileAtCommit('acme', 'widgets', FULL_SHA, 'dir with space/a#b?.ts');
      expect(text).toBe('content of dir with space/a#b?.ts');
      expect(server.received[0]?.url).toBe(
        `/2.0/repositories/acme/widgets/src/${FULL_SHA}/dir%20with%20space/a%23b%3F.ts`,
      );
      expect(server.received[0]?.jwt?.claims.qsh).toBe(server.received[0]?.jwt?.expectedQsh);
    });

    it('404 is null; over maxBytes is ResponseTooLargeError; non-UTF-8 is BitbucketResponseError', async () => {
      const { client } = connectClient(server);
      await expect(client.getFileAtCommit('acme', 'widgets', FULL_SHA, 'missing.txt')).resolves.toBeNull();
      await expect(
        client.getFileAtCommit('acme', 'widgets', FULL_SHA, 'big.txt', { maxBytes: 1024 }),
      ).rejects.toBeInstanceOf(ResponseTooLargeError);
      await expect(
        client.getFileAtCommit('acme', 'widgets', FULL_SHA, 'big.txt', { maxBytes: 4096 }),
      ).resolves.toHaveLength(2048);
      await expect(
        client.getFileAtCommit('acme', 'widgets', FULL_SHA, 'endless.txt', { maxBytes: 10_000 }),
      ).rejects.toMatchObject({ name: 'ResponseTooLargeError', limitBytes: 10_000 });
      await expect(client.getFileAtCommit('acme', 'widgets', FULL_SHA, 'binary.bin')).rejects.toThrow(
        /not valid UTF-8/,
      );
    });

    it('getFileBytesAtCommit: the exact bytes, not decoded (the caller decodes off the event loop); same 404 and limit', async () => {
      const { client } = connectClient(server);
      const bytes = await client.getFileBytesAtCommit('acme', 'widgets', FULL_SHA, 'binary.bin');
      expect(bytes).toBeInstanceOf(Uint8Array);
      expect([...(bytes ?? [])]).toEqual([0xff, 0xfe, 0x00, 0x80]);
      await expect(client.getFileBytesAtCommit('acme', 'widgets', FULL_SHA, 'missing.txt')).resolves.toBeNull();
      await expect(
        client.getFileBytesAtCommit('acme', 'widgets', FULL_SHA, 'big.txt', { maxBytes: 1024 }),
      ).rejects.toBeInstanceOf(ResponseTooLargeError);
      const text = await client.getFileBytesAtCommit('acme', 'widgets', FULL_SHA, 'a.ts');
      expect(Buffer.from(text ?? new Uint8Array()).toString('utf8')).toBe('content of a.ts');
      await expect(client.getFileBytesAtCommit('acme', 'widgets', FULL_SHA, '../x')).rejects.toBeInstanceOf(
        BitbucketInputError,
      );
    });

    it('refuses dot segments and empty segments (they would move the request to another path)', async () => {
      const { client } = connectClient(server);
      for (const path of ['../../../user', 'a/./b', 'a//b', '/abs', 'a/%2e%2e/b']) {
        await expect(client.getFileAtCommit('acme', 'widgets', FULL_SHA, path)).rejects.toBeInstanceOf(
          BitbucketInputError,
        );
      }
      await expect(client.getPullRequest('..', 'widgets', 1)).rejects.toBeInstanceOf(BitbucketInputError);
      expect(server.received).toHaveLength(0);
    });
  });

  describe('statuses, reports, annotations', () => {
    it('putBuildStatus POSTs to …/commit/{sha}/statuses/build with the body, and validates the answer', async () => {
      const { client } = connectClient(server);
      const status = await client.putBuildStatus('acme', 'widgets', FULL_SHA, {
        key: 'CLAWGATE',
        state: 'INPROGRESS',
        name: 'clawgate',
        url: 'https://clawgate.example/e/1',
        description: 'verifying',
        refname: 'feature/x',
      });
      expect(status).toMatchObject({ key: 'CLAWGATE', state: 'INPROGRESS', refname: 'feature/x' });
      expect(server.received[0]).toMatchObject({
        method: 'POST',
        url: `/2.0/repositories/acme/widgets/commit/${FULL_SHA}/statuses/build`,
        body: { key: 'CLAWGATE', state: 'INPROGRESS', refname: 'feature/x' },
      });
    });

    it('refuses a short hash or a key over 40 chars before sending', async () => {
      const { client } = connectClient(server);
      await expect(
        client.putBuildStatus('acme', 'widgets', 'bf0e8b7962c0', { key: 'K', state: 'FAILED' }),
      ).rejects.toThrow(/full 40-hex/);
      await expect(
        client.putBuildStatus('acme', 'widgets', FULL_SHA, { key: 'k'.repeat(41), state: 'FAILED' }),
      ).rejects.toThrow(/at key/);
      expect(server.received).toHaveLength(0);
    });

    it('putReport PUTs the report; deleteReport says whether there was one', async () => {
      const { client } = connectClient(server);
      const report = await client.putReport('acme', 'widgets', FULL_SHA, 'clawgate-policy', {
        title: 'clawgate',
        report_type: 'SECURITY',
        result: 'FAILED',
        data: [{ title: 'Checks', type: 'NUMBER', value: 3 }],
      });
      expect(report).toMatchObject({ uuid: '{r-1}', external_id: 'clawgate-policy', result: 'FAILED' });
      await expect(client.deleteReport('acme', 'widgets', FULL_SHA, 'clawgate-policy')).resolves.toBe(true);
      await expect(client.deleteReport('acme', 'widgets', FULL_SHA, 'absent')).resolves.toBe(false);
      const tooMuchData = Array.from({ length: 11 }, (_, i) => ({ title: `d${i}`, value: i }));
      await expect(
        client.putReport('acme', 'widgets', FULL_SHA, 'r', { title: 't', data: tooMuchData }),
      ).rejects.toBeInstanceOf(BitbucketInputError);
    });

    it('postAnnotations chunks 250 into 100 + 100 + 50 and returns all created annotations', async () => {
      const { client } = connectClient(server);
      const annotations: AnnotationInput[] = Array.from({ length: 250 }, (_, i) => ({
        external_id: `clawgate-${i}`,
        summary: `finding ${i}`,
        path: 'src/a.ts',
        line: i + 1,
        severity: 'HIGH',
        annotation_type: 'BUG',
        result: 'FAILED',
      }));
      const created = await client.postAnnotations('acme', 'widgets', FULL_SHA, 'clawgate-policy', annotations);
      expect(created).toHaveLength(250);
      const posts = server.received.filter((request) => request.method === 'POST');
      expect(posts.map((request) => (request.body as unknown[]).length)).toEqual([100, 100, 50]);
      expect((posts[2]?.body as { external_id: string }[])[49]?.external_id).toBe('clawgate-249');
      expect(
        posts.every(
          (request) =>
            request.url === `/2.0/repositories/acme/widgets/commit/${FULL_SHA}/reports/clawgate-policy/annotations`,
        ),
      ).toBe(true);
    });

    it('refuses more than 1,000 annotations with AnnotationLimitError and sends nothing; 0 sends nothing', async () => {
      const { client } = connectClient(server);
      const annotations = Array.from({ length: 1001 }, (_, i) => ({ external_id: `a-${i}`, summary: 's' }));
      const error = await client
        .postAnnotations('acme', 'widgets', FULL_SHA, 'r', annotations)
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(AnnotationLimitError);
      expect(error).toMatchObject({ count: 1001, limit: 1000 });
      await expect(client.postAnnotations('acme', 'widgets', FULL_SHA, 'r', [])).resolves.toEqual([]);
      await expect(
        client.postAnnotations('acme', 'widgets', FULL_SHA, 'r', [{ external_id: 'x', summary: '' }]),
      ).rejects.toThrow(/annotation 0 is invalid at summary/);
      expect(server.received).toHaveLength(0);
    });
  });

  describe('admin surface', () => {
    it('branch restrictions: list and create', async () => {
      const { client } = connectClient(server);
      await expect(client.listBranchRestrictions('acme', 'widgets')).resolves.toEqual([
        expect.objectContaining({ id: 1, kind: 'require_passing_builds_to_merge', value: 1 }),
      ]);
      const created = await client.createBranchRestriction('acme', 'widgets', {
        kind: 'require_passing_builds_to_merge',
        branch_match_kind: 'glob',
        pattern: 'main',
        value: 1,
      });
      expect(created).toMatchObject({ id: 42, pattern: 'main' });
    });

    it('postPullRequestComment sends {content: {raw}} plus inline/parent', async () => {
      const { client } = connectClient(server);
      const comment = await client.postPullRequestComment('acme', 'widgets', 3, {
        raw: '**clawgate**: failed',
        inline: { path: 'src/a.ts', to: 4 },
        parentId: 17,
      });
      expect(comment.id).toBe(9001);
      expect(server.received[0]?.body).toEqual({
        content: { raw: '**clawgate**: failed' },
        inline: { path: 'src/a.ts', to: 4 },
        parent: { id: 17 },
      });
    });

    it('hooks: repository and workspace scope, create (secret sent, not echoed), delete', async () => {
      const { client } = connectClient(server);
      await expect(client.listHooks({ workspace: 'acme', repoSlug: 'widgets' })).resolves.toEqual([
        expect.objectContaining({ uuid: '{h-1}', active: true }),
      ]);
      await expect(client.listHooks({ workspace: 'acme' })).resolves.toEqual([]);
      const hook = await client.createHook(
        { workspace: 'acme', repoSlug: 'widgets' },
        {
          url: 'https://clawgate.example/hooks/bitbucket',
          description: 'clawgate',
          events: ['pullrequest:created', 'pullrequest:updated'],
          secret: 'hook-secret-123',
        },
      );
      expect(hook).toMatchObject({
        uuid: '{h-2}',
        active: true,
        events: ['pullrequest:created', 'pullrequest:updated'],
      });
      expect(server.received.at(-1)?.body).toMatchObject({ secret: 'hook-secret-123', active: true });
      await expect(client.deleteHook({ workspace: 'acme', repoSlug: 'widgets' }, '{h-1}')).resolves.toBe(true);
      await expect(client.deleteHook({ workspace: 'acme', repoSlug: 'widgets' }, '{h-9}')).resolves.toBe(false);
      expect(server.received.at(-1)?.url).toBe('/2.0/repositories/acme/widgets/hooks/%7Bh-9%7D');
      await expect(
        client.createHook({ workspace: 'acme' }, { url: 'ftp://x', description: 'd', events: ['repo:push'] }),
      ).rejects.toBeInstanceOf(BitbucketInputError);
    });

    it('getWorkspace and getCurrentUser', async () => {
      const { client } = connectClient(server);
      await expect(client.getWorkspace('acme')).resolves.toMatchObject({ uuid: '{w-1}', slug: 'acme', name: 'Acme' });
      await expect(client.getCurrentUser()).resolves.toMatchObject({ uuid: '{u-1}' });
    });
  });

  describe('status → error mapping (one place)', () => {
    it.each([
      [401, BitbucketAuthError],
      [403, BitbucketAuthError],
      [404, BitbucketNotFoundError],
      [400, BitbucketRequestRejectedError],
      [409, BitbucketRequestRejectedError],
    ])('%i → %p, with Bitbucket’s error message, not retried', async (status, errorClass) => {
      overrideHandler = (_req, res) => {
        res.status(status).json({ type: 'error', error: { message: `scripted ${status}` } });
        return true;
      };
      const { client, sleeps } = connectClient(server);
      const error = await client.getWorkspace('acme').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(errorClass);
      expect(error).toMatchObject({ status, method: 'GET', path: '/2.0/workspaces/acme', transient: false });
      expect((error as Error).message).toContain(`scripted ${status}`);
      expect(server.received).toHaveLength(1);
      expect(sleeps).toEqual([]);
    });
  });
});

describe('an API base with a path prefix (a sandbox mounted under /bb)', () => {
  it('builds URLs under the prefix and computes the qsh over the path relative to it', async () => {
    const seen: { url: string; qsh: string }[] = [];
    const server = await startFakeBitbucket({
      verifyJwt: false,
      routes: (app) =>
        app.get('/bb/2.0/user', (req, res) => {
          const token = req.get('authorization')?.slice(4) ?? '';
          const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
            qsh: string;
          };
          seen.push({ url: req.originalUrl, qsh: claims.qsh });
          res.json({ uuid: '{u}' });
        }),
    });
    try {
      const { client } = connectClient(server, { baseApiUrl: `${server.url}/bb/` });
      await client.getCurrentUser();
      expect(seen).toEqual([{ url: '/bb/2.0/user', qsh: connectQueryStringHash('GET', '/2.0/user') }]);
    } finally {
      await server.close();
    }
  });
});
