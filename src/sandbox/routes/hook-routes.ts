import { Router } from 'express';
import { z } from 'zod';
import { ApiError } from '../api-errors';
import type { Repository, RepositoryHook } from '../model';
import { paginate } from '../pagination';
import { param, parseBody, recordedWrite, repositoryFor } from '../route-context';
import type { BitbucketSandbox } from '../sandbox';

/**
 * Repository webhooks (scope `webhook`): the repository-webhook surface registers its hook with a
 * `secret` (≤ 128 chars, write-only: answers carry `secret_set`), and deliveries then carry
 * `X-Hub-Signature: sha256=<hex HMAC>`.
 */
export const HOOK_EVENTS = [
  'issue:comment_created',
  'issue:created',
  'issue:updated',
  'pipeline:span_created',
  'project:updated',
  'pullrequest:approved',
  'pullrequest:changes_request_created',
  'pullrequest:changes_request_removed',
  'pullrequest:comment_created',
  'pullrequest:comment_deleted',
  'pullrequest:comment_reopened',
  'pullrequest:comment_resolved',
  'pullrequest:comment_updated',
  'pullrequest:created',
  'pullrequest:fulfilled',
  'pullrequest:push',
  'pullrequest:rejected',
  'pullrequest:unapproved',
  'pullrequest:updated',
  'repo:commit_comment_created',
  'repo:commit_status_created',
  'repo:commit_status_updated',
  'repo:created',
  'repo:deleted',
  'repo:fork',
  'repo:imported',
  'repo:push',
  'repo:transfer',
  'repo:updated',
] as const;

const hookBody = z
  .object({
    url: z.string().url().max(2048),
    description: z.string().max(255).optional(),
    active: z.boolean().optional(),
    events: z.array(z.enum(HOOK_EVENTS)).min(1),
    secret: z.string().max(128).nullable().optional(),
  })
  .passthrough();

export function hookRoutes(sandbox: BitbucketSandbox): Router {
  const router = Router();
  const H = '/repositories/:workspace/:repo_slug/hooks';

  const hookOr404 = (repo: Repository, uid: string): RepositoryHook => {
    const id = uid.startsWith('{') ? uid : `{${uid}}`;
    const hook = repo.hooks.get(id);
    if (!hook) throw new ApiError(404, `Webhook ${uid} not found`);
    return hook;
  };

  router.get(H, (req, res) => {
    const { repo } = repositoryFor(sandbox, req, res, 'webhook');
    res.json(
      paginate(
        req,
        sandbox.baseUrl,
        [...repo.hooks.values()].map((h) => sandbox.rep.hook(repo, h)),
      ),
    );
  });

  router.post(H, (req, res) =>
    recordedWrite(sandbox, 'hooks', req, res, () => {
      const ctx = repositoryFor(sandbox, req, res, 'webhook');
      const body = parseBody(hookBody, req);
      const hook = sandbox.storeHook(ctx.repo, {
        url: body.url,
        events: body.events,
        secret: body.secret ?? null,
        description: body.description ?? '',
        active: body.active ?? true,
      });
      return { status: 201, json: sandbox.rep.hook(ctx.repo, hook) };
    }),
  );

  router.get(`${H}/:uid`, (req, res) => {
    const { repo } = repositoryFor(sandbox, req, res, 'webhook');
    res.json(sandbox.rep.hook(repo, hookOr404(repo, param(req, 'uid'))));
  });

  router.put(`${H}/:uid`, (req, res) =>
    recordedWrite(sandbox, 'hooks', req, res, () => {
      const ctx = repositoryFor(sandbox, req, res, 'webhook');
      const hook = hookOr404(ctx.repo, param(req, 'uid'));
      const body = parseBody(hookBody.partial(), req);
      if (body.url !== undefined) hook.url = body.url;
      if (body.description !== undefined) hook.description = body.description;
      if (body.active !== undefined) hook.active = body.active;
      if (body.events !== undefined) hook.events = [...new Set(body.events)];
      if (body.secret !== undefined) hook.secret = body.secret;
      return { status: 200, json: sandbox.rep.hook(ctx.repo, hook) };
    }),
  );

  router.delete(`${H}/:uid`, (req, res) =>
    recordedWrite(sandbox, 'hooks', req, res, () => {
      const ctx = repositoryFor(sandbox, req, res, 'webhook');
      const hook = hookOr404(ctx.repo, param(req, 'uid'));
      ctx.repo.hooks.delete(hook.uuid);
      return { status: 204 };
    }),
  );

  return router;
}
