import { Router } from 'express';
import { z } from 'zod';
import { ApiError } from '../api-errors';
import type { BranchRestriction, Repository, User } from '../model';
import { paginate } from '../pagination';
import { intParam, parseBody, recordedWrite, repositoryFor } from '../route-context';
import type { BitbucketSandbox } from '../sandbox';

/**
 * Branch restrictions (scope `repository:admin`). One restriction per (kind, pattern) or
 * (kind, branch_type); a duplicate answers 409. Numeric kinds carry `value`.
 */
export const RESTRICTION_KINDS = [
  'push',
  'delete',
  'force',
  'restrict_merges',
  'require_tasks_to_be_completed',
  'require_approvals_to_merge',
  'require_review_group_approvals_to_merge',
  'require_default_reviewer_approvals_to_merge',
  'require_no_changes_requested',
  'require_passing_builds_to_merge',
  'require_commits_behind',
  'reset_pullrequest_approvals_on_change',
  'smart_reset_pullrequest_approvals',
  'reset_pullrequest_changes_requested_on_change',
  'require_all_dependencies_merged',
  'enforce_merge_checks',
  'allow_auto_merge_when_builds_pass',
  'require_all_comments_resolved',
] as const;

const BRANCH_TYPES = ['feature', 'bugfix', 'release', 'hotfix', 'development', 'production'] as const;

const restrictionBody = z
  .object({
    kind: z.enum(RESTRICTION_KINDS),
    branch_match_kind: z.enum(['glob', 'branching_model']).default('glob'),
    pattern: z.string().optional(),
    branch_type: z.enum(BRANCH_TYPES).optional(),
    value: z.number().int().min(0).nullable().optional(),
    users: z
      .array(z.object({ uuid: z.string().optional(), account_id: z.string().optional() }).passthrough())
      .optional(),
    groups: z.array(z.unknown()).optional(),
  })
  .passthrough();

export function branchRestrictionRoutes(sandbox: BitbucketSandbox): Router {
  const router = Router();
  const B = '/repositories/:workspace/:repo_slug/branch-restrictions';

  const restrictionOr404 = (repo: Repository, id: number): BranchRestriction => {
    const r = repo.branchRestrictions.get(id);
    if (!r) throw new ApiError(404, `Branch restriction ${id} not found`);
    return r;
  };

  const usersOf = (list: { uuid?: string; account_id?: string }[] | undefined): User[] =>
    (list ?? []).map((u) => {
      const ref = u.account_id ?? u.uuid;
      if (ref === undefined) throw ApiError.field('users', 'Each user needs a uuid or account_id.');
      try {
        return sandbox.user(ref);
      } catch {
        throw ApiError.field('users', `User ${ref} not found.`);
      }
    });

  router.get(B, (req, res) => {
    const { repo } = repositoryFor(sandbox, req, res, 'repository:admin');
    const kind = typeof req.query.kind === 'string' ? req.query.kind : undefined;
    const pattern = typeof req.query.pattern === 'string' ? req.query.pattern : undefined;
    const list = [...repo.branchRestrictions.values()].filter(
      (r) => (kind === undefined || r.kind === kind) && (pattern === undefined || r.pattern === pattern),
    );
    res.json(
      paginate(
        req,
        sandbox.baseUrl,
        list.map((r) => sandbox.rep.branchRestriction(repo, r)),
      ),
    );
  });

  router.post(B, (req, res) =>
    recordedWrite(sandbox, 'branchRestrictions', req, res, () => {
      const ctx = repositoryFor(sandbox, req, res, 'repository:admin');
      const body = parseBody(restrictionBody, req);
      if (body.branch_match_kind === 'glob' && !body.pattern)
        throw ApiError.field('pattern', 'This field is required.');
      if (body.branch_match_kind === 'branching_model' && !body.branch_type)
        throw ApiError.field('branch_type', 'This field is required.');
      const pattern = body.branch_match_kind === 'glob' ? (body.pattern ?? '') : '';
      const branchType = body.branch_match_kind === 'branching_model' ? (body.branch_type ?? null) : null;
      const duplicate = [...ctx.repo.branchRestrictions.values()].some(
        (r) =>
          r.kind === body.kind &&
          r.branchMatchKind === body.branch_match_kind &&
          r.pattern === pattern &&
          r.branchType === branchType,
      );
      if (duplicate)
        throw new ApiError(409, `A branch restriction of kind ${body.kind} already exists for this branch.`);
      const restriction: BranchRestriction = {
        id: ctx.repo.nextBranchRestrictionId++,
        kind: body.kind,
        branchMatchKind: body.branch_match_kind,
        pattern,
        branchType,
        value: body.value ?? null,
        users: usersOf(body.users),
        groups: [],
      };
      ctx.repo.branchRestrictions.set(restriction.id, restriction);
      return { status: 201, json: sandbox.rep.branchRestriction(ctx.repo, restriction) };
    }),
  );

  router.get(`${B}/:id`, (req, res) => {
    const { repo } = repositoryFor(sandbox, req, res, 'repository:admin');
    res.json(sandbox.rep.branchRestriction(repo, restrictionOr404(repo, intParam(req, 'id'))));
  });

  router.put(`${B}/:id`, (req, res) =>
    recordedWrite(sandbox, 'branchRestrictions', req, res, () => {
      const ctx = repositoryFor(sandbox, req, res, 'repository:admin');
      const r = restrictionOr404(ctx.repo, intParam(req, 'id'));
      const body = parseBody(restrictionBody.partial(), req);
      if (body.kind !== undefined) r.kind = body.kind;
      if (body.pattern !== undefined) r.pattern = body.pattern;
      if (body.value !== undefined) r.value = body.value;
      if (body.users !== undefined) r.users = usersOf(body.users);
      return { status: 200, json: sandbox.rep.branchRestriction(ctx.repo, r) };
    }),
  );

  router.delete(`${B}/:id`, (req, res) =>
    recordedWrite(sandbox, 'branchRestrictions', req, res, () => {
      const ctx = repositoryFor(sandbox, req, res, 'repository:admin');
      restrictionOr404(ctx.repo, intParam(req, 'id'));
      ctx.repo.branchRestrictions.delete(intParam(req, 'id'));
      return { status: 204 };
    }),
  );

  return router;
}
