import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { enforcementModeSchema, MAX_ASSIGNMENTS, type PolicyAssignment } from '../../store';
import { compilePicomatchGlob } from '../../core/policy';
import { validationFailed } from '../../http/http-error';
import { reevaluateAfterChange, type ApiContext } from '../api-context';
import { access, ACCESS, principalOf } from '../../http/authenticate';
import { jsonBody, jsonBodyOf } from '../../http/json-body';
import { zodIssuesToFields } from '../../http/zod-fields';

/**
 * `GET|PUT /workspaces/{ws}/assignments`: the ordered list of `{repo, policy_hash_b64u, mode?}`
 * (the first glob matching a repository's full name wins). PUT replaces the whole list in one
 * transaction; every hash must name an active policy of this workspace (422 UNKNOWN_POLICY with the
 * field path of each unknown hash), and nothing changes when anything is refused.
 */

function globProblem(glob: string): string | undefined {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f\s]/.test(glob)) return 'must not contain whitespace or control characters';
  if (glob.startsWith('/')) return 'must not start with "/"';
  // `*` does not cross `/`: a glob without the workspace part could never match a full name.
  if (!glob.includes('/') && !glob.includes('**'))
    return 'is matched against "workspace/repo_slug": include the workspace part, e.g. "*/proj-*"';
  if (glob.includes('!(')) return 'must not use a negated extglob !(…) (not supported by the linear-time matcher)';
  try {
    compilePicomatchGlob(glob, { nocase: true });
  } catch {
    return 'is not a valid glob';
  }
  return undefined;
}

const repoGlob = z
  .string()
  .min(1)
  .max(512)
  .superRefine((glob, ctx) => {
    const problem = globProblem(glob);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

const assignmentsBodySchema = z
  .array(
    z.strictObject({
      repo: repoGlob,
      policy_hash_b64u: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a policy hash (43 base64url characters)'),
      mode: enforcementModeSchema.nullable().optional(),
    }),
  )
  .max(MAX_ASSIGNMENTS)
  .superRefine((items, ctx) => {
    // A later duplicate of a glob can never win: refuse it rather than keep dead configuration.
    const seen = new Map<string, number>();
    items.forEach((item, index) => {
      const first = seen.get(item.repo);
      if (first === undefined) seen.set(item.repo, index);
      else
        ctx.addIssue({
          code: 'custom',
          path: [index, 'repo'],
          message: `duplicate of [${first}]; the first match wins`,
        });
    });
  });

function view(assignment: PolicyAssignment): Record<string, unknown> {
  return { repo: assignment.repoGlob, policy_hash_b64u: assignment.policyHashB64u, mode: assignment.mode };
}

export function assignmentRoutes(context: ApiContext): Router {
  const router = Router({ mergeParams: true });

  router.get('/assignments', access(ACCESS.readWorkspace), async (request: Request, response: Response) => {
    const { workspaceId } = principalOf(request);
    response.json((await context.store.assignments.list(workspaceId)).map(view));
  });

  router.put(
    '/assignments',
    access(ACCESS.administer),
    ...jsonBody({ limit: context.config.maxBodyBytes, required: true }),
    async (request: Request, response: Response) => {
      const principal = principalOf(request);
      const parsed = assignmentsBodySchema.safeParse(jsonBodyOf(request)?.value);
      if (!parsed.success)
        throw validationFailed(zodIssuesToFields(parsed.error.issues), 'the assignments are invalid');
      // Checked here for field paths; the store checks again inside its transaction (a policy
      // retired in between still fails, just without a path).
      const known = new Set(
        (await context.store.policies.list(principal.workspaceId)).map((policy) => policy.policyHashB64u),
      );
      const unknown = parsed.data.flatMap((item, index) =>
        known.has(item.policy_hash_b64u)
          ? []
          : [{ path: `[${index}].policy_hash_b64u`, message: 'no active policy with this hash in this workspace' }],
      );
      if (unknown.length > 0)
        throw validationFailed(unknown, 'an assignment names a policy this workspace does not have', 'UNKNOWN_POLICY');
      const saved = await context.store.assignments.replace(
        principal.workspaceId,
        parsed.data.map((item) => ({
          repoGlob: item.repo,
          policyHashB64u: item.policy_hash_b64u,
          mode: item.mode ?? null,
        })),
        principal.actor,
      );
      await reevaluateAfterChange(context, response, principal.workspaceId, 'assignments', principal.actor);
      response.json(saved.map(view));
    },
  );

  return router;
}
