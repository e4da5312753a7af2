import { repositoryName, REPOSITORY_NAME_MESSAGE, type RepositoryName } from '../repo-param';
import { Router, type Request, type Response } from 'express';
import { ApiError } from '../../http/http-error';
import type { ApiContext } from '../api-context';
import { RecheckRateLimitedError } from '../../pipeline/recheck';
import { recheckRefusal } from '../../pipeline/recheck-rule';
import { access, ACCESS, authorizeRepository, principalOf, sourceAddress } from '../../http/authenticate';

/**
 * `POST /workspaces/{ws}/repositories/{repo}/pullrequests/{id}/recheck` → 202 `{job_id}`: asks the
 * pipeline to evaluate the PR again (the panel's re-check button). `{repo}` is the repository slug;
 * the pipeline gets the full name `<workspace slug>/<repo>` (`{uuid}/<repo>` if the workspace's slug
 * is unknown). 501 when no pipeline is wired. A token needs `admin`; a person needs write access to the
 * repository and must not be an agent identity (the same rule as the `/clawgate recheck` comment).
 * Rate limited per caller and per source address.
 */

const PR_ID = /^[1-9]\d{0,9}$/;

export function recheckRoutes(context: ApiContext): Router {
  const router = Router({ mergeParams: true });

  router.post(
    '/repositories/:repo/pullrequests/:id/recheck',
    access(ACCESS.recheck),
    async (request: Request, response: Response) => {
      const principal = principalOf(request);
      const { repo, id } = request.params;
      const fields = [];
      const name = repositoryName(repo, principal);
      if (name === null || !name.own) fields.push({ path: 'repo', message: REPOSITORY_NAME_MESSAGE });
      if (typeof id !== 'string' || !PR_ID.test(id) || Number(id) > 2_147_483_647)
        fields.push({ path: 'id', message: 'must be a pull request id' });
      if (fields.length > 0)
        throw new ApiError(400, 'INVALID_PATH', 'the repository or pull request in the path is invalid', fields);
      if (context.recheck === undefined)
        throw new ApiError(501, 'NOT_IMPLEMENTED', 're-checks are not available on this server');
      const repoFullName = (name as RepositoryName).fullName;
      const prId = Number(id);
      // A person: write access to the repository, and the one re-check rule of every path (recheck-rule.ts):
      // never a registered agent identity, never an account Bitbucket cannot name.
      const viewer = await authorizeRepository(request, repoFullName);
      if (viewer !== undefined) {
        const { settings } = await context.store.settings.get(principal.workspaceId);
        const refusal = recheckRefusal(settings, viewer.accountUuid, viewer.permission);
        if (refusal !== null) {
          context.logger.warn(
            { workspace: principal.workspaceId, repo: repoFullName, pr: prId, reason: refusal },
            're-check refused',
          );
          throw new ApiError(
            403,
            'RECHECK_REFUSED',
            refusal === 'agent_identity'
              ? 'an agent identity may not re-check pull requests'
              : 'this user may not re-check pull requests in this repository',
          );
        }
      }
      await context.rateLimits.consume(response, 'recheck', principal.actor, sourceAddress(request));
      let jobId: string;
      try {
        ({ jobId } = await context.recheck(principal.workspaceId, repoFullName, prId, principal.actor));
      } catch (error) {
        if (!(error instanceof RecheckRateLimitedError)) throw error;
        response.setHeader('Retry-After', String(error.retryAfterSeconds));
        throw new ApiError(429, 'RATE_LIMITED', 'this pull request was re-checked too often; wait and try again');
      }
      await context.store.audit.append(principal.workspaceId, {
        actor: principal.actor,
        kind: 'pullrequest.recheck_requested',
        subject: `${repoFullName}#${prId}`,
        repo: repoFullName,
        prId,
        after: { job_id: jobId },
      });
      response.status(202).json({ job_id: jobId });
    },
  );

  return router;
}
