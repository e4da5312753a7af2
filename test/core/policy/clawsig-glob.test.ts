import { clawsigGlobMatch, clawsigGlobSource } from '../../../src/core/policy/clawsig-glob';

describe('Clawsig WPC glob (clawsig.md §5.2)', () => {
  it.each([
    // The examples of the reference evaluator's glob.
    ['src/**/*.ts', 'src/a.ts', true],
    ['src/**/*.ts', 'src/x/y/a.ts', true],
    ['src/*', 'src/a/b', false],
    ['src/*', 'src/a', true],
    ['**/secrets/**', 'mysecrets/x', true], // the protocol's quirk, kept
    ['**/secrets/**', 'a/secrets/b', true],
    // exactly * or ** matches everything, / included.
    ['*', 'anthropic/claude-3/x', true],
    ['**', 'a/b/c', true],
    ['*', '', true],
    // * stays inside a segment; ** crosses them.
    ['claude-*', 'claude-sonnet-4', true],
    ['claude-*', 'claude-3/opus', false],
    ['claude-**', 'claude-3/opus', true],
    ['gpt-?', 'gpt-5', true],
    ['gpt-?', 'gpt-55', false],
    ['gpt-?', 'gpt-/', false],
    // everything else literal, anchored, case-sensitive.
    ['gpt-4.1', 'gpt-4x1', false],
    ['gpt-4.1', 'gpt-4.1', true],
    ['gpt-4.1', 'xgpt-4.1', false],
    ['gpt-4.1', 'gpt-4.1-mini', false],
    ['a+b(c)[d]{e}|f^$\\', 'a+b(c)[d]{e}|f^$\\', true],
    ['claude-*', 'Claude-sonnet', false],
    ['', '', true],
    ['', 'x', false],
  ])('%j vs %j → %s', (pattern, value, expected) => {
    expect(clawsigGlobMatch(pattern, value)).toBe(expected);
  });

  it('compiles ** followed by / to .* with the / swallowed, as the reference does', () => {
    expect(clawsigGlobSource('src/**/*.ts')).toBe(String.raw`^src\/[^\n\r\x{2028}\x{2029}]*[^/]*\.ts$`);
    expect(clawsigGlobMatch('a/**/b', 'a/xb')).toBe(true);
  });
});
