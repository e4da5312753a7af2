import { Router } from 'express';
import { z } from 'zod';
import { ApiError } from '../api-errors';
import type { Commit, Repository } from '../model';
import { paginate } from '../pagination';
import { param, parseBody, recordedWrite, repositoryFor } from '../route-context';
import type { BitbucketSandbox } from '../sandbox';

/**
 * Commit build statuses (scope `repository`): POST upserts by key (201, created or overwritten),
 * PUT updates an existing key, GET one / list. `key` ≤ 40 characters (400 otherwise). Short
 * hashes in the path resolve to the full commit; statuses are stored on the full hash.
 */
const STATES = ['SUCCESSFUL', 'FAILED', 'INPROGRESS', 'STOPPED'] as const;

const createBody = z
  .object({
    key: z.string().min(1),
    state: z.enum(STATES),
    name: z.string().optional(),
    description: z.string().optional(),
    url: z.string().optional(),
    refname: z.string().nullable().optional(),
  })
  .passthrough();

const updateBody = createBody.partial().extend({ state: z.enum(STATES) });

export function statusRoutes(sandbox: BitbucketSandbox): Router {
  const router = Router();
  const C = '/repositories/:workspace/:repo_slug/commit/:commit';

  const commitOr404 = (repo: Repository, ref: string): Commit => {
    const commit = sandbox.resolveCommit(repo, ref);
    if (!commit) throw new ApiError(404, 'Commit not found');
    return commit;
  };

  router.post(`${C}/statuses/build`, (req, res) =>
    recordedWrite(sandbox, 'statuses', req, res, () => {
      const ctx = repositoryFor(sandbox, req, res, 'repository');
      const commit = commitOr404(ctx.repo, param(req, 'commit'));
      const body = parseBody(createBody, req);
      const { status } = sandbox.upsertStatus(ctx.repo, commit, body, sandbox.principalActor(ctx.principal));
      return { status: 201, json: sandbox.rep.commitStatus(ctx.repo, status), commit: commit.hash };
    }),
  );

  router.put(`${C}/statuses/build/:key`, (req, res) =>
    recordedWrite(sandbox, 'statuses', req, res, () => {
      const ctx = repositoryFor(sandbox, req, res, 'repository');
      const commit = commitOr404(ctx.repo, param(req, 'commit'));
      const key = param(req, 'key');
      if (!ctx.repo.statuses.get(commit.hash)?.has(key)) throw new ApiError(404, `Build status ${key} not found`);
      const body = parseBody(updateBody, req);
      if (body.key !== undefined && body.key !== key)
        throw ApiError.field('key', 'The key of a status cannot be changed.');
      const { status } = sandbox.upsertStatus(
        ctx.repo,
        commit,
        { ...body, key },
        sandbox.principalActor(ctx.principal),
      );
      return { status: 200, json: sandbox.rep.commitStatus(ctx.repo, status), commit: commit.hash };
    }),
  );

  router.get(`${C}/statuses/build/:key`, (req, res) => {
    const { repo } = repositoryFor(sandbox, req, res, 'repository');
    const commit = commitOr404(repo, param(req, 'commit'));
    const status = repo.statuses.get(commit.hash)?.get(param(req, 'key'));
    if (!status) throw new ApiError(404, `Build status ${param(req, 'key')} not found`);
    res.json(sandbox.rep.commitStatus(repo, status));
  });

  router.get(`${C}/statuses`, (req, res) => {
    const { repo } = repositoryFor(sandbox, req, res, 'repository');
    const commit = commitOr404(repo, param(req, 'commit'));
    const refname = typeof req.query.refname === 'string' ? req.query.refname : undefined;
    // A status without refname matches any refname filter (Bitbucket's OpenAPI spec).
    const list = [...(repo.statuses.get(commit.hash)?.values() ?? [])].filter(
      (s) => refname === undefined || s.refname === null || s.refname === refname,
    );
    res.json(
      paginate(
        req,
        sandbox.baseUrl,
        list.map((s) => sandbox.rep.commitStatus(repo, s)),
      ),
    );
  });

  return router;
}
