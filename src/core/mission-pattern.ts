/**
 * `mission_id` is an opaque job correlation id in the Claw ecosystem (clawscope recommends the
 * OpenClaw session key; marketplaces use a bounty id): clawgate records and shows it, and matches
 * it only against a pattern a workspace opted into (docs/clawsig-profile.md, revised 2026-12).
 *
 * A pattern is literal text with `*` (any run of characters, including none) and the placeholders
 * `{repository}` (workspace/repo_slug), `{workspace}` and `{repo_slug}`, compared case-insensitively;
 * e.g. `{repository}` or `{repository}#*`. Deliberately not a regular expression: an admin-supplied
 * regex could backtrack catastrophically on agent-chosen input, and this matcher is linear.
 * Written by hand: no library offers this small template form.
 */

export const MISSION_PATTERN_MAX_LENGTH = 256;
const PLACEHOLDERS = ['{repository}', '{workspace}', '{repo_slug}'] as const;

/** Why a pattern is unusable, or null when it is fine. */
export function missionPatternProblem(pattern: string): string | null {
  if (pattern.length === 0 || pattern.length > MISSION_PATTERN_MAX_LENGTH)
    return `must be 1..${MISSION_PATTERN_MAX_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex -- control characters never belong in a pattern
  if (/[\u0000-\u001f\u007f]/.test(pattern)) return 'must not contain control characters';
  let rest = pattern;
  for (const placeholder of PLACEHOLDERS) rest = rest.split(placeholder).join('');
  if (/[{}]/.test(rest)) return 'braces are only allowed in {repository}, {workspace} and {repo_slug}';
  return null;
}

export interface MissionRepository {
  workspace: string;
  repoSlug: string;
  repoFullName: string;
}

function expand(segment: string, repo: MissionRepository): string {
  return segment
    .split('{repository}')
    .join(repo.repoFullName)
    .split('{workspace}')
    .join(repo.workspace)
    .split('{repo_slug}')
    .join(repo.repoSlug)
    .toLowerCase();
}

/** True when `missionId` matches `pattern` for this repository (an invalid pattern matches nothing). */
export function missionMatches(pattern: string, missionId: string, repo: MissionRepository): boolean {
  if (missionPatternProblem(pattern) !== null) return false;
  const parts = pattern.split('*').map((segment) => expand(segment, repo));
  const subject = missionId.toLowerCase();
  const first = parts[0] ?? '';
  const last = parts[parts.length - 1] ?? '';
  if (parts.length === 1) return subject === first;
  if (!subject.startsWith(first) || subject.length < first.length + last.length || !subject.endsWith(last))
    return false;
  // Greedy left-to-right placement of the middle parts is exact for `*`-only patterns.
  let at = first.length;
  const end = subject.length - last.length;
  for (const middle of parts.slice(1, -1)) {
    const found = subject.indexOf(middle, at);
    if (found < 0 || found + middle.length > end) return false;
    at = found + middle.length;
  }
  return true;
}
