import { randomUUID } from 'node:crypto';
import { repositoryName, REPOSITORY_NAME_MESSAGE } from '../repo-param';
import { Router, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { BitbucketAuthError, BitbucketError, BitbucketNotFoundError } from '../../bitbucket';
import type { BitbucketBranchRestriction } from '../../bitbucket/schemas';
import type { AppConfig } from '../../config/app-config';
import { branchGlobMatch } from '../../core/policy';
import { bitbucketClientFor } from '../../pipeline/bitbucket-for-tenant';
import type { Store } from '../../store';
import { ApiError, validationFailed } from '../../http/http-error';
import type { ApiContext, BitbucketForWorkspace, MergeCheckBitbucket } from '../api-context';
import { access, ACCESS, principalOf } from '../../http/authenticate';
import { jsonBody, jsonBodyOf } from '../../http/json-body';
import { zodIssuesToFields } from '../../http/zod-fields';

/**
 * The settings page's blocking checklist (README.md, docs/api.md: classic merge checks block only on Premium):
 *
 * `GET /workspaces/{ws}/repositories/{repo}/merge-checks[?branch=]` reads the repository's branch
 * restrictions and says whether `branch` (default: the repository's main branch) requires passing
 * builds (`require_passing_builds_to_merge`, which counts clawgate's status) and whether merge checks
 * are enforced (`enforce_merge_checks`, Premium). Reading branch restrictions needs the
 * `repository:admin` scope and a repository admin; when Bitbucket refuses, the answer is still 200 with
 * `readable: false` and the reason, so the page can tell the admin to check by hand.
 *
 * `POST /workspaces/{ws}/repositories/{repo}/merge-checks` `{branch?, min_passing_builds?}` creates
 * `require_passing_builds_to_merge` on that branch (201), or answers 200 when one already covers it.
 * Audited as `merge_check.created`.
 *
 * Neither makes a merge impossible by itself: on Free and Standard plans merge checks only warn; only
 * Premium's enforced merge checks, or a Forge merge check, prevent the merge. The answer says which.
 */

export const REQUIRE_PASSING_BUILDS = 'require_passing_builds_to_merge';
export const ENFORCE_MERGE_CHECKS = 'enforce_merge_checks';

/** The app's Bitbucket client for a workspace's active installation (Connect JWT or access token). */
export function createBitbucketForWorkspace(deps: {
  store: Pick<Store, 'tenants'>;
  config: AppConfig;
  logger: Logger;
  fetch?: typeof globalThis.fetch;
}): BitbucketForWorkspace {
  return async (workspaceId) => {
    const tenant = (await deps.store.tenants.listForWorkspace(workspaceId)).find(
      (candidate) => candidate.uninstalledAt === null,
    );
    if (tenant === undefined)
      throw new ApiError(409, 'NO_INSTALLATION', 'this workspace has no active clawgate installation');
    return bitbucketClientFor(tenant, deps.config, deps.logger, `merge-checks:${randomUUID()}`, deps.fetch);
  };
}

// A branch name as Bitbucket stores it in a restriction pattern: no whitespace or control characters.
const branchName = z
  .string()
  .min(1)
  .max(255)
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  .refine((name) => !/[\u0000-\u0020\u007f]/.test(name), 'must be a branch name without whitespace');

const getQuery = z.strictObject({ branch: branchName.optional() });
const createBody = z.strictObject({
  branch: branchName.optional(),
  min_passing_builds: z.number().int().min(1).max(100).optional(),
});

/**
 * Bitbucket's restriction patterns are globs where `*` matches any characters, `/` included
 * (Bitbucket's branch-restriction docs) — not picomatch's globs; matched in linear time by the core's branch glob.
 */
export function branchPatternMatches(pattern: string, branch: string): boolean {
  return branchGlobMatch(pattern, branch);
}

interface RestrictionView {
  id: number;
  kind: string;
  pattern: string | null;
  branch_type: string | null;
  value: number | null;
}

function view(restriction: BitbucketBranchRestriction): RestrictionView {
  return {
    id: restriction.id,
    kind: restriction.kind,
    pattern: restriction.pattern ?? null,
    branch_type: restriction.branch_type ?? null,
    value: restriction.value ?? null,
  };
}

/** Restrictions of `kind` that name `branch` by glob. Branching-model restrictions are listed apart: which branch a type means is not known here. */
function covering(
  restrictions: readonly BitbucketBranchRestriction[],
  kind: string,
  branch: string,
): { matching: RestrictionView[]; branchingModel: RestrictionView[] } {
  const ofKind = restrictions.filter((restriction) => restriction.kind === kind);
  return {
    matching: ofKind
      .filter(
        (restriction) =>
          restriction.branch_match_kind !== 'branching_model' &&
          typeof restriction.pattern === 'string' &&
          branchPatternMatches(restriction.pattern, branch),
      )
      .map(view),
    branchingModel: ofKind.filter((restriction) => restriction.branch_match_kind === 'branching_model').map(view),
  };
}

function pathParams(request: Request): { repo: string } {
  // The slug or the full name (%2F-encoded); the routes below need the slug.
  const name = repositoryName(request.params.repo, principalOf(request));
  if (name === null || !name.own)
    throw new ApiError(400, 'INVALID_PATH', 'the repository in the path is invalid', [
      { path: 'repo', message: REPOSITORY_NAME_MESSAGE },
    ]);
  return { repo: name.slug };
}

function bitbucketFailure(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof BitbucketNotFoundError)
    return new ApiError(
      404,
      'REPOSITORY_NOT_FOUND',
      'Bitbucket has no such repository in this workspace (or clawgate may not see it)',
    );
  if (error instanceof BitbucketAuthError) {
    return new ApiError(
      502,
      'BITBUCKET_REFUSED',
      'Bitbucket refused: changing branch restrictions needs the repository:admin scope and a repository admin. Add the merge check in Repository settings → Branch restrictions.',
    );
  }
  if (error instanceof BitbucketError)
    return new ApiError(
      502,
      'BITBUCKET_UNAVAILABLE',
      'Bitbucket could not be reached or answered with an error; try again',
    );
  throw error;
}

