import type { Logger } from 'pino';
import { BitbucketError } from '../../bitbucket';
import type { Job, JobHandler } from '../../queue/job-queue';
import { openJobContext } from '../job-context';
import { handleCommitStatus } from './forged-status';
import { handleAgentComment, handleFulfilled, handlePush } from './incidents';
import type { OperationContext, OperationsDeps } from './operations-context';
import { operationsJobSchema, type OperationsJob } from '../operations-events';
import { handleRecheckCommand, isRecheckCommand } from './recheck-command';

/**
 * Runs one operations job (operations-events.ts): incidents from pushes, merges and agent comments,
 * the `/clawgate recheck` comment, and the forged-status defence. Transient Bitbucket trouble
 * retries the job; anything else is logged and the job ends (a retry could not succeed).
 */
export async function runOperation(job: OperationsJob, deps: OperationsDeps): Promise<void> {
  const log: Logger = deps.logger.child({
    deliveryId: job.deliveryId,
    event: job.eventKey,
    workspace: job.workspaceId,
    repo: job.repoFullName,
  });
  // The forged-status defence may read from the API budget's write reserve (api-budget.ts): a
  // restore must still go out when an agent has spent the installation's reads.
  const opened = await openJobContext(deps, job, log, 'tenant missing or uninstalled; operations job dropped', {
    priority: job.kind === 'commit_status',
  });
  if (opened === null) return;
  const ctx: OperationContext = {
    ...opened,
    deps,
    settings: (await deps.store.settings.get(job.workspaceId)).settings,
    job,
  };
  switch (job.kind) {
    case 'push':
      await handlePush(ctx, job);
      return;
    case 'pr_fulfilled':
      await handleFulfilled(ctx, job);
      return;
    case 'pr_comment':
      // An agent's comment is judged as comment_pr whether or not it also asks for a re-check.
      if (isRecheckCommand(job.content)) await handleRecheckCommand(ctx, job);
      await handleAgentComment(ctx, job);
      return;
    case 'commit_status':
      await handleCommitStatus(ctx, job);
      return;
  }
}

export function createOperationsHandler(deps: OperationsDeps): JobHandler {
  return async (queued: Job) => {
    const parsed = operationsJobSchema.safeParse(queued.payload);
    if (!parsed.success) {
      deps.logger.error({ jobId: queued.id }, 'operations job payload invalid; dropped');
      return;
    }
    try {
      await runOperation(parsed.data, deps);
    } catch (error) {
      if (error instanceof BitbucketError && !error.transient) {
        deps.logger.error(
          { jobId: queued.id, kind: parsed.data.kind, err: { name: error.name, message: error.message } },
          'operations job failed; not retried',
        );
        return;
      }
      throw error;
    }
  };
}
