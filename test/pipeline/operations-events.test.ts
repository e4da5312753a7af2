import { announcedClawgateStatus, operationsJobFor, operationsJobSchema } from '../../src/pipeline/operations-events';
import { isRecheckCommand } from '../../src/pipeline/operations/recheck-command';
import { readSharedJson } from '../shared-data';

const common = { workspaceId: '{ws}', clientKey: 'client', deliveryId: 'd-1', eventKey: 'x' };
const captured = (file: string) =>
  (readSharedJson('bitbucket-fixtures', 'toolchain-oss', file) as { payload: { data: unknown } }).payload.data;

describe('operations events from real Bitbucket payloads', () => {
  test('repo:push of a PR merge (toolchain-oss capture) becomes a bounded push job', () => {
    const parsed = operationsJobFor('repo:push', captured('repo_push_pr_merge.json'), {
      ...common,
      eventKey: 'repo:push',
    });
    if (!('job' in parsed)) throw new Error(parsed.ignored);
    expect(operationsJobSchema.parse(parsed.job)).toEqual(parsed.job);
    expect(parsed.job).toMatchObject({
      kind: 'push',
      repoFullName: 'festivus-miracle/minimal-pants',
      actor: { uuid: '{6ae3c307-ae59-4135-9c72-bdd06eb2010a}', displayName: 'Asher Foa', type: 'user' },
    });
    if (parsed.job.kind !== 'push') throw new Error('not a push');
    expect(parsed.job.changes).toEqual([
      expect.objectContaining({
        newName: 'main',
        newType: 'branch',
        newHash: 'd98f3c1d2ad48d6f7ed51281eb28ad3b233878c4',
        closed: false,
        newMessage: expect.stringContaining('(pull request #9)'),
      }),
    ]);
  });

  test('repo:push of the signed Jenkins capture parses too', () => {
    const parsed = operationsJobFor(
      'repo:push',
      readSharedJson('bitbucket-fixtures', 'jenkins-bbs', 'repo_push_signed_payload.json'),
      { ...common, eventKey: 'repo:push' },
    );
    if (!('job' in parsed) || parsed.job.kind !== 'push') throw new Error('no push job');
    expect(parsed.job.changes.length).toBeGreaterThan(0);
    expect(parsed.job.changes[0]?.newHash).toMatch(/^[0-9a-f]{40}$/);
  });

  test("a commit status under another key (the capture's Pipelines key) is ignored; under clawgate's it becomes a job", () => {
    const data = captured('repo_commit_status_created.json') as { commit_status: Record<string, unknown> };
    expect(operationsJobFor('repo:commit_status_created', data, common)).toEqual({
      ignored: 'a status under another key',
    });
    expect(announcedClawgateStatus('repo:commit_status_created', data)).toBeNull();
    const ours = { ...data, commit_status: { ...data.commit_status, key: 'clawgate' } };
    const parsed = operationsJobFor('repo:commit_status_created', ours, common);
    expect(parsed).toEqual({
      job: expect.objectContaining({
        kind: 'commit_status',
        commit: 'a1742195055d9234440410f95462fdebb05b5ac2',
        state: 'INPROGRESS',
        actor: expect.objectContaining({ type: 'team' }),
      }),
    });
    expect(announcedClawgateStatus('repo:commit_status_updated', ours)).toMatchObject({
      repoFullName: 'festivus-miracle/minimal-pants',
      refname: 'upgrades',
      state: 'INPROGRESS',
    });
  });

  test('a branch deletion (new: null) is closed even without the flag; malformed payloads are ignored with a path', () => {
    const parsed = operationsJobFor(
      'repo:push',
      {
        repository: { full_name: 'a/b' },
        actor: { uuid: '{u}' },
        push: { changes: [{ old: { type: 'branch', name: 'x', target: { hash: 'a'.repeat(40) } }, new: null }] },
      },
      common,
    );
    expect(parsed).toEqual({
      job: expect.objectContaining({
        changes: [expect.objectContaining({ oldName: 'x', newName: null, closed: true })],
      }),
    });
    expect(
      operationsJobFor('repo:push', { repository: { full_name: 'no-slash' }, push: { changes: [] } }, common),
    ).toEqual({ ignored: expect.stringContaining('repository.full_name') });
    expect(
      operationsJobFor(
        'pullrequest:comment_created',
        { repository: { full_name: 'a/b' }, pullrequest: { id: 0 } },
        common,
      ),
    ).toEqual({ ignored: expect.stringContaining('invalid payload') });
    expect(operationsJobFor('issue:created', {}, common)).toEqual({ ignored: 'not an operations event' });
  });

  test('comments keep only a bounded prefix', () => {
    const parsed = operationsJobFor(
      'pullrequest:comment_created',
      {
        repository: { full_name: 'a/b' },
        actor: { uuid: '{u}' },
        pullrequest: { id: 3, source: { branch: { name: 'f' }, commit: { hash: 'abcdef123456' } } },
        comment: { id: 9, content: { raw: 'x'.repeat(10_000) } },
      },
      common,
    );
    if (!('job' in parsed) || parsed.job.kind !== 'pr_comment') throw new Error('no comment job');
    expect(parsed.job.content).toHaveLength(4000);
    expect(parsed.job.head).toBe('abcdef123456');
  });
});

describe('the /clawgate recheck command', () => {
  test.each([
    ['/clawgate recheck', true],
    ['  /CLAWGATE   Recheck  ', true],
    ['Please look again.\n/clawgate recheck\nthanks', true],
    ['`/clawgate recheck`', false],
    ['clawgate: re-check requested by Alice (`/clawgate recheck`)', false],
    ['/clawgate rechecks', false],
    ['/clawgate', false],
    ['please /clawgate recheck', false],
  ])('%j → %s', (text, expected) => {
    expect(isRecheckCommand(text)).toBe(expected);
  });
});

describe('a body whose shape belongs to another event is refused', () => {
  const common2 = { workspaceId: '{ws}', clientKey: 'client', deliveryId: 'd-2', eventKey: 'pullrequest:fulfilled' };
  const fixture = (name: string) => readSharedJson('bitbucket-fixtures', 'jenkins-bbs', name);

  test('a genuine pullrequest:fulfilled body (state MERGED) becomes a pr_fulfilled job', () => {
    const parsed = operationsJobFor('pullrequest:fulfilled', fixture('pullrequest_fulfilled.json'), common2);
    expect(parsed).toEqual({ job: expect.objectContaining({ kind: 'pr_fulfilled', mergeCommit: '1986c2284946' }) });
  });

  test.each(['pullrequest_created.json', 'pullrequest_updated.json'])(
    'a genuine %s body replayed as pullrequest:fulfilled is ignored (no merge incident)',
    (name) => {
      const parsed = operationsJobFor('pullrequest:fulfilled', fixture(name), common2);
      expect(parsed).toEqual({ ignored: expect.stringContaining('pullrequest.state') });
    },
  );
});
