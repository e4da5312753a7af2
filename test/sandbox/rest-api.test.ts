import { computeCommitHash } from '../../src/sandbox/git-objects';
import { appJwt, call } from './support/api-client';
import { startWorld, type World } from './support/world';

/** The REST subset: pagination, hash resolution, PR commits and diffstat, files, statuses, comments. */

type Obj = Record<string, unknown>;
type Page = { pagelen: number; values: Obj[]; page?: number; size?: number; next?: string; previous?: string };
let world: World;
const R = '/2.0/repositories/acme/widgets';

beforeAll(async () => {
  world = await startWorld({ receiver: { scopes: null } });
});
afterAll(() => world.close());

const path = (href: string): string => {
  const u = new URL(href);
  return `${u.pathname}${u.search}`;
};

describe('commits and hashes', () => {
  it('computes commit ids exactly as git does', () => {
    // `git commit` of a/b.txt="hello\n", c="x" by "Ann Dev <ann@example.com>" at 1700000000: bb92a333…
    const hash = computeCommitHash({
      files: new Map([
        ['a/b.txt', Buffer.from('hello\n')],
        ['c', Buffer.from('x')],
      ]),
      parents: [],
      authorName: 'Ann Dev',
      authorEmail: 'ann@example.com',
      dateEpochMs: 1_700_000_000_000,
      message: 'first',
    });
    expect(hash).toBe('bb92a33328e6ff9e960b26bc1b77a5a31f40a502');
  });

  it('is deterministic: the same content, parents, author, message and date give the same hash', () => {
    const { sandbox, ann, repo } = world;
    const base = sandbox.branchHead(repo, 'main') ?? '';
    const a = sandbox.commit(repo, {
      branch: 'det-a',
      from: base,
      author: ann,
      message: 'same',
      files: { 'd.txt': 'd' },
      date: Date.UTC(2026, 1, 1),
    });
    const b = sandbox.commit(repo, {
      branch: 'det-b',
      from: base,
      author: ann,
      message: 'same',
      files: { 'd.txt': 'd' },
      date: Date.UTC(2026, 1, 1),
    });
    const c = sandbox.commit(repo, {
      branch: 'det-c',
      from: base,
      author: ann,
      message: 'other',
      files: { 'd.txt': 'd' },
      date: Date.UTC(2026, 1, 1),
    });
    expect(a.hash).toBe(b.hash);
    expect(c.hash).not.toBe(a.hash);
    expect(a.hash).toMatch(/^[0-9a-f]{40}$/);
  });

  it('resolves 12-char (and other unique) prefixes on /commit/{hash} to the full commit', async () => {
    const { sandbox, ann, repo, client } = world;
    const c = sandbox.commit(repo, { branch: 'short', author: ann, message: 'short hash', files: { 's.txt': 's\n' } });
    const res = await client.get(`${R}/commit/${c.hash.slice(0, 12)}`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual(expect.objectContaining({ type: 'commit', hash: c.hash, message: 'short hash\n' }));
    expect((res.json as Obj).parents).toEqual([expect.objectContaining({ hash: c.parents[0] })]);
    expect((await client.get(`${R}/commit/${c.hash.slice(0, 7)}`)).status).toBe(200);
    expect((await client.get(`${R}/commit/${'0'.repeat(12)}`)).status).toBe(404);
    expect((await client.get(`${R}/commit/${c.hash.slice(0, 12)}/statuses`)).status).toBe(200);
  });
});

describe('pull requests', () => {
  let prId = 0;
  let heads: string[] = [];

  beforeAll(() => {
    const { sandbox, ann, repo } = world;
    sandbox.commit(repo, { branch: 'main', author: ann, message: 'shared file', files: { 'shared.txt': 'one\n' } });
    heads = [];
    for (let i = 0; i < 7; i++) {
      heads.push(
        sandbox.commit(repo, {
          branch: 'feature/many',
          author: ann,
          message: `step ${i}`,
          files: { [`f${i}.txt`]: `${i}\n` },
          date: Date.UTC(2026, 2, 1, 0, i),
        }).hash,
      );
    }
    sandbox.commit(repo, {
      branch: 'feature/many',
      author: ann,
      message: 'reshape',
      files: {
        'lib/a.ts': 'export const a = 1;\nexport const b = 2;\n',
        'README.md': null,
        'shared.txt': 'one\ntwo\n',
      },
      renames: { 'src/a.ts': 'lib/a.ts' },
      date: Date.UTC(2026, 2, 1, 1),
    });
    // main moves on after the branch point: not part of the PR's (three-dot) diff
    sandbox.commit(repo, { branch: 'main', author: ann, message: 'main moves on', files: { 'main-only.txt': 'm\n' } });
    prId = sandbox.openPullRequest(repo, {
      source: 'feature/many',
      author: ann,
      title: 'Many',
      description: 'Proof-Bundle: b1',
    }).id;
  });

  it('GET pullrequest carries 12-char hashes that resolve to the branch heads', async () => {
    const { sandbox, client, repo } = world;
    const pr = (await client.get(`${R}/pullrequests/${prId}`)).json as Obj;
    const source = ((pr.source as Obj).commit as Obj).hash as string;
    const destination = ((pr.destination as Obj).commit as Obj).hash as string;
    expect(source).toHaveLength(12);
    expect(sandbox.branchHead(repo, 'feature/many')?.startsWith(source)).toBe(true);
    expect(sandbox.branchHead(repo, 'main')?.startsWith(destination)).toBe(true);
    expect(pr).toEqual(
      expect.objectContaining({
        id: prId,
        state: 'OPEN',
        title: 'Many',
        description: 'Proof-Bundle: b1',
        type: 'pullrequest',
      }),
    );
    expect(sandbox.getPullRequest(repo, prId)).toEqual(pr);
  });

  it('paginates PR commits newest first with full hashes, honouring pagelen and next links', async () => {
    const { client, sandbox, repo } = world;
    const first = (await client.get(`${R}/pullrequests/${prId}/commits?pagelen=3`)).json as Page;
    expect(first.pagelen).toBe(3);
    expect(first.values).toHaveLength(3);
    expect(first).not.toHaveProperty('size');
    expect(first.values[0]?.hash).toBe(sandbox.branchHead(repo, 'feature/many'));
    const all: Obj[] = [...first.values];
    let next = first.next;
    while (next) {
      const page = (await client.get(path(next))).json as Page;
      all.push(...page.values);
      next = page.next;
    }
    expect(all).toHaveLength(8);
    expect(all.map((c) => c.hash).slice(1)).toEqual([...heads].reverse());
    expect(all.every((c) => typeof c.hash === 'string' && c.hash.length === 40)).toBe(true);
  });

  it('caps pagelen at 100 and rejects a non-numeric page', async () => {
    const { client } = world;
    expect(((await client.get(`${R}/pullrequests/${prId}/commits?pagelen=1000`)).json as Page).pagelen).toBe(100);
    const bad = await client.get(`${R}/pullrequests/${prId}/commits?page=x`);
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({
      type: 'error',
      error: expect.objectContaining({ message: expect.stringContaining('page') }),
    });
  });

  it('PR diffstat redirects (302) like Bitbucket; the JWT must be re-signed for the Location', async () => {
    const { client, sandbox } = world;
    const redirect = await client.get(`${R}/pullrequests/${prId}/diffstat`);
    expect(redirect.status).toBe(302);
    const location = String(redirect.headers.get('location'));
    expect(location).toMatch(
      /\/diffstat\/acme\/widgets:[0-9a-f]{12}%0D[0-9a-f]{12}\?from_pullrequest_id=\d+&topic=true$/,
    );
    // Replaying the original token on the new URL fails: its qsh names the PR path.
    const inst = sandbox.getInstallation({ clientKey: world.clientKey });
    const stale = appJwt({
      key: 'clawgate-test',
      clientKey: world.clientKey,
      secret: inst?.sharedSecret ?? '',
      method: 'GET',
      pathAndQuery: `${R}/pullrequests/${prId}/diffstat`,
    });
    expect((await call(location, { authorization: `JWT ${stale}` })).status).toBe(401);
    const page = (await client.get(path(location))).json as Page;
    const byPath = Object.fromEntries(page.values.map((v) => [((v.new ?? v.old) as Obj).path as string, v]));
    expect(byPath['README.md']).toEqual(
      expect.objectContaining({ status: 'removed', new: null, lines_removed: 1, lines_added: 0 }),
    );
    expect(byPath['shared.txt']).toEqual(
      expect.objectContaining({ status: 'modified', lines_added: 1, lines_removed: 0 }),
    );
    expect(byPath['lib/a.ts']).toEqual(
      expect.objectContaining({ status: 'renamed', lines_added: 1, lines_removed: 0 }),
    );
    expect(((byPath['lib/a.ts'] as Obj).old as Obj).path).toBe('src/a.ts');
    expect(byPath['f6.txt']).toEqual(expect.objectContaining({ status: 'added', old: null, lines_added: 1 }));
    // three-dot: main's own change after the branch point is not part of the PR diff
    expect(byPath['main-only.txt']).toBeUndefined();
    expect(page.values).toHaveLength(10);
    const paged = (await client.get(`${path(location)}&pagelen=4`)).json as Page;
    expect(paged).toEqual(expect.objectContaining({ pagelen: 4, size: 10, page: 1 }));
    expect(paged.next).toContain('page=2');
  });

  it('detects renames by identical content too, and diffs a single commit against its parent', async () => {
    const { sandbox, ann, repo, client } = world;
    const c = sandbox.commit(repo, {
      branch: 'mv',
      from: 'main',
      author: ann,
      message: 'git mv by hand',
      files: { 'README.md': null, 'docs/README.md': '# widgets\n' },
    });
    const page = (await client.get(`${R}/diffstat/${c.hash}`)).json as Page;
    expect(page.values).toEqual([
      expect.objectContaining({
        status: 'renamed',
        old: expect.objectContaining({ path: 'README.md' }),
        new: expect.objectContaining({ path: 'docs/README.md' }),
      }),
    ]);
  });

  it('serves raw files at a commit (short hash or branch), 404 when missing, and directory listings', async () => {
    const { client, sandbox, repo } = world;
    const head = sandbox.branchHead(repo, 'feature/many') ?? '';
    const raw = await client.get(`${R}/src/${head.slice(0, 12)}/lib/a.ts`);
    expect(raw.status).toBe(200);
    expect(raw.text).toBe('export const a = 1;\nexport const b = 2;\n');
    expect(raw.headers.get('content-type')).toBe('text/x-typescript');
    expect(raw.headers.get('content-disposition')).toContain('attachment');
    expect((await client.get(`${R}/src/feature/many/src/a.ts`)).status).toBe(404); // branch names with "/" are ambiguous in this path form
    expect((await client.get(`${R}/src/main/README.md`)).text).toBe('# widgets\n');
    expect((await client.get(`${R}/src/${head}/README.md`)).status).toBe(404);
    expect((await client.get(`${R}/src/${head}/nope.txt`)).json).toEqual({
      type: 'error',
      error: expect.objectContaining({ message: expect.any(String) }),
    });
    const listing = (await client.get(`${R}/src/${head}/`)).json as Page;
    expect(listing.values.map((v) => `${String(v.type)}:${String(v.path)}`)).toEqual(
      expect.arrayContaining(['commit_directory:lib', 'commit_file:shared.txt', 'commit_file:f6.txt']),
    );
    const meta = (await client.get(`${R}/src/${head}/f6.txt?format=meta`)).json as Obj;
    expect(meta).toEqual(expect.objectContaining({ type: 'commit_file', path: 'f6.txt', size: 2 }));
  });

  it('lists PR statuses of the head commit and comments oldest first', async () => {
    const { client, sandbox, repo, bob } = world;
    const head = sandbox.branchHead(repo, 'feature/many') ?? '';
    await client.request('POST', `${R}/commit/${head}/statuses/build`, {
      key: 'clawgate',
      state: 'FAILED',
      refname: 'feature/many',
    });
    const statuses = (await client.get(`${R}/pullrequests/${prId}/statuses`)).json as Page;
    expect(statuses.values.map((s) => s.state)).toEqual(['FAILED']);
    sandbox.comment(repo, prId, { author: bob, content: 'first' });
    await client.request('POST', `${R}/pullrequests/${prId}/comments`, {
      content: { raw: 'second' },
      inline: { path: 'src/a.ts', to: 2 },
    });
    const comments = (await client.get(`${R}/pullrequests/${prId}/comments`)).json as Page;
    expect(comments.values.map((c) => (c.content as Obj).raw)).toEqual(['first', 'second']);
    expect(comments.values[1]?.inline).toEqual({ path: 'src/a.ts', to: 2 });
    expect(comments.values[1]?.user).toEqual(expect.objectContaining({ type: 'app_user' }));
    expect(world.sandbox.received.comments.at(-1)).toEqual(
      expect.objectContaining({ status: 201, pullRequestId: prId, principal: `connect:${world.clientKey}` }),
    );
    expect((await client.request('POST', `${R}/pullrequests/${prId}/comments`, { content: {} })).status).toBe(400);
  });
});

describe('build statuses', () => {
  it('upserts by key on POST (201), updates with PUT, 404s on an unknown key, and records each write', async () => {
    const { sandbox, ann, repo, client } = world;
    const c = sandbox.commit(repo, { branch: 'status', author: ann, message: 's', files: { 'st.txt': 's' } });
    const before = sandbox.received.statuses.length;
    const short = c.hash.slice(0, 12);
    const first = await client.request('POST', `${R}/commit/${short}/statuses/build`, {
      key: 'clawgate',
      state: 'INPROGRESS',
      name: 'clawgate',
      url: 'https://x.example/1',
      refname: 'status',
    });
    expect(first.status).toBe(201);
    expect(((first.json as Obj).commit as Obj).hash).toBe(c.hash);
    const second = await client.request('POST', `${R}/commit/${c.hash}/statuses/build`, {
      key: 'clawgate',
      state: 'SUCCESSFUL',
    });
    expect(second.status).toBe(201);
    expect(second.json).toEqual(
      expect.objectContaining({
        state: 'SUCCESSFUL',
        name: 'clawgate',
        url: 'https://x.example/1',
        refname: 'status',
        created_on: (first.json as Obj).created_on,
      }),
    );
    const put = await client.request('PUT', `${R}/commit/${c.hash}/statuses/build/clawgate`, {
      state: 'FAILED',
      description: 'policy',
    });
    expect(put.status).toBe(200);
    expect(put.json).toEqual(expect.objectContaining({ state: 'FAILED', description: 'policy' }));
    expect(
      (await client.request('PUT', `${R}/commit/${c.hash}/statuses/build/other`, { state: 'FAILED' })).status,
    ).toBe(404);
    expect(((await client.get(`${R}/commit/${c.hash}/statuses`)).json as Page).values).toHaveLength(1);
    expect(sandbox.getStatuses(repo, c.hash)).toEqual([expect.objectContaining({ key: 'clawgate', state: 'FAILED' })]);
    expect(sandbox.received.statuses.slice(before).map((w) => `${w.method} ${w.status}`)).toEqual([
      'POST 201',
      'POST 201',
      'PUT 200',
      'PUT 404',
    ]);
    expect(sandbox.received.statuses.at(-2)?.commit).toBe(c.hash);
  });

  it('filters by refname, statuses without one matching any', async () => {
    const { sandbox, ann, repo, client } = world;
    const c = sandbox.commit(repo, { branch: 'refs', author: ann, message: 'r', files: { 'r.txt': 'r' } });
    sandbox.postStatus(repo, c.hash, { key: 'ci', state: 'SUCCESSFUL', refname: 'other' }, ann);
    sandbox.postStatus(repo, c.hash, { key: 'lint', state: 'SUCCESSFUL' }, ann);
    const page = (await client.get(`${R}/commit/${c.hash}/statuses?refname=refs`)).json as Page;
    expect(page.values.map((s) => s.key)).toEqual(['lint']);
  });
});

describe('branch restrictions and hooks', () => {
  it('creates, lists (filtered) and refuses duplicates with 409', async () => {
    const { client, sandbox } = world;
    const body = { kind: 'require_passing_builds_to_merge', branch_match_kind: 'glob', pattern: 'main', value: 1 };
    expect((await client.request('POST', `${R}/branch-restrictions`, body)).status).toBe(201);
    expect((await client.request('POST', `${R}/branch-restrictions`, body)).status).toBe(409);
    expect(
      (
        await client.request('POST', `${R}/branch-restrictions`, {
          kind: 'enforce_merge_checks',
          branch_match_kind: 'glob',
          pattern: 'main',
        })
      ).status,
    ).toBe(201);
    expect((await client.request('POST', `${R}/branch-restrictions`, { kind: 'nonsense', pattern: 'x' })).status).toBe(
      400,
    );
    const list = (await client.get(`${R}/branch-restrictions?kind=enforce_merge_checks`)).json as Page;
    expect(list.values).toEqual([
      expect.objectContaining({ kind: 'enforce_merge_checks', pattern: 'main', type: 'branchrestriction' }),
    ]);
    expect(sandbox.received.branchRestrictions.map((w) => w.status)).toEqual([201, 409, 201, 400]);
    expect(sandbox.getBranchRestrictions('acme/widgets')).toHaveLength(2);
  });

  it('lists, fetches and deletes repository hooks', async () => {
    const { client } = world;
    const created = (
      await client.request('POST', `${R}/hooks`, {
        url: 'https://example.com/h',
        description: 'd',
        events: ['repo:push'],
      })
    ).json as Obj;
    const uid = encodeURIComponent(String(created.uuid));
    expect((await client.get(`${R}/hooks/${uid}`)).status).toBe(200);
    expect((await client.request('DELETE', `${R}/hooks/${uid}`)).status).toBe(204);
    expect((await client.get(`${R}/hooks/${uid}`)).status).toBe(404);
    expect(
      (await client.request('POST', `${R}/hooks`, { url: 'https://example.com/h', events: ['repo:nonsense'] })).status,
    ).toBe(400);
  });
});

describe('accounts', () => {
  it('answers /2.0/user and /2.0/workspaces/{ws} (slug or {uuid}) for an install proof', async () => {
    const { client, sandbox } = world;
    const user = (await client.get('/2.0/user')).json as Obj;
    expect(user).toEqual(
      expect.objectContaining({ type: 'app_user', display_name: 'clawgate (test)', kind: 'connect' }),
    );
    const ws = sandbox.workspace('acme');
    expect((await client.get('/2.0/workspaces/acme')).json).toEqual(
      expect.objectContaining({ type: 'workspace', slug: 'acme', uuid: ws.uuid }),
    );
    expect((await client.get(`/2.0/workspaces/${encodeURIComponent(ws.uuid)}`)).status).toBe(200);
    expect((await client.get(`/2.0/repositories/${encodeURIComponent(ws.uuid)}/widgets`)).status).toBe(200);
    expect((await client.get('/2.0/workspaces/nope')).status).toBe(404);
  });
});
