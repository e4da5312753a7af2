import fc from 'fast-check';
import picomatch from 'picomatch';
import { branchGlobMatches } from '../../../src/pipeline/operations/protected-branches';
import { branchPatternMatches } from '../../../src/api/routes/merge-check-routes';
import { clawsigGlobMatch } from '../../../src/core/policy/clawsig-glob';
import { compileDenyGlobs, denyGlobProblem } from '../../../src/core/policy/deny-globs';
import { compilePicomatchGlob } from '../../../src/core/policy/linear-glob';

/**
 * Branch patterns and WPC globs are matched against names the agent chooses (branch names, model
 * names, file paths). With a backtracking regex, `*a*a*a*a*a*a*a*b` against 60 `a`s took 87 s and
 * stalled every tenant; the linear-time matcher must answer in milliseconds whatever the pattern,
 * and must agree with the old semantics on ordinary inputs.
 */

const elapsedMs = (fn: () => unknown): number => {
  const started = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
};

// The old matchers, kept here as oracles: exact on short inputs, exponential on long adversarial ones.
const oldBranchGlob = (pattern: string, branch: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
      .join('.*')}$`,
    's',
  ).test(branch);
function oldClawsigGlob(pattern: string, value: string): boolean {
  if (pattern === '*' || pattern === '**') return true;
  let source = '^';
  for (let i = 0; i < pattern.length;) {
    const ch = pattern[i] as string;
    if (ch === '*' && pattern[i + 1] === '*') {
      source += '.*';
      i += 2;
      if (pattern[i] === '/') i += 1;
    } else if (ch === '*') {
      source += '[^/]*';
      i += 1;
    } else if (ch === '?') {
      source += '[^/]';
      i += 1;
    } else {
      source += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      i += 1;
    }
  }
  return new RegExp(`${source}$`).test(value);
}

const EVIL = '*a*a*a*a*a*a*a*b';

describe('adversarial patterns answer in linear time', () => {
  it('the 87-second branch pattern: a 60-character and a 10,000-character branch name', () => {
    expect(elapsedMs(() => expect(branchGlobMatches(EVIL, 'a'.repeat(60))).toBe(false))).toBeLessThan(200);
    expect(elapsedMs(() => expect(branchPatternMatches(EVIL, 'a'.repeat(60))).toBe(false))).toBeLessThan(200);
    expect(elapsedMs(() => expect(branchGlobMatches(EVIL, 'a'.repeat(10_000))).toBe(false))).toBeLessThan(500);
  });

  it('a WPC allowed_models glob against a long model name', () => {
    expect(
      elapsedMs(() => expect(clawsigGlobMatch('**a**a**a**a**a**a**a**b', 'a'.repeat(5_000))).toBe(false)),
    ).toBeLessThan(500);
    expect(elapsedMs(() => expect(clawsigGlobMatch('*a*a*a*a*a*a*a*a*b', 'a'.repeat(5_000))).toBe(false))).toBeLessThan(
      500,
    );
  });

  it('a deny glob against a long path the agent committed', () => {
    const glob = '**/*a*a*a*a*a*a*a*a*b';
    expect(denyGlobProblem(glob)).toBeUndefined();
    const m = compileDenyGlobs([glob]);
    expect(elapsedMs(() => expect(m.match(`x/${'a'.repeat(5_000)}`)).toBeUndefined())).toBeLessThan(500);
  });

  it('an assignment repository glob against a long name', () => {
    const m = compilePicomatchGlob('*a*a*a*a*a*a*a*a*b/**', { nocase: true });
    expect(elapsedMs(() => expect(m.test(`${'a'.repeat(5_000)}/x`)).toBe(false))).toBeLessThan(500);
  });

  it('property: random star-heavy patterns against long inputs stay under a time bound', () => {
    const token = fc.constantFrom('*', '**', '?', 'a', 'a', 'b', '/');
    fc.assert(
      fc.property(
        fc.array(token, { minLength: 1, maxLength: 24 }),
        fc.integer({ min: 100, max: 3_000 }),
        fc.constantFrom('a', 'a/', 'ab'),
        (tokens, length, unit) => {
          const pattern = tokens.join('');
          const input = unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
          const ms = elapsedMs(() => {
            branchGlobMatches(pattern, input);
            clawsigGlobMatch(pattern, input);
            compilePicomatchGlob(pattern, { nocase: true }).test(input);
          });
          return ms < 250;
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('same answers as the old matchers on ordinary inputs', () => {
  const alphabet = ['a', 'b', 'B', '/', '.', '-', '(', '+', '$'];
  const text = fc.array(fc.constantFrom(...alphabet), { maxLength: 10 }).map((t) => t.join(''));
  const pattern = fc.array(fc.constantFrom(...alphabet, '*', '*', '**', '?'), { maxLength: 8 }).map((t) => t.join(''));

  it('Bitbucket branch globs', () => {
    fc.assert(
      fc.property(
        pattern,
        text,
        (p, b) => branchGlobMatches(p, b) === oldBranchGlob(p, b) && branchPatternMatches(p, b) === oldBranchGlob(p, b),
      ),
      { numRuns: 3000 },
    );
  });

  it('Clawsig WPC globs', () => {
    fc.assert(
      fc.property(pattern, text, (p, v) => clawsigGlobMatch(p, v) === oldClawsigGlob(p, v)),
      { numRuns: 3000 },
    );
  });

  it('picomatch globs (assignment and deny globs): never miss a picomatch match, and agree exactly unless picomatch demands a non-empty star at the end', () => {
    const name = fc.stringMatching(/^[a-zA-Z0-9_-][a-zA-Z0-9._-]{0,8}$/);
    const globPart = fc
      .array(fc.constantFrom('a', 'B', '-', '_', '.', '1', '*', '?', '{a,b}', '@(x|1)', '[ab]', '+(a)'), {
        minLength: 1,
        maxLength: 5,
      })
      .map((t) => t.join(''));
    fc.assert(
      fc.property(fc.oneof(globPart, fc.constant('**')), globPart, name, name, (ws, repo, w, r) => {
        const glob = `${ws}/${repo}`.toLowerCase();
        const full = `${w}/${r}`.toLowerCase();
        let expected: boolean;
        let oneChar: boolean;
        try {
          expected = picomatch.isMatch(full, glob, { dot: true, nonegate: true });
          oneChar = picomatch.makeRe(glob, { dot: true, nonegate: true }).source.includes('(?=.)');
        } catch {
          return true;
        }
        const actual = compilePicomatchGlob(glob, { nocase: false }).test(full);
        if (expected && !actual) return false;
        return oneChar || actual === expected;
      }),
      { numRuns: 5000 },
    );
  });

  it('the one documented difference: picomatch refuses "a." for "*.*", the linear matcher accepts it', () => {
    expect(picomatch.isMatch('a.', '*.*', { dot: true })).toBe(false);
    expect(compilePicomatchGlob('*.*', { nocase: true }).test('a.')).toBe(true);
    expect(compilePicomatchGlob('*.*', { nocase: true }).test('a.b')).toBe(true);
  });

  it('refuses a negated extglob instead of compiling a regex RE2 cannot run', () => {
    expect(denyGlobProblem('src/!(public)/**')).toMatch(/negated extglob/);
  });
});
