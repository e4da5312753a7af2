import { OpenApiValidator, readFixture, SPEC_CORRECTIONS } from './support/openapi-validator';
import { startWorld, type World } from './support/world';

/**
 * Every kind of object the sandbox answers or delivers is validated against the component
 * schemas of Atlassian's OpenAPI document, corrected only where a real captured payload proves
 * the spec wrong (SPEC_CORRECTIONS); the captured payloads themselves pass the same validator.
 */

type Sample = { schema: string; value: unknown; from: string };
type AnyObj = Record<string, unknown>;

const fixture = (p: string): AnyObj => readFixture(p) as AnyObj;
const at = (v: unknown, ...keys: (string | number)[]): unknown =>
  keys.reduce<unknown>((o, k) => (o as AnyObj)[k as string], v);

function capturedSamples(): Sample[] {
  const tcPr = fixture('toolchain-oss/pullrequest_created.json');
  const push = fixture('toolchain-oss/repo_push_pr_merge.json');
  return [
    {
      schema: 'pullrequest',
      value: fixture('jenkins-bbs/api_get_pullrequest.json'),
      from: 'jenkins api_get_pullrequest',
    },
    {
      schema: 'pullrequest',
      value: at(fixture('jenkins-bbs/pullrequest_created.json'), 'pullrequest'),
      from: 'jenkins pullrequest_created',
    },
    {
      schema: 'pullrequest',
      value: at(fixture('jenkins-bbs/pullrequest_updated.json'), 'pullrequest'),
      from: 'jenkins pullrequest_updated',
    },
    {
      schema: 'pullrequest',
      value: at(fixture('jenkins-bbs/pullrequest_fulfilled.json'), 'pullrequest'),
      from: 'jenkins pullrequest_fulfilled',
    },
    { schema: 'pullrequest', value: at(tcPr, 'payload', 'data', 'pullrequest'), from: 'toolchain pullrequest_created' },
    {
      schema: 'repository',
      value: at(fixture('jenkins-bbs/pullrequest_created.json'), 'repository'),
      from: 'jenkins repository',
    },
    { schema: 'repository', value: at(tcPr, 'payload', 'data', 'repository'), from: 'toolchain repository' },
    { schema: 'account', value: at(tcPr, 'payload', 'data', 'actor'), from: 'toolchain actor' },
    { schema: 'paginated_diffstats', value: fixture('jenkins-bbs/api_diffstat.json'), from: 'jenkins api_diffstat' },
    {
      schema: 'commitstatus',
      value: fixture('jenkins-bbs/api_commit_status_build.json'),
      from: 'jenkins api_commit_status_build',
    },
    {
      schema: 'commitstatus',
      value: at(fixture('toolchain-oss/repo_commit_status_created.json'), 'payload', 'data', 'commit_status'),
      from: 'toolchain commit_status',
    },
    { schema: 'branch', value: at(push, 'payload', 'data', 'push', 'changes', 0, 'new'), from: 'toolchain push new' },
  ];
}

let world: World;
const samples: Sample[] = [];

