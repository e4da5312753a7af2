import { compilePicomatchGlob, type LinearMatcher } from './linear-glob';
import { normalizeRepoPath, pathAndAncestors } from './repo-path';

/**
 * `paths.deny_globs` matching. picomatch with `dot: true` (dotfiles such as `.github/` and `.pipeline/`
 * are ordinary paths here) and `nocase: true`: a deny list fails closed, so `Bitbucket-Pipelines.yml`
 * and `security.md` are caught by `**\/bitbucket-pipelines.yml` and `**\/SECURITY*`. A glob matching a
 * directory also matches everything below it (see `pathAndAncestors`). Matching runs in linear time
 * (`linear-glob.ts`): the paths are the agent's, and a backtracking regex would let one stall the gate.
 */

export const MAX_DENY_GLOB_LENGTH = 512;

/**
 * Why a deny glob is refused, or undefined when it is usable. Each refusal closes a way a typo would
 * silently match nothing and so weaken the policy.
 */
export function denyGlobProblem(glob: string): string | undefined {
  if (glob.length === 0) return 'must not be empty';
  if (glob.length > MAX_DENY_GLOB_LENGTH) return `must be at most ${MAX_DENY_GLOB_LENGTH} characters`;
  if (glob.trim() !== glob) return 'must not start or end with whitespace';
  if (glob.includes('\\')) return 'must use / as the separator (no backslashes)';
  if (glob.startsWith('!')) return 'must not be negated (a leading ! would turn a deny into an allow)';
  if (glob.startsWith('/')) return 'must be relative to the repository root (no leading /)';
  const segments = glob.split('/');
  if (segments.some((s) => s === '.' || s === '..')) return 'must not contain . or .. segments';
  if (segments.some((s) => s === '')) return 'must not contain empty segments or a trailing /';
  if (glob.includes('!(')) return 'must not use a negated extglob !(…) (not supported by the linear-time matcher)';
  let re: LinearMatcher;
  try {
    // strict: picomatch throws instead of quietly compiling a never-matching /$^/.
    re = compilePicomatchGlob(glob.normalize('NFC'), { nocase: true, strict: true });
  } catch {
    return 'is not a valid glob';
  }
  if (re.source === '$^') return 'is not a valid glob';
  return undefined;
}

export interface DenyGlobMatch {
  /** The first glob (in policy order) that matched. */
  glob: string;
  /** Every glob that matched, in policy order. */
  globs: string[];
  /** What `glob` matched: the path itself, else the top-most directory above it that it matched. */
  matched: string;
}

export interface DenyGlobMatcher {
  /** Match a raw path (it is normalised first); undefined when no glob matches. */
  match(path: string): DenyGlobMatch | undefined;
}

/**
 * Literal runs every match of `glob` must contain, lower-cased: a cheap, sound pre-filter. With 1,000
 * globs the cost is a regex per glob per path, and nearly every glob is ruled out by one `includes`.
 * Runs are the plain-ASCII stretches outside brace and extglob groups (`{a,b}`, `@(x|y)`), split at
 * every other character, so they can only under-constrain. `.` splits too: picomatch sometimes leaves
 * a glob's `.` unescaped (`{1..3}_.` compiles to `[1-3]_.`), where it matches any character. Sound under `nocase` because ASCII
 * literals match only ASCII characters under the regex `i` flag. Bracket classes (`[...]`) are rare
 * and awkward to parse (`[]a]`, `[[:alpha:]]`), so such globs are always tested.
 */
function requiredLiterals(glob: string): string[] | undefined {
  if (glob.includes('[')) return undefined;
  let outside = '';
  let depth = 0;
  for (const ch of glob) {
    if (ch === '{' || ch === '(') depth += 1;
    else if (ch === '}' || ch === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0) {
      outside += ch;
      continue;
    }
    outside += '/';
  }
  return outside
    .split(/[^A-Za-z0-9_~ -]+/)
    .filter((run) => run !== '')
    .map((run) => run.toLowerCase());
}

/** Compile validated globs once. */
export function compileDenyGlobs(globs: readonly string[]): DenyGlobMatcher {
  // Compiled on first use: most globs are ruled out by their literals for every path of a change.
  const compiled = globs.map((glob) => {
    let matcher: LinearMatcher | undefined;
    return {
      glob,
      re: {
        test: (value: string) =>
          (matcher ??= compilePicomatchGlob(glob.normalize('NFC'), { nocase: true })).test(value),
      },
      literals: requiredLiterals(glob),
    };
  });
  return {
    match(path) {
      const normalized = normalizeRepoPath(path);
      const lower = normalized.toLowerCase();
      const candidates = pathAndAncestors(normalized);
      const hits = compiled.filter(
        ({ re, literals }) =>
          (literals === undefined || literals.every((l) => lower.includes(l))) && candidates.some((c) => re.test(c)),
      );
      const first = hits[0];
      if (first === undefined) return undefined;
      // The path itself when it matches; otherwise the top-most directory that does.
      const matched = first.re.test(normalized) ? normalized : (candidates.find((c) => first.re.test(c)) ?? normalized);
      return { glob: first.glob, globs: hits.map((h) => h.glob), matched };
    },
  };
}
