import { Router } from 'express';
import { z } from 'zod';
import { ApiError } from '../api-errors';
import { commitsBetween } from '../commit-graph';
import type { PullRequest, Repository } from '../model';
import { paginate } from '../pagination';
import { intParam, parseBody, recordedWrite, repositoryFor } from '../route-context';
import type { BitbucketSandbox } from '../sandbox';

/**
 * Pull requests (scope `pullrequest`): get/list, commits (full hashes, newest first, no `size`),
 * diffstat (302 to the repository diffstat, as Bitbucket answers: a JWT client must re-sign for
 * the Location URL because qsh binds the original path), statuses, comments.
 */
const commentBody = z
  .object({
    content: z.object({ raw: z.string().min(1).max(32_768) }).passthrough(),
    inline: z
      .object({
        path: z.string().min(1),
        to: z.number().int().min(1).optional(),
        from: z.number().int().min(1).optional(),
        start_to: z.number().int().min(1).optional(),
        start_from: z.number().int().min(1).optional(),
      })
      .optional(),
    parent: z.object({ id: z.number().int() }).passthrough().optional(),
    pending: z.boolean().optional(),
  })
  .passthrough();

export function pullRequestRoutes(sandbox: BitbucketSandbox): Router {
  const router = Router();
  const R = '/repositories/:workspace/:repo_slug/pullrequests';

  const prOr404 = (repo: Repository, id: number): PullRequest => {
    const pr = repo.pullRequests.get(id);
    if (!pr) throw new ApiError(404, `Pull request ${id} not found`);
    return pr;
  };

  router.get(R, (req, res) => {
    const { repo } = repositoryFor(sandbox, req, res, 'pullrequest');
    const states = ([] as unknown[]).concat(req.query.state ?? 'OPEN').map(String);
    const list = [...repo.pullRequests.values()].filter((pr) => states.includes(pr.state)).sort((a, b) => b.id - a.id);
    res.json(
      paginate(
        req,
        sandbox.baseUrl,
        list.map((pr) => sandbox.pullRequestJson(repo, pr)),
        { maxPagelen: 50 },
      ),
    );
  });

  router.get(`${R}/:id`, (req, res) => {
    const { repo } = repositoryFor(sandbox, req, res, 'pullrequest');
    res.json(sandbox.pullRequestJson(repo, prOr404(repo, intParam(req, 'id'))));
  });

  router.get(`${R}/:id/commits`, (req, res) => {
    const { repo } = repositoryFor(sandbox, req, res, 'pullrequest');
    const pr = prOr404(repo, intParam(req, 'id'));
    const source = pr.closedSourceHash ?? repo.branches.get(pr.sourceBranch);
    const destination = pr.closedDestinationHash ?? repo.branches.get(pr.destinationBranch) ?? null;
    const commits = source ? commitsBetween(repo, source, destination) : [];
    res.json(
      paginate(
        req,
        sandbox.baseUrl,
        commits.map((c) => sandbox.rep.commit(repo, c)),
        { includeSize: false },
      ),
    );
  });

  router.get(`${R}/:id/diffstat`, (req, res) => {
    const { repo } = repositoryFor(sandbox, req, res, 'pullrequest');
    const pr = prOr404(repo, intParam(req, 'id'));
    const heads = sandbox.pullRequestHeads(repo, pr);
    const spec = `${repo.fullName}:${heads.source.slice(0, 12)}%0D${heads.destination.slice(0, 12)}`;
    res.redirect(302, sandbox.rep.repoApi(repo, `/diffstat/${spec}?from_pullrequest_id=${pr.id}&topic=true`));
  });

  router.get(`${R}/:id/statuses`, (req, res) => {
    const { repo } = repositoryFor(sandbox, req, res, 'pullrequest');
    const pr = prOr404(repo, intParam(req, 'id'));
    const head = sandbox.pullRequestHeads(repo, pr).source;
    const list = [...(repo.statuses.get(head)?.values() ?? [])].map((s) => sandbox.rep.commitStatus(repo, s));
    res.json(paginate(req, sandbox.baseUrl, list));
  });

  router.get(`${R}/:id/comments`, (req, res) => {
    const { repo } = repositoryFor(sandbox, req, res, 'pullrequest');
    const pr = prOr404(repo, intParam(req, 'id'));
    res.json(
      paginate(
        req,
        sandbox.baseUrl,
        pr.comments.map((c) => sandbox.rep.comment(repo, pr, c)),
      ),
    );
  });

  router.get(`${R}/:id/comments/:comment_id`, (req, res) => {
    const { repo } = repositoryFor(sandbox, req, res, 'pullrequest');
    const pr = prOr404(repo, intParam(req, 'id'));
    const c = pr.comments.find((x) => x.id === intParam(req, 'comment_id'));
    if (!c) throw new ApiError(404, 'Comment not found');
    res.json(sandbox.rep.comment(repo, pr, c));
  });

  router.post(`${R}/:id/comments`, (req, res) =>
    recordedWrite(sandbox, 'comments', req, res, () => {
      const ctx = repositoryFor(sandbox, req, res, 'pullrequest');
      const pr = prOr404(ctx.repo, intParam(req, 'id'));
      const body = parseBody(commentBody, req);
      const identity =
        ctx.principal.kind === 'connect' ? ctx.principal.installation.identity : ctx.principal.token.identity;
      const json = sandbox.addComment(
        ctx.repo,
        pr,
        {
          user: null,
          appAuthor: identity,
          raw: body.content.raw,
          inline: body.inline ?? null,
          parentId: body.parent?.id ?? null,
          pending: body.pending ?? false,
        },
        sandbox.principalActor(ctx.principal),
      );
      return { status: 201, json, pullRequestId: pr.id };
    }),
  );

  return router;
}
