import type { Logger } from 'pino';
import { z } from 'zod';
import type { BitbucketClient } from '../bitbucket';
import type { AppConfig } from '../config/app-config';
import { clawgateVerdictForCommit, type CommitVerdict } from '../pipeline/commit-verdict';
import { EVALUATION_JOB, type EvaluationJob } from '../pipeline/webhook-events';
import type { JobQueue } from '../queue/job-queue';
import { pullRequestJobKey } from '../queue/pull-request-job-key';
import type { Store, Tenant } from '../store';
import { bracedUuid } from './product-events';

/**
 * The `bitbucket:mergeCheck` answer (docs/forge.md §3): `{success, message}` from what clawgate has
 * decided about the PR's **current** head — the same content as the `clawgate` build status
 * (commit-verdict.ts: an incident on the head outranks a verdict; no verdict is FAILED). When there is
 * no verdict yet, an evaluation is queued (deduped with the one the PR event queued) and awaited for at
 * most the time budget. Anything else — an unreadable body, a workspace that is not the installation's,
 * Bitbucket unreachable, the budget spent, a pending or failing verdict — answers `success: false`
 * with a message that says why and links the details. Only a SUCCESSFUL verdict or status content
 * for the exact head lets the merge through.
 *
 * The remote's body is the bare invocation or `{payload: …, context?}` (UNCONFIRMED); both parse.
 */

const uuid = z.string().regex(/^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$/);

export const MERGE_CHECK_TRIGGERS = ['on-code-pushed', 'on-reviewer-status-changed', 'on-merge'] as const;

export const mergeCheckInvocationSchema = z.looseObject({
  workspace: z.looseObject({ uuid }),
  repository: z.looseObject({ uuid }),
  pullrequest: z.looseObject({ id: z.number().int().positive() }),
  trigger: z.looseObject({ type: z.string().max(64) }).optional(),
  mergeProperties: z.looseObject({}).optional(),
});

export type MergeCheckInvocation = z.infer<typeof mergeCheckInvocationSchema>;

export interface MergeCheckAnswer {
  readonly success: boolean;
  readonly message: string;
}

/** Shown in Bitbucket's merge-check card; long messages are cut here, not by Bitbucket. */
export const MERGE_CHECK_MESSAGE_MAX = 1000;
/** How long a check waits for a verdict that is being computed (below the 5 s event limit). */
export const DEFAULT_MERGE_CHECK_BUDGET_MS = 4_000;
const POLL_INTERVAL_MS = 100;

export function parseMergeCheckBody(body: unknown): MergeCheckInvocation | null {
  const direct = mergeCheckInvocationSchema.safeParse(body);
  if (direct.success) return direct.data;
  if (typeof body === 'object' && body !== null && 'payload' in body) {
    const wrapped = mergeCheckInvocationSchema.safeParse((body as { payload: unknown }).payload);
    if (wrapped.success) return wrapped.data;
  }
  return null;
}

function answer(success: boolean, message: string): MergeCheckAnswer {
  return {
    success,
    message: message.length > MERGE_CHECK_MESSAGE_MAX ? `${message.slice(0, MERGE_CHECK_MESSAGE_MAX - 1)}…` : message,
  };
}

/** Verdict content → answer: only SUCCESSFUL passes; the message names the state and links the details. */
export function answerFromVerdict(verdict: CommitVerdict): MergeCheckAnswer {
  const { state, description, url } = verdict.content;
  if (state === 'SUCCESSFUL') return answer(true, `clawgate: ${description} — ${url}`);
  if (state === 'INPROGRESS')
    return answer(false, `clawgate: verification pending (${description}). Re-run the check when it finishes — ${url}`);
  return answer(false, `clawgate: ${description} — ${url}`);
}

export interface MergeCheckDeps {
  readonly store: Store;
  readonly queue: JobQueue;
  readonly config: Pick<AppConfig, 'baseUrl'>;
  readonly logger: Logger;
  readonly budgetMs?: number;
  /** Clock for the budget (tests). */
  readonly nowMs?: () => number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function runMergeCheck(
  deps: MergeCheckDeps,
  tenant: Tenant,
  client: BitbucketClient,
  invocation: MergeCheckInvocation,
  requestId: string,
): Promise<MergeCheckAnswer> {
  const nowMs = deps.nowMs ?? Date.now;
  const deadline = nowMs() + (deps.budgetMs ?? DEFAULT_MERGE_CHECK_BUDGET_MS);
  const log = deps.logger.child({
    component: 'forge-merge-check',
    requestId,
    workspace: tenant.workspaceId,
    pr: invocation.pullrequest.id,
    trigger: invocation.trigger?.type,
  });
  if (bracedUuid(invocation.workspace.uuid) !== tenant.workspaceId) {
    log.warn({ bodyWorkspace: invocation.workspace.uuid }, 'merge check names another workspace than its installation');
    return answer(false, 'clawgate: this check was asked about a workspace clawgate is not installed in for this app.');
  }
  const workspace = tenant.workspaceId;
  const repository = bracedUuid(invocation.repository.uuid);
  const pr = await client.getPullRequest(workspace, repository, invocation.pullrequest.id);
  const repoFullName = pr.destination.repository.full_name;
  const headSha = await client.resolveCommitHash(workspace, repository, pr.source.commit.hash);
  let verdict = await clawgateVerdictForCommit(deps.store, deps.config, workspace, repoFullName, headSha);
  if (verdict.basis === 'none') {
    const job: EvaluationJob = {
      workspaceId: workspace,
      clientKey: tenant.clientKey,
      repoFullName,
      prId: pr.id,
      headHint: headSha,
      trigger: `forge:merge-check:${invocation.trigger?.type ?? 'unknown'}`,
      deliveryId: requestId,
    };
    const key = pullRequestJobKey({ workspaceId: workspace, repoFullName, prId: pr.id, headSha: headSha.slice(0, 12) });
    const queued = await deps.queue.enqueue(EVALUATION_JOB, job, key);
    log.info({ jobId: queued.id, deduped: queued.deduped }, 'no verdict for the head; evaluation queued');
    while (verdict.basis === 'none' && nowMs() + POLL_INTERVAL_MS < deadline) {
      await sleep(POLL_INTERVAL_MS);
      verdict = await clawgateVerdictForCommit(deps.store, deps.config, workspace, repoFullName, headSha);
    }
    if (verdict.basis === 'none') {
      log.info('no verdict within the budget');
      return answer(
        false,
        `clawgate: verification of ${headSha.slice(0, 12)} is still running. Re-run this check in a moment — ${verdict.content.url}`,
      );
    }
  }
  const result = answerFromVerdict(verdict);
  log.info({ success: result.success, basis: verdict.basis, state: verdict.content.state }, 'merge check answered');
  return result;
}
