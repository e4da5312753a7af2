import { BitbucketError, type RepositoryPermission } from '../../bitbucket';
import { agentIdentityOf } from '../agent-identities';
import { RecheckRateLimitedError } from '../recheck';
import { recheckRefusal } from '../recheck-rule';
import { recheckAcknowledgement, accountName } from '../../render/operations-text';
import { auditActor, type OperationContext } from './operations-context';
import type { CommentJob } from '../operations-events';

/**
 * `/clawgate recheck` as a PR comment (docs/api.md re-check): re-runs the evaluation of the PR's
 * current head without a new commit, like `POST /api/v1/…/recheck`. Only a human with write (or
 * admin) permission on the repository may ask: an agent identity never triggers its own re-check,
 * and a reader's comment is ignored — both audited as `pullrequest.recheck_refused`. A permission
 * that cannot be read (the app may not list repository permissions) counts as no permission.
 * An accepted request is audited like the API's (`pullrequest.recheck_requested`) and answered
 * with a reply to the comment.
 */

/** A line consisting of the command alone (case-insensitive), anywhere in the comment. */
const COMMAND = /^[ \t]*\/clawgate[ \t]+recheck[ \t]*$/im;

export function isRecheckCommand(content: string): boolean {
  return COMMAND.test(content);
}

export type RecheckCommandOutcome =
  | { outcome: 'requested'; jobId: string; permission: RepositoryPermission }
  | {
      outcome: 'refused';
      reason: 'agent_identity' | 'unknown_actor' | 'no_write_access' | 'permission_unknown' | 'rate_limited';
      permission?: RepositoryPermission;
    };

async function refuse(
  ctx: OperationContext,
  job: CommentJob,
  reason: Extract<RecheckCommandOutcome, { outcome: 'refused' }>['reason'],
  permission?: RepositoryPermission,
  error?: string,
): Promise<RecheckCommandOutcome> {
  await ctx.deps.store.audit.append(ctx.tenant.workspaceId, {
    actor: auditActor(job.actor.uuid),
    kind: 'pullrequest.recheck_refused',
    subject: `${job.repoFullName}#${job.prId}`,
    repo: job.repoFullName,
    prId: job.prId,
    after: {
      reason,
      via: 'pr_comment',
      comment_id: job.commentId,
      delivery_id: job.deliveryId,
      ...(permission !== undefined ? { permission } : {}),
      ...(error !== undefined ? { error } : {}),
    },
  });
  ctx.log.info({ reason, pr: job.prId }, 're-check by comment refused');
  return { outcome: 'refused', reason, ...(permission !== undefined ? { permission } : {}) };
}

export async function handleRecheckCommand(ctx: OperationContext, job: CommentJob): Promise<RecheckCommandOutcome> {
  if (agentIdentityOf(ctx.settings, job.actor.uuid) !== null) return refuse(ctx, job, 'agent_identity');
  if (job.actor.uuid === null) return refuse(ctx, job, 'unknown_actor');
  let permission: RepositoryPermission;
  try {
    permission = await ctx.client.getRepositoryPermission(ctx.workspace, ctx.repoSlug, {
      uuid: job.actor.uuid.toLowerCase(),
    });
  } catch (error) {
    // Transient trouble retries the job; a refusal (403, bad input) means we cannot know: no re-check.
    if (error instanceof BitbucketError && !error.transient)
      return refuse(ctx, job, 'permission_unknown', undefined, error.code);
    throw error;
  }
  // The same rule as the API's re-check (recheck-rule.ts); the agent check above also runs first there.
  const refusal = recheckRefusal(ctx.settings, job.actor.uuid, permission);
  if (refusal !== null) return refuse(ctx, job, refusal, permission);
  const actor = auditActor(job.actor.uuid);
  let jobId: string;
  try {
    ({ jobId } = await ctx.deps.requestRecheck(ctx.tenant.workspaceId, job.repoFullName, job.prId, actor));
  } catch (error) {
    // The PR's re-check budget (shared with the API's re-check) is spent: refused, not retried.
    if (error instanceof RecheckRateLimitedError) return refuse(ctx, job, 'rate_limited', permission);
    throw error;
  }
  await ctx.deps.store.audit.append(ctx.tenant.workspaceId, {
    actor,
    kind: 'pullrequest.recheck_requested',
    subject: `${job.repoFullName}#${job.prId}`,
    repo: job.repoFullName,
    prId: job.prId,
    after: { job_id: jobId, via: 'pr_comment', comment_id: job.commentId, permission, delivery_id: job.deliveryId },
  });
  try {
    // The reply must not itself read as a command (the command is quoted, never alone on a line).
    await ctx.client.postPullRequestComment(ctx.workspace, ctx.repoSlug, job.prId, {
      raw: recheckAcknowledgement(accountName(job.actor)),
      parentId: job.commentId,
    });
  } catch (error) {
    // The re-check is queued; a missing acknowledgement is not worth re-queuing it for.
    ctx.log.warn(
      { err: error instanceof Error ? error.message : String(error) },
      'could not acknowledge the re-check comment',
    );
  }
  return { outcome: 'requested', jobId, permission };
}
