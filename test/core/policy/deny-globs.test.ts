import fc from 'fast-check';
import { compileDenyGlobs, denyGlobProblem } from '../../../src/core/policy/deny-globs';
import { compilePicomatchGlob } from '../../../src/core/policy/linear-glob';

const SEED_GLOBS = ['**/bitbucket-pipelines.yml', '**/.pipeline/**', '**/.github/**', '**/SECURITY*'];
const seed = compileDenyGlobs(SEED_GLOBS);

describe('compileDenyGlobs with the seed globs', () => {
  it.each([
    ['bitbucket-pipelines.yml', '**/bitbucket-pipelines.yml'],
    ['a/b/bitbucket-pipelines.yml', '**/bitbucket-pipelines.yml'],
    ['Bitbucket-Pipelines.yml', '**/bitbucket-pipelines.yml'],
    ['BITBUCKET-PIPELINES.YML', '**/bitbucket-pipelines.yml'],
    ['.pipeline/x', '**/.pipeline/**'],
    ['services/api/.pipeline/deploy.sh', '**/.pipeline/**'],
    ['.github/workflows/a.yml', '**/.github/**'],
    ['pkg/.github/CODEOWNERS', '**/.github/**'],
    ['.GitHub/workflows/a.yml', '**/.github/**'],
    ['SECURITY.md', '**/SECURITY*'],
    ['security.md', '**/SECURITY*'],
    ['docs/Security.txt', '**/SECURITY*'],
    ['./bitbucket-pipelines.yml', '**/bitbucket-pipelines.yml'],
    ['/bitbucket-pipelines.yml', '**/bitbucket-pipelines.yml'],
    ['.github\\workflows\\a.yml', '**/.github/**'],
    ['src//../.github/workflows/a.yml', '**/.github/**'],
    ['Caf\u0065\u0301/.pipeline/x', '**/.pipeline/**'],
  ])('%j is denied by %j', (path, glob) => {
    expect(seed.match(path)?.glob).toBe(glob);
  });

  it.each([
    'src/app.ts',
    'README.md',
    'docs/pipelines.md',
    'bitbucket-pipelines.yml.bak',
    '.githubx/a',
    'pipeline/x',
    'src/insecurity.ts',
  ])('%j is not denied', (path) => {
    expect(seed.match(path)).toBeUndefined();
  });

  it('reports every matching glob, the first in policy order as `glob`', () => {
    const m = compileDenyGlobs(['**/*.yml', '**/.github/**']);
    expect(m.match('.github/workflows/a.yml')).toEqual({
      glob: '**/*.yml',
      globs: ['**/*.yml', '**/.github/**'],
      matched: '.github/workflows/a.yml',
    });
    expect(compileDenyGlobs(['**/.github/**', '**/*.yml']).match('.github/workflows/a.yml')?.matched).toBe(
      '.github/workflows/a.yml',
    );
    expect(compileDenyGlobs(['**/.github']).match('x/.github/workflows/a.yml')?.matched).toBe('x/.github');
  });

  it('a glob that matches a directory denies everything below it', () => {
    const m = compileDenyGlobs(['docs/private', '**/.github', 'src/*']);
    expect(m.match('docs/private/plan.md')).toEqual({
      glob: 'docs/private',
      globs: ['docs/private'],
      matched: 'docs/private',
    });
    expect(m.match('a/.github/workflows/x.yml')?.matched).toBe('a/.github');
    expect(m.match('src/deep/er/file.ts')?.matched).toBe('src/deep');
    expect(m.match('docs/public/plan.md')).toBeUndefined();
  });

  it('matches nothing with no globs', () => {
    expect(compileDenyGlobs([]).match('.github/workflows/a.yml')).toBeUndefined();
  });

  it('handles 1,000 globs against 2,000 paths quickly', () => {
    const globs = Array.from({ length: 1000 }, (_, i) => `**/dir${i}/**`);
    const m = compileDenyGlobs(globs);
    const started = process.hrtime.bigint();
    let hits = 0;
    for (let i = 0; i < 2000; i++) if (m.match(`src/mod${i}/deep/file${i}.ts`)) hits++;
    expect(m.match('a/dir999/x')?.glob).toBe('**/dir999/**');
    expect(hits).toBe(0);
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(2000);
  });
});

