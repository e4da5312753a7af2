import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { JobQueue } from '../queue/job-queue';
import type { Store } from '../store';
import { EVALUATION_JOB, type EvaluationJob } from './webhook-events';

/** Queues a re-evaluation of a PR without a new commit (the API's recheck and the PR comment share it). */
export type RequestRecheck = (
  workspaceId: string,
  repoFullName: string,
  prId: number,
  actor: string,
) => Promise<{ jobId: string }>;

/** A PR was re-checked too often; nothing was queued. */
export class RecheckRateLimitedError extends Error {
  override readonly name = 'RecheckRateLimitedError';
  constructor(readonly retryAfterSeconds: number) {
    super('too many re-checks of this pull request');
  }
}

/** Re-checks one PR may get per window, whoever asks and by whichever path (default 10 per 10 minutes). */
export const DEFAULT_RECHECKS_PER_PULL_REQUEST = { points: 10, windowSeconds: 600 } as const;

/**
 * Queues a re-evaluation of a PR's current head without a new commit (docs/api.md): the API's
 * `POST …/recheck` and the `/clawgate recheck` comment both come here. The job's trigger `recheck`
 * makes the evaluation skip the "is this still the head?" check and evaluate whatever the head is
 * now; its key is unique per request, so a finished evaluation of the same head never swallows it.
 * Each is a whole evaluation against the workspace's API budget, so one PR gets at most
 * `perPullRequest` re-checks per window on all paths together (RecheckRateLimitedError; counted in
 * this process, rate-limiter-flexible's in-memory limiter).
 */
export function createRecheckRequester(deps: {
  store: Store;
  queue: JobQueue;
  now?: () => number;
  perPullRequest?: { points: number; windowSeconds: number };
}): RequestRecheck {
  const now = deps.now ?? Date.now;
  const window = deps.perPullRequest ?? DEFAULT_RECHECKS_PER_PULL_REQUEST;
  const limiter = new RateLimiterMemory({
    points: window.points,
    duration: window.windowSeconds,
    keyPrefix: 'recheck-pr',
  });
  let sequence = 0;
  return async (workspaceId, repoFullName, prId, actor) => {
    try {
      await limiter.consume(`${workspaceId}/${repoFullName}#${prId}`);
    } catch (error) {
      if (error instanceof RateLimiterRes)
        throw new RecheckRateLimitedError(Math.max(1, Math.ceil(error.msBeforeNext / 1000)));
      throw error;
    }
    const tenants = await deps.store.tenants.listForWorkspace(workspaceId);
    const tenant = tenants.find((t) => !t.uninstalledAt);
    if (!tenant) throw new Error('workspace has no active installation');
    const requestId = `${now()}-${(sequence += 1)}`;
    const job: EvaluationJob = {
      workspaceId,
      clientKey: tenant.clientKey,
      repoFullName,
      prId,
      headHint: '0000000',
      trigger: 'recheck',
      deliveryId: `recheck:${actor}:${requestId}`,
    };
    const result = await deps.queue.enqueue(EVALUATION_JOB, job, {
      key: `${workspaceId}/${repoFullName}#${prId}@recheck:${requestId}`,
    });
    return { jobId: result.id };
  };
}

/** How far back an evaluation marks a PR as one to re-evaluate after a rollback (PRs idle longer are not). */
export const ROLLBACK_LOOKBACK_MS = 30 * 24 * 60 * 60 * 1000;
/** PRs re-evaluated per rollback (newest first); the periodic reconciliation reaches any others. */
export const ROLLBACK_MAX_PULL_REQUESTS = 200;

export type ReevaluateAgentPullRequests = (
  workspaceId: string,
  reason: string,
  actor: string,
) => Promise<{ queued: number }>;

/**
 * Rollback reaches open PRs (issue 9): a revocation, the kill switch (on or off), a trust list,
 * issuer or policy assignment change re-evaluates the workspace's agent PRs (those whose latest
 * evaluation was not NOT_APPLICABLE), newest first, without waiting for a push. Each job names the
 * head last evaluated: a PR that moved on is evaluated by its own newer job, a closed one is skipped
 * (one API read each).
 */
export function createAgentPullRequestReevaluator(deps: {
  store: Store;
  queue: JobQueue;
  now?: () => number;
}): ReevaluateAgentPullRequests {
  const now = deps.now ?? Date.now;
  let sequence = 0;
  return async (workspaceId, reason, actor) => {
    const tenant = (await deps.store.tenants.listForWorkspace(workspaceId)).find((t) => !t.uninstalledAt);
    if (!tenant) return { queued: 0 };
    const latest = await deps.store.evaluations.latestPerPullRequest(workspaceId, {
      since: new Date(now() - ROLLBACK_LOOKBACK_MS),
      limit: ROLLBACK_MAX_PULL_REQUESTS,
    });
    const requestId = `${now()}-${(sequence += 1)}`;
    let queued = 0;
    for (const record of latest) {
      if (record.state === 'NOT_APPLICABLE') continue;
      const job: EvaluationJob = {
        workspaceId,
        clientKey: tenant.clientKey,
        repoFullName: record.repoFullName,
        prId: record.prId,
        headHint: record.headSha,
        trigger: `rollback:${reason}`.slice(0, 64),
        deliveryId: `rollback:${actor}:${requestId}`.slice(0, 128),
      };
      await deps.queue.enqueue(EVALUATION_JOB, job, {
        key: `${workspaceId}/${record.repoFullName}#${record.prId}@rollback:${requestId}`,
      });
      queued += 1;
    }
    return { queued };
  };
}
