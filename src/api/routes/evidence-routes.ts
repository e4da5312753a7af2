import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { isJsonObject } from '../../core/clawsig/json';
import { recordedInputSchema } from '../../evidence/engine-input';
import { evidencePackFor } from '../../evidence/pack-for-evaluation';
import type { EvaluationRecord } from '../../store';
import { ApiError } from '../../http/http-error';
import type { ApiContext } from '../api-context';
import { access, ACCESS, authorizeRepository, principalOf, readsOwnUploadsOnly } from '../../http/authenticate';
import { zodIssuesToFields } from '../../http/zod-fields';

/**
 * Issue 12's reads, all scoped to the caller's workspace (another workspace's id is a 404):
 * - `GET …/evaluations/{id}/evidence`: the signed evidence pack (evidence-pack.ts), exact bytes.
 * - `GET …/evaluations/{id}/trust-pulse`: the Trust Pulse the evaluation read, exactly as received.
 * - `GET …/agent-runs?limit=&before=`: the workspace's recent agent runs (evaluations of agent PRs,
 *   newest first) with their verdicts and Trust Pulse summaries: the review page's data.
 * The pulse is served, never logged: none of these routes logs a body.
 */

const MAX_RUNS_PAGE = 100;

const runsQuerySchema = z.strictObject({
  limit: z
    .string()
    .regex(/^\d{1,3}$/, `must be 1..${MAX_RUNS_PAGE}`)
    .transform(Number)
    .refine((n) => n >= 1 && n <= MAX_RUNS_PAGE, `must be 1..${MAX_RUNS_PAGE}`)
    .optional(),
  before: z.iso
    .datetime({ offset: true })
    .transform((v) => new Date(v))
    .optional(),
});

async function evaluationOf(context: ApiContext, request: Request): Promise<EvaluationRecord> {
  const { workspaceId } = principalOf(request);
  const id = request.params.id;
  const evaluation = typeof id === 'string' ? await context.store.evaluations.get(workspaceId, id) : null;
  if (evaluation === null)
    throw new ApiError(404, 'EVALUATION_NOT_FOUND', 'this workspace has no evaluation with that id');
  return evaluation;
}

function field(value: unknown, key: string): unknown {
  return isJsonObject(value) ? value[key] : undefined;
}

/** One row of the review page: who, where, the verdict, and what the harness reported (summary only). */
function agentRunView(evaluation: EvaluationRecord): Record<string, unknown> {
  const verdict = evaluation.verdict;
  const pulse = field(verdict, 'trust_pulse');
  const summary = field(pulse, 'summary');
  const comparison = field(pulse, 'comparison');
  const count = (key: string) => {
    const list = field(comparison, key);
    return Array.isArray(list) ? list.length : 0;
  };
  return {
    id: evaluation.id,
    repo: evaluation.repoFullName,
    pr_id: evaluation.prId,
    pr_url: evaluation.prUrl,
    head_sha: evaluation.headSha,
    state: evaluation.state,
    reason_code: field(verdict, 'reason_code') ?? null,
    mode: evaluation.mode,
    agent_did: field(field(verdict, 'proof'), 'agentDid') ?? null,
    bundle_id: evaluation.bundleId,
    created_at: evaluation.createdAt.toISOString(),
    trust_pulse: {
      status: field(pulse, 'status') ?? 'absent',
      problem: field(pulse, 'problem') ?? null,
      tools: field(summary, 'tools') ?? [],
      duration_ms: field(summary, 'duration_ms') ?? null,
      files_reported: Array.isArray(field(summary, 'files')) ? (field(summary, 'files') as unknown[]).length : 0,
      unreported_diff_paths: count('unreported_diff_paths'),
      reported_not_in_diff: count('reported_not_in_diff'),
      reported_denied: count('reported_denied'),
      redacted: count('redacted'),
    },
  };
}

