import { normalizeRepoPath, pathAndAncestors, repoPathKey } from '../../../src/core/policy/repo-path';

describe('normalizeRepoPath', () => {
  it.each([
    ['bitbucket-pipelines.yml', 'bitbucket-pipelines.yml'],
    ['./bitbucket-pipelines.yml', 'bitbucket-pipelines.yml'],
    ['/bitbucket-pipelines.yml', 'bitbucket-pipelines.yml'],
    ['///././/.github/workflows/a.yml', '.github/workflows/a.yml'],
    ['.github\\workflows\\a.yml', '.github/workflows/a.yml'],
    ['src//a/./b.ts', 'src/a/b.ts'],
    ['src/x/../../.pipeline/run.sh', '.pipeline/run.sh'],
    ['../../../etc/passwd', 'etc/passwd'],
    ['docs/', 'docs'],
    ['Cafe\u0301.md', 'Caf\u00e9.md'],
    ['.env', '.env'],
    ['...', '...'],
  ])('%j → %j', (input, expected) => {
    expect(normalizeRepoPath(input)).toBe(expected);
  });

  it('keeps case; repoPathKey folds it', () => {
    expect(normalizeRepoPath('./Docs/SECURITY.md')).toBe('Docs/SECURITY.md');
    expect(repoPathKey('./Docs/SECURITY.md')).toBe('docs/security.md');
  });
});

describe('pathAndAncestors', () => {
  it('lists every directory above a path, then the path', () => {
    expect(pathAndAncestors('a/b/c.txt')).toEqual(['a', 'a/b', 'a/b/c.txt']);
    expect(pathAndAncestors('root.txt')).toEqual(['root.txt']);
  });
});