export function mergeCheckRoutes(
  context: ApiContext,
  bitbucketForWorkspace: BitbucketForWorkspace | undefined,
): Router {
  const router = Router({ mergeParams: true });
  const path = '/repositories/:repo/merge-checks';

  async function repositoryContext(request: Request): Promise<{
    client: MergeCheckBitbucket;
    workspace: string;
    repo: string;
    fullName: string;
    mainBranch: string | null;
  }> {
    const principal = principalOf(request);
    const { repo } = pathParams(request);
    if (bitbucketForWorkspace === undefined)
      throw new ApiError(501, 'NOT_IMPLEMENTED', 'merge checks are not available on this server');
    const workspace = principal.workspaceSlug ?? principal.workspaceId;
    try {
      const client = await bitbucketForWorkspace(principal.workspaceId);
      const repository = await client.getRepository(workspace, repo);
      return {
        client,
        workspace,
        repo,
        fullName: repository.full_name,
        mainBranch: repository.mainbranch?.name ?? null,
      };
    } catch (error) {
      throw bitbucketFailure(error);
    }
  }

  router.get(path, access(ACCESS.administer), async (request: Request, response: Response) => {
    const query = getQuery.safeParse(request.query);
    if (!query.success)
      throw new ApiError(
        400,
        'INVALID_QUERY',
        'the query parameters are invalid',
        zodIssuesToFields(query.error.issues),
      );
    const target = await repositoryContext(request);
    const branch = query.data.branch ?? target.mainBranch;
    const base = { repository: target.fullName, branch };
    if (branch === null) {
      response.json({
        ...base,
        readable: false,
        problem: { code: 'NO_MAIN_BRANCH', message: 'the repository has no main branch yet; name a branch' },
      });
      return;
    }
    let restrictions: BitbucketBranchRestriction[];
    try {
      restrictions = await target.client.listBranchRestrictions(target.workspace, target.repo);
    } catch (error) {
      if (error instanceof BitbucketAuthError) {
        response.json({
          ...base,
          readable: false,
          problem: {
            code: 'BITBUCKET_ACCESS_DENIED',
            message:
              'Bitbucket did not let clawgate read branch restrictions (they need the repository:admin scope and a repository admin). Check them in Repository settings → Branch restrictions.',
          },
        });
        return;
      }
      throw bitbucketFailure(error);
    }
    const builds = covering(restrictions, REQUIRE_PASSING_BUILDS, branch);
    const enforce = covering(restrictions, ENFORCE_MERGE_CHECKS, branch);
    const requiresBuilds = builds.matching.length > 0;
    const enforced = enforce.matching.length > 0;
    response.json({
      ...base,
      readable: true,
      require_passing_builds: {
        present: requiresBuilds,
        restrictions: builds.matching,
        branching_model_restrictions: builds.branchingModel,
      },
      enforce_merge_checks: {
        present: enforced,
        restrictions: enforce.matching,
        branching_model_restrictions: enforce.branchingModel,
      },
      // What a FAILED clawgate status does to a merge on this branch, as far as restrictions tell.
      blocking: requiresBuilds ? (enforced ? 'enforced_if_premium' : 'warning_only') : 'not_checked',
    });
  });

  router.post(
    path,
    access(ACCESS.administer),
    ...jsonBody({ limit: 4096, required: false }),
    async (request: Request, response: Response) => {
      const principal = principalOf(request);
      const body = createBody.safeParse(jsonBodyOf(request)?.value ?? {});
      if (!body.success)
        throw validationFailed(zodIssuesToFields(body.error.issues), 'the merge check request is invalid');
      const target = await repositoryContext(request);
      const branch = body.data.branch ?? target.mainBranch;
      if (branch === null)
        throw validationFailed([{ path: 'branch', message: 'the repository has no main branch yet; name a branch' }]);
      try {
        const existing = covering(
          await target.client.listBranchRestrictions(target.workspace, target.repo, { kind: REQUIRE_PASSING_BUILDS }),
          REQUIRE_PASSING_BUILDS,
          branch,
        ).matching;
        const first = existing[0];
        if (first !== undefined) {
          response.status(200).json({ created: false, repository: target.fullName, branch, restriction: first });
          return;
        }
        const created = await target.client.createBranchRestriction(target.workspace, target.repo, {
          kind: REQUIRE_PASSING_BUILDS,
          branch_match_kind: 'glob',
          pattern: branch,
          value: body.data.min_passing_builds ?? 1,
        });
        await context.store.audit.append(principal.workspaceId, {
          actor: principal.actor,
          kind: 'merge_check.created',
          subject: `${target.fullName}:${branch}`,
          repo: target.fullName,
          after: {
            restriction_id: created.id,
            kind: REQUIRE_PASSING_BUILDS,
            pattern: branch,
            value: created.value ?? null,
          },
        });
        response.status(201).json({ created: true, repository: target.fullName, branch, restriction: view(created) });
      } catch (error) {
        throw bitbucketFailure(error);
      }
    },
  );

  return router;
}