describe('denyGlobProblem', () => {
  it('accepts the seed globs and ordinary patterns', () => {
    for (const glob of [...SEED_GLOBS, '*.lock', 'src/**/secret-*.{json,yaml}', 'a/+(b|c)/d', '**'])
      expect(denyGlobProblem(glob)).toBeUndefined();
  });
});

describe('property: a path under a denied directory is denied whatever its spelling', () => {
  const segment = fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,11}$/).filter((s) => s !== '.' && s !== '..');
  const randomCase = (s: string, flips: boolean[]) =>
    [...s].map((ch, i) => (flips[i % flips.length] ? ch.toUpperCase() : ch.toLowerCase())).join('');

  it('catches **/.github/** and **/.pipeline/** under prefixes, case changes, ./, /, backslashes and nesting', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('.github', '.pipeline'),
        fc.array(segment, { maxLength: 4 }),
        fc.array(segment, { minLength: 1, maxLength: 4 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
        fc.constantFrom('', './', '/', './/', '././'),
        fc.boolean(),
        (dir, before, after, flips, prefix, backslashes) => {
          let path = prefix + [...before, randomCase(dir, flips), ...after].join('/');
          if (backslashes) path = path.replace(/\//g, '\\');
          const hit = seed.match(path);
          return hit !== undefined && hit.globs.includes(`**/${dir}/**`);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('catches any spelling of SECURITY* and bitbucket-pipelines.yml at any depth', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('SECURITY.md', 'security', 'Security-policy.txt', 'bitbucket-pipelines.yml'),
        fc.array(segment, { maxLength: 5 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
        (name, dirs, flips) => seed.match([...dirs, randomCase(name, flips)].join('/')) !== undefined,
      ),
      { numRuns: 500 },
    );
  });
});

describe('property: the literal pre-filter never hides a match', () => {
  it('agrees with the plain matcher over path-and-ancestors', () => {
    const alphabet = ['a', 'B', '.', '-', '_', 'x', 'Y', '1'];
    const token = fc.constantFrom(
      ...alphabet,
      ...alphabet,
      '*',
      '**',
      '?',
      '{a,B}',
      '{x,}',
      '@(a|b)',
      '+(x)',
      '*(Y)',
      '!(a)',
      '?(1)',
      '[ab]',
      '[!x]',
      '{1..3}',
      ')',
    );
    const globSegment = fc
      .array(token, { minLength: 1, maxLength: 4 })
      .map((t) => t.join(''))
      .filter((s) => s !== '.' && s !== '..' && !s.startsWith('!'));
    const pathSegment = fc
      .array(fc.constantFrom(...alphabet, 'b', 'A', 'y'), { minLength: 1, maxLength: 5 })
      .map((t) => t.join(''))
      .filter((s) => s !== '.' && s !== '..');
    fc.assert(
      fc.property(
        fc.array(globSegment, { minLength: 1, maxLength: 4 }),
        fc.array(pathSegment, { minLength: 1, maxLength: 5 }),
        (gSegs, pSegs) => {
          const glob = gSegs.join('/');
          if (denyGlobProblem(glob) !== undefined) return true;
          const path = pSegs.join('/');
          // Against the linear-time matcher alone (no pre-filter), which is picomatch's glob run by RE2
          // (linear-time-glob-matching.test.ts relates the two).
          const re = compilePicomatchGlob(glob, { nocase: true });
          const candidates = pSegs.map((_, i) => pSegs.slice(0, i + 1).join('/'));
          const expected = candidates.some((c) => re.test(c));
          return (compileDenyGlobs([glob]).match(path) !== undefined) === expected;
        },
      ),
      { numRuns: 5000 },
    );
  });
});
