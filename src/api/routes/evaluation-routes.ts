import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { EvaluationRecord } from '../../store';
import { ApiError } from '../../http/http-error';
import type { ApiContext } from '../api-context';
import { principalOf } from '../../http/authenticate';
import { zodIssuesToFields } from '../../http/zod-fields';

/**
 * `GET /workspaces/{ws}/evaluations?repo=&pr=&limit=` (newest first) and `GET …/evaluations/{id}`.
 * Every read is scoped to the caller's workspace: another workspace's evaluation id is a 404, the
 * same answer as an id that does not exist.
 */

export const MAX_EVALUATION_PAGE = 200;

const querySchema = z.strictObject({
  repo: z
    .string()
    .max(255)
    .regex(/^[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+$/, 'must be a repository full name, "workspace/repo_slug"'),
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
    pr_url: evaluation.prUrl,
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

  router.get('/evaluations', async (request: Request, response: Response) => {
    const { workspaceId } = principalOf(request);
    const query = querySchema.safeParse(request.query);
    if (!query.success) throw new ApiError(400, 'INVALID_QUERY', 'the query parameters are invalid', zodIssuesToFields(query.error.issues));
    const { repo, pr } = query.data;
    const limit = query.data.limit ?? 50;
    // One more than asked tells whether there is more.
    const rows =
      pr === undefined
        ? await context.store.evaluations.listForRepository(workspaceId, repo, { limit: limit + 1 })
        : await context.store.evaluations.listForPullRequest(workspaceId, repo, pr, { limit: limit + 1 });
    response.json({ evaluations: rows.slice(0, limit).map(summary), has_more: rows.length > limit });
  });

  router.get('/evaluations/:id', async (request: Request, response: Response) => {
    const { workspaceId } = principalOf(request);
    const id = request.params.id;
    const evaluation = typeof id === 'string' ? await context.store.evaluations.get(workspaceId, id) : null;
    if (evaluation === null) throw new ApiError(404, 'EVALUATION_NOT_FOUND', 'this workspace has no evaluation with that id');
    response.json(detail(evaluation));
  });

  return router;
}
