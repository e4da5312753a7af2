import type { BitbucketBranchRestriction } from '../../src/bitbucket';
import { branchGlobMatches, branchProtection } from '../../src/pipeline/operations/protected-branches';

const restriction = (
  kind: string,
  pattern: string,
  extra: Partial<BitbucketBranchRestriction> = {},
): BitbucketBranchRestriction => ({ id: 1, kind, branch_match_kind: 'glob', pattern, ...extra });

describe('protected branches', () => {
  test.each([
    ['main', 'main', true],
    ['release/*', 'release/1.0', true],
    ['release/*', 'release/1.0/hotfix', true],
    ['release/*', 'release', false],
    ['*', 'anything/at/all', true],
    ['feat.x', 'featYx', false],
    ['v(1)', 'v(1)', true],
    ['Main', 'main', false],
    ['rel*se', 'release', true],
  ])('glob %s vs %s → %s', (pattern, branch, expected) => {
    expect(branchGlobMatches(pattern, branch)).toBe(expected);
  });

  test('the main branch is always protected; restrictions add branches', () => {
    expect(branchProtection('main', 'main', [])).toEqual({ protected: true, reasons: ['main_branch'] });
    expect(
      branchProtection('release/2', 'main', [restriction('push', 'release/*'), restriction('delete', 'release/*')]),
    ).toEqual({ protected: true, reasons: ['restriction:push:release/*', 'restriction:delete:release/*'] });
    expect(branchProtection('feature/x', 'main', [restriction('push', 'release/*')]).protected).toBe(false);
  });

  test('restrictions that only tune PR behaviour do not protect; unknown kinds do (fail closed)', () => {
    expect(
      branchProtection('dev', 'main', [
        restriction('reset_pullrequest_approvals_on_change', 'dev'),
        restriction('allow_auto_merge_when_builds_pass', 'dev'),
      ]).protected,
    ).toBe(false);
    expect(branchProtection('dev', 'main', [restriction('require_passing_builds_to_merge', 'dev')]).protected).toBe(
      true,
    );
    expect(branchProtection('dev', 'main', [restriction('some_future_kind', 'dev')]).protected).toBe(true);
  });

  test('branching-model restrictions: default prefixes; development/production are the main branch', () => {
    const model = (type: string) =>
      ({
        id: 2,
        kind: 'push',
        branch_match_kind: 'branching_model',
        branch_type: type,
        pattern: '',
      }) as BitbucketBranchRestriction;
    expect(branchProtection('release/3', 'main', [model('release')]).protected).toBe(true);
    expect(branchProtection('hotfix/3', 'main', [model('release')]).protected).toBe(false);
    expect(branchProtection('trunk', 'trunk', [model('production')]).reasons).toEqual([
      'main_branch',
      'restriction:push:production',
    ]);
    expect(branchProtection('other', 'trunk', [model('development')]).protected).toBe(false);
  });

  test('unreadable restrictions (null) leave only the main branch; an unknown main branch protects nothing by name', () => {
    expect(branchProtection('release/1', 'main', null).protected).toBe(false);
    expect(branchProtection('main', null, null).protected).toBe(false);
  });
});