/** A person (or a link session) reads an evaluation's evidence like the evaluation (authenticate.ts). */
async function authorizeEvaluationViewer(
  request: Request,
  evaluation: { id: string; repoFullName: string },
): Promise<void> {
  const principal = principalOf(request);
  if (
    principal.linkEvaluationId !== undefined &&
    principal.linkEvaluationId.toLowerCase() !== evaluation.id.toLowerCase()
  ) {
    throw new ApiError(
      403,
      'LINK_SESSION_FORBIDDEN',
      'a page opened from a link may read only the evaluation it names',
    );
  }
  if (readsOwnUploadsOnly(principal))
    throw new ApiError(
      403,
      'INSUFFICIENT_SCOPE',
      'this token lacks the scope this request needs (one of: read, admin)',
    );
  await authorizeRepository(request, evaluation.repoFullName);
}

export function evidenceRoutes(context: ApiContext): Router {
  const router = Router({ mergeParams: true });

  router.get(
    '/evaluations/:id/evidence',
    access(ACCESS.readEvaluationEvidence),
    async (request: Request, response: Response) => {
      const principal = principalOf(request);
      const evaluation = await evaluationOf(context, request);
      await authorizeEvaluationViewer(request, evaluation);
      const outcome = await evidencePackFor(
        context.store,
        { uuid: principal.workspaceId, slug: principal.workspaceSlug },
        evaluation,
        context.now(),
      );
      if (!outcome.ok) {
        if (outcome.code === 'EVIDENCE_TOKEN_LIVE')
          response.setHeader('Retry-After', String(outcome.retryAfterSeconds));
        throw new ApiError(409, outcome.code, outcome.message);
      }
      await context.store.audit.append(principal.workspaceId, {
        actor: principal.actor,
        kind: 'evidence.exported',
        subject: evaluation.id,
        after: { signer_did: outcome.signerDid },
        repo: evaluation.repoFullName,
        prId: evaluation.prId,
      });
      response.setHeader('Content-Disposition', `attachment; filename="clawgate-evidence-${evaluation.id}.json"`);
      response.setHeader('X-Evidence-Signer', outcome.signerDid);
      response.type('application/json; charset=utf-8').send(outcome.text);
    },
  );

  router.get(
    '/evaluations/:id/trust-pulse',
    access(ACCESS.readEvaluationEvidence),
    async (request: Request, response: Response) => {
      const evaluation = await evaluationOf(context, request);
      await authorizeEvaluationViewer(request, evaluation);
      let pulse: unknown;
      if (evaluation.engineInput !== null) {
        const recorded = recordedInputSchema.safeParse(JSON.parse(evaluation.engineInput) as unknown);
        pulse = recorded.success ? recorded.data.trust_pulse : undefined;
      }
      if (pulse === undefined) throw new ApiError(404, 'TRUST_PULSE_NOT_FOUND', 'this evaluation read no Trust Pulse');
      response.setHeader('Content-Disposition', `attachment; filename="clawgate-trust-pulse-${evaluation.id}.json"`);
      response.type('application/json; charset=utf-8').send(typeof pulse === 'string' ? pulse : JSON.stringify(pulse));
    },
  );

  router.get('/agent-runs', access(ACCESS.readAgentRuns), async (request: Request, response: Response) => {
    const { workspaceId, linkEvaluationId } = principalOf(request);
    // A link session: only the agent-runs page's own link, never a details link's.
    if (linkEvaluationId !== undefined && linkEvaluationId !== 'page:agent-runs')
      throw new ApiError(403, 'LINK_SESSION_FORBIDDEN', 'a page opened from a link may read only what the link names');
    const query = runsQuerySchema.safeParse(request.query);
    if (!query.success)
      throw new ApiError(
        400,
        'INVALID_QUERY',
        'the query parameters are invalid',
        zodIssuesToFields(query.error.issues),
      );
    const limit = query.data.limit ?? 50;
    // Human PRs (NOT_APPLICABLE) are not agent runs; read a few pages' worth to fill one page of runs.
    const rows = await context.store.evaluations.listRecent(workspaceId, {
      limit: Math.min(limit * 4, 500),
      ...(query.data.before ? { before: query.data.before } : {}),
    });
    const runs = rows.filter((r) => r.state !== 'NOT_APPLICABLE').slice(0, limit);
    const last = rows[rows.length - 1];
    response.json({
      runs: runs.map(agentRunView),
      next_before: rows.length === Math.min(limit * 4, 500) && last ? last.createdAt.toISOString() : null,
    });
  });

  return router;
}
