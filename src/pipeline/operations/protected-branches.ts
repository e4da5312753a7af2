import type { BitbucketBranchRestriction } from '../../bitbucket';
import { branchGlobMatch } from '../../core/policy';

/**
 * Is a branch "the main/default or a protected branch" (docs/operations.md, `direct_push_main`)? Pure.
 * - the repository's main branch (`mainbranch.name`) always is;
 * - so is any branch matched by a branch restriction (Bitbucket's classic merge checks) of a kind that guards the
 *   branch: who may push or merge, no deletes, no force pushes, and every merge check (they only
 *   bind pull requests, which a direct push bypasses). Kinds that only tune PR behaviour
 *   (approval resets, auto-merge) do not make a branch protected; an unknown kind does (fail closed).
 * Restriction patterns are Bitbucket globs: `*` matches any run of characters (slashes included),
 * everything else literally, case-sensitively (git branch names are). `branching_model` restrictions
 * use Bitbucket's default prefixes (feature/, bugfix/, release/, hotfix/); development and production
 * are taken to be the main branch — a customised branching model is not read (UNCONFIRMED scope).
 */

const NOT_PROTECTING = new Set([
  'reset_pullrequest_approvals_on_change',
  'smart_reset_pullrequest_approvals',
  'reset_pullrequest_changes_requested_on_change',
  'allow_auto_merge_when_builds_pass',
]);

const BRANCH_TYPE_PREFIXES: Record<string, string> = {
  feature: 'feature/',
  bugfix: 'bugfix/',
  release: 'release/',
  hotfix: 'hotfix/',
};

/** Matched in linear time (`core/policy/linear-glob.ts`): a backtracking regex took 87 s on `*a*a*a*a*a*a*a*b`. */
export function branchGlobMatches(pattern: string, branch: string): boolean {
  return branchGlobMatch(pattern, branch);
}

function restrictionMatches(
  restriction: BitbucketBranchRestriction,
  branch: string,
  mainBranch: string | null,
): boolean {
  if (restriction.branch_match_kind === 'branching_model') {
    const type = restriction.branch_type ?? '';
    if (type === 'development' || type === 'production') return mainBranch !== null && branch === mainBranch;
    const prefix = BRANCH_TYPE_PREFIXES[type];
    return prefix !== undefined && branch.startsWith(prefix);
  }
  return (
    typeof restriction.pattern === 'string' &&
    restriction.pattern.length > 0 &&
    branchGlobMatches(restriction.pattern, branch)
  );
}

export interface BranchProtection {
  protected: boolean;
  /** Why: `main_branch` and/or `restriction:<kind>:<pattern or branch_type>`. */
  reasons: string[];
}

/** `restrictions` null = could not be read (clawgate lacks `repository:admin`): only the main branch counts. */
export function branchProtection(
  branch: string,
  mainBranch: string | null,
  restrictions: readonly BitbucketBranchRestriction[] | null,
): BranchProtection {
  const reasons: string[] = [];
  if (mainBranch !== null && branch === mainBranch) reasons.push('main_branch');
  for (const restriction of restrictions ?? []) {
    if (NOT_PROTECTING.has(restriction.kind)) continue;
    if (!restrictionMatches(restriction, branch, mainBranch)) continue;
    const target =
      restriction.branch_match_kind === 'branching_model'
        ? (restriction.branch_type ?? '')
        : (restriction.pattern ?? '');
    reasons.push(`restriction:${restriction.kind}:${target}`);
  }
  return { protected: reasons.length > 0, reasons };
}
