import picomatch from 'picomatch';
import { RE2JS } from 're2js';

/**
 * Linear-time glob matching. Every glob clawgate matches (Bitbucket branch-restriction patterns,
 * WPC `allowed_models` and `paths.deny_globs`, assignment repository globs) used to be compiled to a
 * JavaScript RegExp, and V8's backtracking engine takes exponential time on patterns such as
 * `*a*a*a*a*a*a*a*b` against a 60-character name (87 s measured). Here every glob becomes a RE2
 * expression run by `re2js` (a port of RE2: automaton-based, time linear in the input), so the
 * matching cost is bounded by pattern length × input length whatever either holds.
 *
 * The RE2 syntax has no lookaround, so picomatch's output is accepted only after removing the
 * lookarounds it emits. Those refusing `.`/`..` segments never decide against a normalised repository
 * path or repository name (no empty, `.` or `..` segments). The one demanding that a star after some
 * constructs match at least one character at the very end (picomatch's `*.*` refuses `a.`) is dropped
 * too, so there, and only there, a glob matches a little more than picomatch: never less (removing a
 * lookaround only removes a constraint), which for a deny glob fails closed. Any other lookaround
 * (a negated extglob `!(…)`) is refused as an unsupported glob (fail closed: a policy
 * holding one does not load). Case-insensitive matching uses RE2's Unicode simple case folding, which
 * folds a few non-ASCII characters JavaScript's `i` flag does not (e.g. `ſ` ~ `s`).
 */
export interface LinearMatcher {
  /** Does the whole of `value` match? */
  test(value: string): boolean;
  /** The RE2 expression (for messages and tests). */
  readonly source: string;
}

export class UnsupportedGlobError extends Error {
  constructor(readonly glob: string) {
    super('glob is not supported by the linear-time matcher');
    this.name = 'UnsupportedGlobError';
  }
}

// Compiling an RE2 program costs ~1 ms a glob, and a WPC of 1,000 deny globs is parsed (validated) on
// every evaluation: compiled programs are kept, by expression, up to a bound (oldest dropped first).
const MAX_CACHED = 8192;
const cache = new Map<string, LinearMatcher>();

function compileRe2(source: string, caseInsensitive: boolean): LinearMatcher {
  const key = `${caseInsensitive ? 'i' : '-'}${source}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const pattern = RE2JS.compile(source, caseInsensitive ? RE2JS.CASE_INSENSITIVE : 0);
  const matcher: LinearMatcher = { source, test: (value) => pattern.matches(value) };
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
  cache.set(key, matcher);
  return matcher;
}

/** Escape a literal for RE2 (`\Q…\E` would do too, but breaks on a literal `\E`). */
function quote(literal: string): string {
  return literal.replace(/[\\^$.|?*+()[\]{}/-]/g, '\\$&');
}

/**
 * Bitbucket branch-restriction glob (Bitbucket's branch-restriction docs): `*` matches any run of characters, `/` and
 * line breaks included; everything else is literal and case-sensitive.
 */
export function compileBranchGlob(pattern: string): LinearMatcher {
  return compileRe2(`^${pattern.split('*').map(quote).join('(?s:.*)')}$`, false);
}

export function branchGlobMatch(pattern: string, branch: string): boolean {
  return compileBranchGlob(pattern).test(branch);
}

// What JavaScript's `.` (no `s` flag) refuses; RE2's `.` refuses only `\n`, so it is spelt out.
const JS_DOT = '[^\\n\\r\\x{2028}\\x{2029}]';

/**
 * The Clawsig WPC glob (docs/policy.md), used for `allowed_models`, as an RE2 expression. Written by
 * hand because it is the protocol's own rule and differs from every glob library:
 * - a pattern that is exactly `*` or `**` matches everything, `/` included;
 * - otherwise `**` → `.*` and a `/` right after `**` is swallowed; `*` → `[^/]*`; `?` → `[^/]`;
 *   everything else is literal; anchored `^…$`; case-sensitive.
 * Quirk kept on purpose (it is the protocol): `**\/secrets/**` also matches `mysecrets/x`.
 */
export function clawsigGlobSource(pattern: string): string {
  if (pattern === '*' || pattern === '**') return '^(?s:.*)$';
  let source = '^';
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i] as string;
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        source += `${JS_DOT}*`;
        i += 2;
        if (pattern[i] === '/') i += 1;
      } else {
        source += '[^/]*';
        i += 1;
      }
    } else if (ch === '?') {
      source += '[^/]';
      i += 1;
    } else {
      source += quote(ch);
      i += 1;
    }
  }
  return `${source}$`;
}

export function compileClawsigGlob(pattern: string): LinearMatcher {
  return compileRe2(clawsigGlobSource(pattern), false);
}

// The lookarounds picomatch emits (with `dot: true`) that only refuse `.`/`..` segments or an empty
// segment. Longest first, so that a shorter one never cuts a longer one apart.
const SEGMENT_GUARDS = [
  String.raw`(?!(?:^|\/)\.{1,2}(?:\/|$))`,
  String.raw`(?!\.{1,2}(?:\/|$))`,
  String.raw`(?!\.{0,1}(?:\/|$))`,
  '(?=.)',
  String.raw`(?!\.)`,
];
const LOOKAROUND = /\(\?<?[=!]/;

/**
 * A picomatch glob (`dot: true`, `nonegate: true`, optionally `nocase`), compiled by picomatch and run
 * by RE2. Only for values without empty, `.` or `..` segments (normalised repository paths, repository
 * full names): there the removed guards never decide. Throws `UnsupportedGlobError` when the glob needs
 * a lookaround RE2 lacks (negated extglobs), and whatever picomatch throws for a glob it refuses.
 */
export function compilePicomatchGlob(glob: string, options: { nocase: boolean; strict?: boolean }): LinearMatcher {
  const strict = options.strict === true ? { strictBrackets: true, debug: true } : {};
  const re = picomatch.makeRe(glob, { dot: true, nonegate: true, nocase: options.nocase, ...strict });
  let source = re.source;
  for (const guard of SEGMENT_GUARDS) source = source.split(guard).join('');
  if (LOOKAROUND.test(source)) throw new UnsupportedGlobError(glob);
  try {
    return compileRe2(source, options.nocase);
  } catch {
    throw new UnsupportedGlobError(glob);
  }
}
