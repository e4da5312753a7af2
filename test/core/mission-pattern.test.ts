import fc from 'fast-check';
import { missionMatches, missionPatternProblem } from '../../src/core/mission-pattern';

const repo = { workspace: 'acme', repoSlug: 'proj-web', repoFullName: 'acme/proj-web' };

describe('mission_id patterns (opt-in per workspace)', () => {
  test.each([
    ['{repository}', 'acme/proj-web', true],
    ['{repository}', 'ACME/Proj-Web', true],
    ['{repository}', 'acme/proj-web#1', false],
    ['{repository}#*', 'acme/proj-web#bounty-1', true],
    ['{repository}#*', 'acme/proj-web-evil#1', false],
    ['{workspace}:*:{repo_slug}', 'acme:job-9:proj-web', true],
    ['*', 'anything at all', true],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'acb', false],
    ['ab*ba', 'aba', false],
  ])('%s against %s → %s', (pattern, mission, expected) => {
    expect(missionMatches(pattern, mission, repo)).toBe(expected);
  });

  test('bad patterns are refused and match nothing', () => {
    expect(missionPatternProblem('')).not.toBeNull();
    expect(missionPatternProblem('{repo}')).not.toBeNull();
    expect(missionPatternProblem('x'.repeat(257))).not.toBeNull();
    expect(missionMatches('{repo}', '{repo}', repo)).toBe(false);
  });

  test('agrees with an anchored regular expression on random input, and stays fast on hostile input', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[ab*]{0,12}$/), fc.stringMatching(/^[ab]{0,16}$/), (pattern, mission) => {
        if (pattern.length === 0) return;
        const regex = new RegExp(`^${pattern.split('*').join('.*')}$`);
        expect(missionMatches(pattern, mission, repo)).toBe(regex.test(mission));
      }),
    );
    const started = Date.now();
    expect(missionMatches(`${'*a'.repeat(100)}*b`, 'a'.repeat(200_000), repo)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
