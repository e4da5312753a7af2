import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { httpsUrlOrNull } from '../../core/https-url';
import type { EvaluationRecord } from '../../store';
import { ApiError } from '../../http/http-error';
import type { ApiContext } from '../api-context';
import {
  access,
  ACCESS,
  authorizeRepository,
  principalOf,
  readsOwnUploadsOnly,
  type ApiPrincipal,
} from '../../http/authenticate';
import { zodIssuesToFields } from '../../http/zod-fields';
import { repositoryName, REPOSITORY_NAME_MESSAGE } from '../repo-param';

/**
 * `GET /workspaces/{ws}/evaluations?repo=&pr=&limit=` (newest first; `repo` = slug or full name) and `GET …/evaluations/{id}`.
 * Every read is scoped to the caller's workspace: another workspace's evaluation id is a 404, the
 * same answer as an id that does not exist. A person needs read access to the evaluation's repository
 * (asked of Bitbucket); a `bundles:write` token sees only evaluations of bundles it uploaded (others
 * are 404, as if absent); a page-link session only the one evaluation its link named.
 */

export const MAX_EVALUATION_PAGE = 200;

const querySchema = z.strictObject({
  // The slug or the full name (repo-param.ts); resolved against the caller's workspace below.
  repo: z.string().min(1).max(255),
  pr: z
    .string()
    .regex(/^[1-9]\d{0,9}$/, 'must be a pull request id')
    .transform(Number)
    .refine((id) => id <= 2_147_483_647, 'must be a pull request id')
    .optional(),
  limit: z
    .string()
    .regex(/^\d{1,4}$/, `must be 1..${MAX_EVALUATION_PAGE}`)
    .transform(Number)
    .refine((limit) => limit >= 1 && limit <= MAX_EVALUATION_PAGE, `must be 1..${MAX_EVALUATION_PAGE}`)
    .optional(),
});

function summary(evaluation: EvaluationRecord): Record<string, unknown> {
  return {
    id: evaluation.id,
    repo: evaluation.repoFullName,
    pr_id: evaluation.prId,
    head_sha: evaluation.headSha,
    state: evaluation.state,
    mode: evaluation.mode,
    status_state: evaluation.statusState,
    bundle_id: evaluation.bundleId,
    policy_hash_b64u: evaluation.policyHashB64u,
    // Rendered as a link by the pages: only https URLs leave the API (anything else is null).
    pr_url: httpsUrlOrNull(evaluation.prUrl),
    created_at: evaluation.createdAt.toISOString(),
  };
}

function detail(evaluation: EvaluationRecord): Record<string, unknown> {
  return {
    ...summary(evaluation),
    bundle_sha256_b64u: evaluation.bundleSha256B64u,
    bundle_source: evaluation.bundleSource,
    commits: evaluation.commits,
    verdict: evaluation.verdict,
  };
}

export function evaluationRoutes(context: ApiContext): Router {
  const router = Router({ mergeParams: true });

  /** A bundles:write token sees an evaluation only when it uploaded the evaluation's bundle. */
  async function visibleToUploader(
    principal: ApiPrincipal,
    evaluation: EvaluationRecord,
    uploaders: Map<string, string | null>,
  ): Promise<boolean> {
    if (evaluation.bundleId === null) return false;
    if (!uploaders.has(evaluation.bundleId))
      uploaders.set(
        evaluation.bundleId,
        (await context.store.bundles.get(principal.workspaceId, evaluation.bundleId))?.uploadedBy ?? null,
      );
    return uploaders.get(evaluation.bundleId) === principal.actor;
  }

  router.get('/evaluations', access(ACCESS.readEvaluations), async (request: Request, response: Response) => {
    const principal = principalOf(request);
    const { workspaceId } = principal;
    if (principal.linkEvaluationId !== undefined)
      throw new ApiError(
        403,
        'LINK_SESSION_FORBIDDEN',
        'a page opened from a link may read only the evaluation it names',
      );
    const query = querySchema.safeParse(request.query);
    if (!query.success)
      throw new ApiError(
        400,
        'INVALID_QUERY',
        'the query parameters are invalid',
        zodIssuesToFields(query.error.issues),
      );
    const { pr } = query.data;
    const name = repositoryName(query.data.repo, principalOf(request));
    if (name === null)
      throw new ApiError(400, 'INVALID_QUERY', 'the query parameters are invalid', [
        { path: 'repo', message: REPOSITORY_NAME_MESSAGE },
      ]);
    const repo = name.fullName;
    await authorizeRepository(request, repo);
    const limit = query.data.limit ?? 50;
    // One more than asked tells whether there is more.
    const rows =
      pr === undefined
        ? await context.store.evaluations.listForRepository(workspaceId, repo, { limit: limit + 1 })
        : await context.store.evaluations.listForPullRequest(workspaceId, repo, pr, { limit: limit + 1 });
    let page = rows.slice(0, limit);
    if (readsOwnUploadsOnly(principal)) {
      const uploaders = new Map<string, string | null>();
      const visible: EvaluationRecord[] = [];
      for (const evaluation of page)
        if (await visibleToUploader(principal, evaluation, uploaders)) visible.push(evaluation);
      page = visible;
    }
    response.json({ evaluations: page.map(summary), has_more: rows.length > limit });
  });

  router.get('/evaluations/:id', access(ACCESS.readEvaluations), async (request: Request, response: Response) => {
    const principal = principalOf(request);
    const id = request.params.id;
    if (
      principal.linkEvaluationId !== undefined &&
      (typeof id !== 'string' || id.toLowerCase() !== principal.linkEvaluationId.toLowerCase())
    ) {
      throw new ApiError(
        403,
        'LINK_SESSION_FORBIDDEN',
        'a page opened from a link may read only the evaluation it names',
      );
    }
    const evaluation = typeof id === 'string' ? await context.store.evaluations.get(principal.workspaceId, id) : null;
    const hidden =
      evaluation !== null &&
      readsOwnUploadsOnly(principal) &&
      !(await visibleToUploader(principal, evaluation, new Map()));
    if (evaluation === null || hidden)
      throw new ApiError(404, 'EVALUATION_NOT_FOUND', 'this workspace has no evaluation with that id');
    await authorizeRepository(request, evaluation.repoFullName);
    response.json(detail(evaluation));
  });

  return router;
}
