import { repositoryName, REPOSITORY_NAME_MESSAGE, type RepositoryName } from '../repo-param';
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

const PR_ID = /^[1-9]\d{0,9}$/;

export function recheckRoutes(context: ApiContext): Router {
  const router = Router({ mergeParams: true });

  router.post('/repositories/:repo/pullrequests/:id/recheck', async (request: Request, response: Response) => {
    const principal = principalOf(request);
    const { repo, id } = request.params;
    const fields = [];
    const name = repositoryName(repo, principal);
    if (name === null || !name.own) fields.push({ path: 'repo', message: REPOSITORY_NAME_MESSAGE });
    if (typeof id !== 'string' || !PR_ID.test(id) || Number(id) > 2_147_483_647) fields.push({ path: 'id', message: 'must be a pull request id' });
    if (fields.length > 0) throw new ApiError(400, 'INVALID_PATH', 'the repository or pull request in the path is invalid', fields);
    if (context.recheck === undefined) throw new ApiError(501, 'NOT_IMPLEMENTED', 're-checks are not available on this server');
    const repoFullName = (name as RepositoryName).fullName;
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
