import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { MAX_TRUST_PULSE_BYTES } from '../../core/clawsig/trust-pulse';
import { isJsonObject } from '../../core/clawsig/json';
import type { ConsumedId } from '../../core/anti-replay';
import { changeSetFileSchema } from '../../core/policy/change-set-schema';
import { verifyAndEvaluate, type EvaluationInput } from '../../core/verdict';
import { agentIdentityOf } from '../../pipeline/agent-identities';
import { engineSettingsFrom } from '../../pipeline/engine-settings';
import { policyForRepository } from '../../pipeline/repository-policy';
import { verdictToJson } from '../../render/verdict-json';
import { validationFailed } from '../../http/http-error';
import type { ApiContext } from '../api-context';
import { access, ACCESS, principalOf } from '../../http/authenticate';
import { jsonBody, jsonBodyOf } from '../../http/json-body';
import { zodIssuesToFields } from '../../http/zod-fields';

/**
 * `POST /workspaces/{ws}/preflight` (issue 12): the agent asks, BEFORE it opens the PR, what clawgate
 * will answer. Same engine, same settings (trusted gateways, CST issuers, revocations, freeze), the
 * WPC assigned to the repository and the ids other PRs already consumed — so the same verdict and
 * reason codes as the PR will get, provided the PR carries the same commits and files. Nothing is
 * stored or consumed. `clawgate agent preflight --service` builds the body from the local git diff.
 *
 * Body: `{repo, bundle, urm?, trust_pulse?, scoped_token?, pr_id?, change: {files, commits,
 * source_branch, destination_branch, head}}`; the acting identity is the registered agent whose DID
 * signed the bundle (the account that will open the PR).
 */

const MAX_CHANGE_ALLOWANCE = 8 * 1024 * 1024;

const bodySchema = z.strictObject({
  repo: z.string().regex(/^[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+$/, 'must be "workspace/repo_slug"'),
  bundle: z.unknown(),
  urm: z.record(z.string(), z.unknown()).optional(),
  trust_pulse: z.unknown().optional(),
  scoped_token: z
    .string()
    .max(16 * 1024)
    .optional(),
  pr_id: z.number().int().positive().optional(),
  change: z.strictObject({
    source_branch: z.string().min(1).max(255),
    destination_branch: z.string().min(1).max(255),
    head: z.string().regex(/^[0-9a-f]{40}$/),
    files: changeSetFileSchema.shape.files,
    commits: changeSetFileSchema.shape.commits,
  }),
});

export function preflightRoutes(context: ApiContext): Router {
  const router = Router({ mergeParams: true });
  router.post(
    '/preflight',
    access(ACCESS.preflight),
    ...jsonBody({
      limit: context.config.maxBundleBytes + MAX_TRUST_PULSE_BYTES + MAX_CHANGE_ALLOWANCE,
      required: true,
    }),
    async (request: Request, response: Response) => {
      const principal = principalOf(request);
      const body = bodySchema.safeParse(jsonBodyOf(request)?.value);
      if (!body.success)
        throw validationFailed(zodIssuesToFields(body.error.issues), 'the preflight request is invalid');
      const { repo, change } = body.data;
      const [workspace, repoSlug] = repo.split('/') as [string, string];
      const { settings } = await context.store.settings.get(principal.workspaceId);
      const assignment = await policyForRepository(context.store, principal.workspaceId, repo);
      const mode = assignment.mode ?? settings.mode;
      const payload =
        isJsonObject(body.data.bundle) && isJsonObject(body.data.bundle.payload) ? body.data.bundle.payload : undefined;
      const agentDid = typeof payload?.agent_did === 'string' ? payload.agent_did : undefined;
      const bundleId = typeof payload?.bundle_id === 'string' ? payload.bundle_id : undefined;
      const registered = settings.agents.find((a) => agentDid !== undefined && a.agent_did === agentDid);
      const identity = registered ? agentIdentityOf(settings, registered.account_uuid) : null;
      const input: EvaluationInput = {
        nowMs: context.now().getTime(),
        profile: 'clawgate',
        settings: engineSettingsFrom(settings, mode),
        bundle: body.data.bundle,
        ...(body.data.scoped_token !== undefined ? { scopedToken: body.data.scoped_token } : {}),
        ...(assignment.policy ? { policy: assignment.policy } : { evidenceError: 'WPC_NOT_ASSIGNED' as const }),
        ...(body.data.urm !== undefined ? { urm: body.data.urm } : {}),
        ...(body.data.trust_pulse !== undefined ? { trustPulse: body.data.trust_pulse } : {}),
        change: {
          workspace,
          repoSlug,
          repoFullName: repo,
          action: 'create_pr',
          actor: {
            accountId: registered?.account_uuid ?? 'unregistered-agent',
            ...(identity
              ? {
                  agentIdentity: {
                    role: identity.role,
                    ...(identity.agentDid ? { agentDid: identity.agentDid } : {}),
                    ...(identity.revoked ? { revoked: true } : {}),
                  },
                }
              : {}),
          },
          // Without a PR id yet, any id another PR consumed is a replay (as it will be on the PR).
          pullRequest: {
            id: body.data.pr_id ?? 0,
            sourceBranch: change.source_branch,
            destinationBranch: change.destination_branch,
            headCommit: change.head,
            declaredBundleIds: bundleId ? [bundleId] : [],
          },
          files: change.files,
          commits: change.commits,
          approvals: [],
          agentIdentities: settings.agents.map((a) => ({
            accountId: a.account_uuid,
            role: a.role,
            ...(a.agent_did ? { agentDid: a.agent_did } : {}),
          })),
        },
      };
      let verdict = await verifyAndEvaluate(input);
      if (verdict.consume.length > 0) {
        const consumed = await context.store.consumedIds.findConsumed(principal.workspaceId, verdict.consume);
        const known: ConsumedId[] = consumed.map((r) => ({
          kind: r.kind as ConsumedId['kind'],
          value: r.value,
          repoFullName: r.firstRepo,
          pullRequestId: r.firstPrId,
        }));
        verdict = await verifyAndEvaluate({ ...input, consumed: known });
      }
      response.json({ preflight: true, ...verdictToJson(verdict, `${repo} (preflight)`) });
    },
  );
  return router;
}
