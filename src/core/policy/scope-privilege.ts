/**
 * `auth.least_privilege_scopes_required`: which CST scope strings are too broad. Two families, matched
 * after trimming and case-insensitively so spelling cannot hide them:
 * - wildcard: any `*` (`*`, `proxy:*`, `clawproxy:*`, `control:*`, `proxy:call:*`…);
 * - admin: any scope containing `admin` (`repository:admin`, `project:admin`,
 *   `admin:repository:bitbucket`, `admin:*`, `workspace_admin`…).
 * A substring test over-matches on purpose: a scope that merely mentions admin is refused rather than
 * guessed about.
 */
export type ScopeProblem = 'wildcard' | 'admin';

export function scopeProblems(scope: string): ScopeProblem[] {
  const normalized = scope.trim().toLowerCase();
  const problems: ScopeProblem[] = [];
  if (normalized.includes('*')) problems.push('wildcard');
  if (normalized.includes('admin')) problems.push('admin');
  return problems;
}
