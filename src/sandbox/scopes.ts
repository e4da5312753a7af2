/**
 * Connect / OAuth scope strings and what each implies (Bitbucket's REST scopes page). A descriptor naming an
 * unknown scope is invalid; a descriptor without `scopes` gets all of them.
 */
export const KNOWN_SCOPES = [
  'account',
  'account:write',
  'email',
  'team',
  'team:write',
  'repository',
  'repository:write',
  'repository:admin',
  'repository:delete',
  'pullrequest',
  'pullrequest:write',
  'webhook',
  'project',
  'project:write',
  'project:admin',
  'issue',
  'issue:write',
  'wiki',
  'snippet',
  'snippet:write',
  'pipeline',
  'pipeline:write',
  'pipeline:variable',
  'runner',
  'runner:write',
] as const;

const IMPLIES: Record<string, string[]> = {
  'repository:write': ['repository'],
  pullrequest: ['repository'],
  'pullrequest:write': ['pullrequest', 'repository:write', 'repository'],
  'account:write': ['account'],
  'team:write': ['team'],
  'project:admin': ['project'],
  'project:write': ['project'],
  'issue:write': ['issue'],
  'snippet:write': ['snippet'],
  'pipeline:write': ['pipeline'],
  'runner:write': ['runner'],
};

export function isKnownScope(scope: string): boolean {
  return (KNOWN_SCOPES as readonly string[]).includes(scope);
}

/** The effective scope set; null (no scopes declared) means every scope. */
export function effectiveScopes(granted: readonly string[] | null): Set<string> {
  if (granted === null) return new Set(KNOWN_SCOPES);
  const out = new Set<string>();
  const stack = [...granted];
  while (stack.length > 0) {
    const s = stack.pop();
    if (s === undefined || out.has(s)) continue;
    out.add(s);
    stack.push(...(IMPLIES[s] ?? []));
  }
  return out;
}
