import { Router, type Request, type Response } from 'express';
import { ApiError } from '../../http/http-error';
import type { ApiContext } from '../api-context';
import { principalOf } from '../../http/authenticate';

/**
 * `POST /workspaces/{ws}/repositories/{repo}/pullrequests/{id}/recheck` → 202 `{job_id}`: asks the
 * pipeline to evaluate the PR again (the panel's re-check button). `{repo}` is the repository slug;
 * the pipeline gets the full name `<workspace slug>/<repo>` (`{uuid}/<repo>` if the workspace's slug
 * is unknown). 501 when no pipeline is wired.
 */

const REPO_SLUG = /^[A-Za-z0-9._-]{1,128}$/;
const PR_ID = /^[1-9]\d{0,9}$/;

export function recheckRoutes(context: ApiContext): Router {
  const router = Router({ mergeParams: true });

  router.post('/repositories/:repo/pullrequests/:id/recheck', async (request: Request, response: Response) => {
    const principal = principalOf(request);
    const { repo, id } = request.params;
    const fields = [];
    if (typeof repo !== 'string' || !REPO_SLUG.test(repo)) fields.push({ path: 'repo', message: 'must be a repository slug' });
    if (typeof id !== 'string' || !PR_ID.test(id) || Number(id) > 2_147_483_647) fields.push({ path: 'id', message: 'must be a pull request id' });
    if (fields.length > 0) throw new ApiError(400, 'INVALID_PATH', 'the repository or pull request in the path is invalid', fields);
    if (context.recheck === undefined) throw new ApiError(501, 'NOT_IMPLEMENTED', 're-checks are not available on this server');
    const repoFullName = `${principal.workspaceSlug ?? principal.workspaceId}/${String(repo)}`;
    const prId = Number(id);
    const { jobId } = await context.recheck(principal.workspaceId, repoFullName, prId, principal.actor);
    await context.store.audit.append(principal.workspaceId, {
      actor: principal.actor,
      kind: 'pullrequest.recheck_requested',
      subject: `${repoFullName}#${prId}`,
      repo: repoFullName,
      prId,
      after: { job_id: jobId },
    });
    response.status(202).json({ job_id: jobId });
  });

  return router;
}
