import type { Request } from 'express';
import { authorizeRepository, isWorkspaceAdmin, principalOf } from '../http/authenticate';
import { ApiError } from '../http/http-error';
import type { Store } from '../store';

/**
 * Who may read a piece of evidence that belongs to no single repository — a stored bundle, a policy
 * document — through a page (a person, not a token): whoever may read a repository whose evaluation
 * used it, or a workspace admin; a page-link session only the bundle or policy of its own evaluation.
 * Called before the evidence is looked up, so a refused viewer cannot tell whether it exists.
 */
export async function authorizeEvidenceViewer(
  store: Pick<Store, 'evaluations'>,
  request: Request,
  used: { bundleId: string } | { policyHashB64u: string },
): Promise<void> {
  const principal = principalOf(request);
  if (principal.method === 'api_token') return;
  if (principal.linkEvaluationId !== undefined) {
    const evaluation = await store.evaluations.get(principal.workspaceId, principal.linkEvaluationId);
    const same =
      evaluation !== null &&
      ('bundleId' in used ? evaluation.bundleId === used.bundleId : evaluation.policyHashB64u === used.policyHashB64u);
    if (evaluation === null || !same)
      throw new ApiError(
        403,
        'LINK_SESSION_FORBIDDEN',
        'a page opened from a link may read only the evaluation it names',
      );
    await authorizeRepository(request, evaluation.repoFullName);
    return;
  }
  for (const repo of await store.evaluations.repositoriesUsing(principal.workspaceId, used)) {
    try {
      await authorizeRepository(request, repo);
      return;
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 403) throw error;
    }
  }
  if (await isWorkspaceAdmin(request)) return;
  throw new ApiError(403, 'FORBIDDEN', 'you may not see this');
}
