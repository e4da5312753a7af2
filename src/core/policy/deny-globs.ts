import picomatch from 'picomatch';
import { normalizeRepoPath, pathAndAncestors } from './repo-path';

/**
 * `paths.deny_globs` matching. picomatch with `dot: true` (dotfiles such as `.github/` and `.pipeline/`
 * are ordinary paths here) and `nocase: true`: a deny list fails closed, so `Bitbucket-Pipelines.yml`
 * and `security.md` are caught by `**\/bitbucket-pipelines.yml` and `**\/SECURITY*`. A glob matching a
 * directory also matches everything below it (see `pathAndAncestors`).
 */
const PICOMATCH_OPTIONS = { dot: true, nocase: true, nonegate: true } as const;

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
  let re: RegExp;
  try {
    // strictBrackets and debug make picomatch throw instead of quietly compiling a never-matching /$^/.
    re = picomatch.makeRe(glob.normalize('NFC'), { ...PICOMATCH_OPTIONS, strictBrackets: true, debug: true });
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
  /** What matched: the path itself or one of its directories. */
  matched: string;
}

export interface DenyGlobMatcher {
  /** Match a raw path (it is normalised first); undefined when no glob matches. */
  match(path: string): DenyGlobMatch | undefined;
}

/** Compile validated globs once; one combined regex answers "does anything match" for each path. */
export function compileDenyGlobs(globs: readonly string[]): DenyGlobMatcher {
  const compiled = globs.map((glob) => ({ glob, re: picomatch.makeRe(glob.normalize('NFC'), PICOMATCH_OPTIONS) }));
  const any = compiled.length === 0 ? undefined : new RegExp(compiled.map(({ re }) => `(?:${re.source})`).join('|'), 'i');
  return {
    match(path) {
      if (any === undefined) return undefined;
      const candidates = pathAndAncestors(normalizeRepoPath(path));
      if (!candidates.some((c) => any.test(c))) return undefined;
      const hits = compiled.filter(({ re }) => candidates.some((c) => re.test(c)));
      const first = hits[0];
      if (first === undefined) return undefined;
      const matched = candidates.find((c) => first.re.test(c)) ?? candidates[candidates.length - 1] ?? '';
      return { glob: first.glob, globs: hits.map((h) => h.glob), matched };
    },
  };
}
