import type { JobQueue } from '../queue/job-queue';
import type { Store } from '../store';
import { EVALUATION_JOB, type EvaluationJob } from './webhook-events';

/** Queues a re-evaluation of a PR without a new commit (the API's recheck and the PR comment share it). */
export type RequestRecheck = (workspaceId: string, repoFullName: string, prId: number, actor: string) => Promise<{ jobId: string }>;

/**
 * Queues a re-evaluation of a PR's current head without a new commit (design §9): the API's
 * `POST …/recheck` and the `/clawgate recheck` comment both come here. The job's trigger `recheck`
 * makes the evaluation skip the "is this still the head?" check and evaluate whatever the head is
 * now; its key is unique per request, so a finished evaluation of the same head never swallows it.
 */
export function createRecheckRequester(deps: { store: Store; queue: JobQueue; now?: () => number }): RequestRecheck {
  const now = deps.now ?? Date.now;
  let sequence = 0;
  return async (workspaceId, repoFullName, prId, actor) => {
    const tenants = await deps.store.tenants.listForWorkspace(workspaceId);
    const tenant = tenants.find((t) => !t.uninstalledAt);
    if (!tenant) throw new Error('workspace has no active installation');
    const requestId = `${now()}-${(sequence += 1)}`;
    const job: EvaluationJob = { workspaceId, clientKey: tenant.clientKey, repoFullName, prId, headHint: '0000000', trigger: 'recheck', deliveryId: `recheck:${actor}:${requestId}` };
    const result = await deps.queue.enqueue(EVALUATION_JOB, job, { key: `${workspaceId}/${repoFullName}#${prId}@recheck:${requestId}` });
    return { jobId: result.id };
  };
}