beforeAll(async () => {
  world = await startWorld({ receiver: { scopes: null } });
  const { sandbox, client, ann, bob, repo } = world;
  const add = (schema: string, value: unknown, from: string): void => {
    samples.push({ schema, value, from });
  };
  const ok = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const r = await client.request(method, path, body);
    if (r.status >= 300) throw new Error(`${method} ${path} → ${r.status} ${r.text}`);
    return r.json;
  };
  const R = `/2.0/repositories/${repo}`;

  sandbox.commit(repo, {
    branch: 'feature/x',
    author: ann,
    message: 'work',
    files: { 'src/b.ts': 'b\n', 'src/a.ts': 'export const a = 2;\n', 'README.md': null },
    renames: {},
  });
  sandbox.commit(repo, {
    branch: 'feature/x',
    author: ann,
    message: 'rename',
    renames: { 'src/b.ts': 'lib/b.ts' },
    files: { 'new.txt': 'n\n' },
  });
  const pr = sandbox.openPullRequest(repo, {
    source: 'feature/x',
    author: ann,
    title: 'Feature X',
    description: 'Proof-Bundle: abc',
    reviewers: [bob],
  });
  sandbox.approve(repo, pr.id, bob);
  const prJson = (await ok('GET', `${R}/pullrequests/${pr.id}`)) as AnyObj;
  add('pullrequest', prJson, 'GET pullrequest');
  add('paginated_pullrequests', await ok('GET', `${R}/pullrequests`), 'GET pullrequests');
  add('paginated_changeset', await ok('GET', `${R}/pullrequests/${pr.id}/commits`), 'GET PR commits');
  const short = String(at(prJson, 'source', 'commit', 'hash'));
  add('commit', await ok('GET', `${R}/commit/${short}`), 'GET commit (short)');
  const redirect = await client.get(`${R}/pullrequests/${pr.id}/diffstat`);
  const location = new URL(String(redirect.headers.get('location')));
  add('paginated_diffstats', await ok('GET', `${location.pathname}${location.search}`), 'GET diffstat');
  add('paginated_treeentries', await ok('GET', `${R}/src/${short}/src/`), 'GET src directory');
  add('branch', await ok('GET', `${R}/refs/branches/main`), 'GET branch');
  add('repository', await ok('GET', R), 'GET repository');
  add('account', await ok('GET', '/2.0/user'), 'GET user');
  add('app_user', await ok('GET', '/2.0/user'), 'GET user');
  add('workspace', await ok('GET', '/2.0/workspaces/acme'), 'GET workspace');

  const full = sandbox.getCommit(repo, short).hash;
  add(
    'commitstatus',
    await ok('POST', `${R}/commit/${full}/statuses/build`, {
      key: 'clawgate',
      state: 'INPROGRESS',
      name: 'clawgate',
      url: 'https://example.com/r/1',
      refname: 'feature/x',
      description: 'checking',
    }),
    'POST status',
  );
  add(
    'commitstatus',
    await ok('PUT', `${R}/commit/${full}/statuses/build/clawgate`, { state: 'FAILED', description: 'denied path' }),
    'PUT status',
  );
  add('commitstatus', await ok('GET', `${R}/commit/${full}/statuses/build/clawgate`), 'GET status');
  add('paginated_commitstatuses', await ok('GET', `${R}/commit/${full}/statuses`), 'GET statuses');
  add('paginated_commitstatuses', await ok('GET', `${R}/pullrequests/${pr.id}/statuses`), 'GET PR statuses');

  const report = {
    title: 'clawgate policy',
    details: 'verdict',
    report_type: 'SECURITY',
    result: 'FAILED',
    reporter: 'clawgate',
    link: 'https://example.com/r/1',
    data: [
      { title: 'Agent', type: 'TEXT', value: 'ann' },
      { title: 'Receipts', type: 'NUMBER', value: 3 },
      { title: 'Details', type: 'LINK', value: { text: 'open', href: 'https://example.com' } },
    ],
  };
  add('report', await ok('PUT', `${R}/commit/${full}/reports/clawgate-policy`, report), 'PUT report');
  add('report', await ok('GET', `${R}/commit/${full}/reports/clawgate-policy`), 'GET report');
  add('paginated_reports', await ok('GET', `${R}/commit/${full}/reports`), 'GET reports');
  const annotations = (await ok('POST', `${R}/commit/${full}/reports/clawgate-policy/annotations`, [
    {
      external_id: 'a1',
      annotation_type: 'VULNERABILITY',
      path: 'lib/b.ts',
      line: 1,
      summary: 'denied path',
      details: 'matches **/lib/**',
      result: 'FAILED',
      severity: 'HIGH',
      link: 'https://example.com/a1',
    },
    { external_id: 'a2', annotation_type: 'CODE_SMELL', summary: 'whole-PR note' },
  ])) as unknown[];
  for (const a of annotations) add('report_annotation', a, 'POST annotations item');
  add(
    'paginated_annotations',
    await ok('GET', `${R}/commit/${full}/reports/clawgate-policy/annotations`),
    'GET annotations',
  );

  add(
    'branchrestriction',
    await ok('POST', `${R}/branch-restrictions`, {
      kind: 'require_passing_builds_to_merge',
      branch_match_kind: 'glob',
      pattern: 'main',
      value: 1,
    }),
    'POST branch restriction',
  );
  add(
    'branchrestriction',
    await ok('POST', `${R}/branch-restrictions`, {
      kind: 'enforce_merge_checks',
      branch_match_kind: 'branching_model',
      branch_type: 'production',
    }),
    'POST branch restriction (model)',
  );
  add('paginated_branchrestrictions', await ok('GET', `${R}/branch-restrictions`), 'GET branch restrictions');

  const c1 = (await ok('POST', `${R}/pullrequests/${pr.id}/comments`, {
    content: { raw: 'clawgate: **FAIL**' },
  })) as AnyObj;
  add('pullrequest_comment', c1, 'POST comment');
  add(
    'pullrequest_comment',
    await ok('POST', `${R}/pullrequests/${pr.id}/comments`, {
      content: { raw: 'inline' },
      inline: { path: 'lib/b.ts', to: 1 },
      parent: { id: c1.id },
    }),
    'POST inline reply',
  );
  add('paginated_pullrequest_comments', await ok('GET', `${R}/pullrequests/${pr.id}/comments`), 'GET comments');

  add(
    'webhook_subscription',
    await ok('POST', `${R}/hooks`, {
      url: 'https://example.com/hooks/bitbucket',
      description: 'clawgate',
      events: ['pullrequest:created', 'repo:push'],
      active: true,
      secret: 's3cret',
    }),
    'POST hook',
  );
  add('paginated_webhook_subscriptions', await ok('GET', `${R}/hooks`), 'GET hooks');

  const notFound = await client.get(`${R}/pullrequests/999`);
  add('error', notFound.json, 'GET missing PR');
  const badKey = await client.request('POST', `${R}/commit/${full}/statuses/build`, {
    key: 'k'.repeat(41),
    state: 'FAILED',
  });
  add('error', badKey.json, 'POST status, key too long');

  sandbox.merge(repo, pr.id, { actor: bob });
  add('pullrequest', await ok('GET', `${R}/pullrequests/${pr.id}`), 'GET merged pullrequest');

  await sandbox.waitForDeliveries();
  for (const d of world.app.at('/webhook')) {
    const body = d.json as { event: string; data: AnyObj };
    const data = body.data;
    if (data.pullrequest) add('pullrequest', data.pullrequest, `webhook ${body.event} pullrequest`);
    if (data.repository) add('repository', data.repository, `webhook ${body.event} repository`);
    if (data.actor) add('account', data.actor, `webhook ${body.event} actor`);
    if (data.commit_status) add('commitstatus', data.commit_status, `webhook ${body.event} commit_status`);
    if (data.comment) add('pullrequest_comment', data.comment, `webhook ${body.event} comment`);
    const changes = (data.push as { changes?: AnyObj[] } | undefined)?.changes ?? [];
    for (const ch of changes) {
      if (ch.new) add('branch', ch.new, `webhook ${body.event} new`);
      if (ch.old) add('branch', ch.old, `webhook ${body.event} old`);
      for (const c of (ch.commits as unknown[]) ?? []) add('commit', c, `webhook ${body.event} commit`);
    }
  }
});

afterAll(async () => {
  await world.close();
});

describe('OpenAPI shapes', () => {
  const validator = new OpenApiValidator();

  it('accepts the real captured payloads once the spec corrections are applied', () => {
    for (const s of capturedSamples())
      expect({ from: s.from, errors: validator.errors(s.schema, s.value) }).toEqual({ from: s.from, errors: [] });
  });

  it('needs every spec correction: without it a captured or sandbox object fails', () => {
    const all = [...capturedSamples(), ...samples];
    for (const correction of SPEC_CORRECTIONS) {
      const without = new OpenApiValidator(SPEC_CORRECTIONS.filter((c) => c !== correction));
      const failing = all.filter((s) => without.errors(s.schema, s.value).length > 0);
      expect({
        correction: `${correction.schema}/${correction.at.join('/')} ${correction.kind}`,
        needed: failing.length > 0,
      }).toEqual({
        correction: `${correction.schema}/${correction.at.join('/')} ${correction.kind}`,
        needed: true,
      });
    }
  });

  it('covers every response kind the brief lists', () => {
    const kinds = new Set(samples.map((s) => s.schema));
    for (const k of [
      'pullrequest',
      'paginated_changeset',
      'paginated_diffstats',
      'commit',
      'commitstatus',
      'paginated_commitstatuses',
      'report',
      'paginated_reports',
      'report_annotation',
      'paginated_annotations',
      'branchrestriction',
      'paginated_branchrestrictions',
      'pullrequest_comment',
      'paginated_pullrequest_comments',
      'webhook_subscription',
      'paginated_webhook_subscriptions',
      'account',
      'workspace',
      'repository',
      'error',
    ]) {
      expect(kinds.has(k) ? k : `missing ${k}`).toBe(k);
    }
    expect(samples.filter((s) => s.from.startsWith('webhook')).length).toBeGreaterThan(10);
  });

  it('validates every sandbox response and webhook object against the spec', () => {
    const failures = samples
      .map((s) => ({ from: s.from, schema: s.schema, errors: validator.errors(s.schema, s.value) }))
      .filter((f) => f.errors.length > 0);
    expect(failures).toEqual([]);
  });

  it('the validator is not vacuous: a wrong state, a non-integer id and a bad enum are rejected', () => {
    const pr = samples.find((s) => s.schema === 'pullrequest')?.value as AnyObj;
    expect(validator.errors('pullrequest', { ...pr, state: 'CLOSED' })).not.toEqual([]);
    expect(validator.errors('pullrequest', { ...pr, id: '7' })).not.toEqual([]);
    expect(validator.errors('commitstatus', { key: 'k', state: 'PASSED', type: 'build' })).not.toEqual([]);
    expect(validator.errors('paginated_diffstats', { pagelen: 0, values: [] })).not.toEqual([]);
  });
});
