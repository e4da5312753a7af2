import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  BitbucketAuthError,
  BitbucketNotFoundError,
  PageCapExceededError,
  type BitbucketBranchRestriction,
} from '../../bitbucket';
import type { WriteAction } from '../../core/policy/change-set';
import { agentIdentityOf, type AgentIdentityMatch } from '../agent-identities';
import { policyForRepository } from '../repository-policy';
import type { Incident, IncidentAction } from '../../store';
import { raiseAlert } from '../alert-webhook';
import { INCIDENT_AUDIT_KIND, type IncidentRecord } from '../incident-record';
import { accountName, incidentDetail } from '../../render/operations-text';
import { auditActor, type OperationContext } from './operations-context';
import type { CommentJob, FulfilledJob, PushJob } from '../operations-events';
import { branchProtection } from './protected-branches';
import { writeClawgateStatus } from '../publish';
import { failedStatusFor } from '../../core/verdict';
import { clip, incidentDescription } from '../../render/status-text';
import { incidentUrl } from '../status-urls';
import { judgeWriteAction, type WriteActionDecision } from '../../core/policy/write-action-policy';

/**
 * Incidents (docs/operations.md): write actions an agent identity already took that its WPC does not allow.
 * Seen through webhooks — a push to the main or a protected branch (`direct_push_main`), a branch
 * deletion (`delete_branch`), a merge (`merge_pr`), a PR comment (`comment_pr`) — and judged with
 * the engine's policy semantics (write-action-policy.ts). Each one is an audit event of kind
 * `incident` and, where a commit exists (the pushed head, the merge commit, the PR head), a `clawgate`
 * status on it: FAILED in enforce mode; in observe and warn, which never fail a build (docs/operations.md),
 * SUCCESSFUL with the incident named in the description.
 */

export interface IncidentInput {
  action: WriteAction;
  agent: AgentIdentityMatch;
  branch: string | null;
  /** Full 40-hex commit that gets the status, or null (a deleted branch). */
  commit: string | null;
  prId: number | null;
  /** Short human text for the status and the audit, e.g. "Claw Bot pushed 1a2b3c4d5e6f to main". */
  detail: string;
  /** Extra facts for the audit record (e.g. why the branch counts as protected). */
  facts?: Record<string, unknown>;
}

/** What `recordIncident` records: a write action, or a forged `clawgate` status (forged-status.ts). */
export type RecordedIncidentInput = Omit<IncidentInput, 'action'> & { action: IncidentAction };

export type IncidentOutcome =
  | { recorded: false; reasonCode: 'OK' }
  | { recorded: true; duplicate: boolean; auditId: number; incidentId: string; reasonCode: string };

async function findRecorded(ctx: OperationContext, input: RecordedIncidentInput): Promise<Incident | null> {
  return ctx.deps.store.incidents.findRecorded(ctx.tenant.workspaceId, ctx.job.repoFullName, {
    deliveryId: ctx.job.deliveryId,
    action: input.action,
    commit: input.commit,
    branch: input.branch,
  });
}

/** Judges the action; when the WPC does not allow it, records the incident and marks the commit. */
export async function recordIncidentIfDenied(ctx: OperationContext, input: IncidentInput): Promise<IncidentOutcome> {
  const { deps, tenant, job } = ctx;
  const assignment = await policyForRepository(deps.store, tenant.workspaceId, job.repoFullName);
  const decision = judgeWriteAction(assignment.policy, {
    workspace: ctx.workspace,
    repoSlug: ctx.repoSlug,
    repoFullName: job.repoFullName,
    action: input.action,
    actor: {
      accountId: input.agent.accountUuid,
      role: input.agent.role,
      ...(job.actor.displayName ? { displayName: job.actor.displayName } : {}),
    },
  });
  if (!decision.denied) {
    ctx.log.info({ action: input.action }, 'agent write action allowed by the WPC');
    return { recorded: false, reasonCode: 'OK' };
  }
  return recordIncident(ctx, input, decision, { markCommit: true });
}

/**
 * Records a denied action as an incident (its own row and audit event, one transaction), raises an
 * alert for it (alert-webhook.ts; never blocks or fails the job) and, with `markCommit`, writes the
 * incident's status on its commit.
 */
export async function recordIncident(
  ctx: OperationContext,
  input: RecordedIncidentInput,
  decision: WriteActionDecision,
  options: { markCommit: boolean },
): Promise<IncidentOutcome> {
  const { deps, tenant, job } = ctx;
  const assignment = await policyForRepository(deps.store, tenant.workspaceId, job.repoFullName);
  // A retried job (the status write failed after the audit event was written) must not record twice.
  const existing = await findRecorded(ctx, input);
  if (existing) {
    if (options.markCommit)
      await markCommit(
        ctx,
        input,
        existing.statusState,
        existing.statusDescription,
        existing.statusUrl,
        existing.createdAt.getTime(),
      );
    return {
      recorded: true,
      duplicate: true,
      auditId: existing.auditEventId ?? 0,
      incidentId: existing.incidentId,
      reasonCode: decision.reasonCode,
    };
  }
  const mode = assignment.mode ?? ctx.settings.mode;
  const incidentId = randomUUID();
  // An incident is a failed verdict on its commit: FAILED in enforce mode, reported otherwise.
  const statusState = input.commit === null ? null : failedStatusFor(mode);
  const statusDescription = input.commit === null ? null : incidentDescription(mode, input.action, input.detail);
  const statusUrl = input.commit === null ? null : incidentUrl(deps.config, incidentId);
  const record: IncidentRecord = {
    incident_id: incidentId,
    action: input.action,
    reason_code: decision.reasonCode,
    actor: { uuid: input.agent.accountUuid, display_name: job.actor.displayName },
    repo: job.repoFullName,
    branch: input.branch,
    commit: input.commit,
    pr_id: input.prId,
    wpc_hash: assignment.policy?.hash ?? null,
    mode,
    status_state: statusState,
    status_description: statusDescription,
    status_url: statusUrl,
    event: job.eventKey,
    delivery_id: job.deliveryId,
    checks: decision.checks,
  };
  const subject = `${job.repoFullName}${input.prId !== null ? `#${input.prId}` : ''}${input.branch !== null ? `@${input.branch}` : ''}`;
  const { event } = await deps.store.incidents.record(
    tenant.workspaceId,
    {
      incidentId,
      repoFullName: job.repoFullName,
      action: input.action,
      branch: input.branch,
      commit: input.commit,
      prId: input.prId,
      deliveryId: job.deliveryId,
      statusState,
      statusDescription,
      statusUrl,
    },
    {
      actor: auditActor(input.agent.accountUuid),
      kind: INCIDENT_AUDIT_KIND,
      subject: clip(subject, 512),
      after: { ...record, detail: input.detail, ...(input.facts ? { facts: input.facts } : {}) },
      repo: job.repoFullName,
      prId: input.prId,
    },
  );
  ctx.log.warn(
    {
      action: input.action,
      reason: decision.reasonCode,
      commit: input.commit,
      branch: input.branch,
      auditId: event.id,
    },
    'incident recorded',
  );
  await alertIncident(ctx, record, input.detail);
  if (options.markCommit) await markCommit(ctx, input, statusState, statusDescription, statusUrl, event.at.getTime());
  return { recorded: true, duplicate: false, auditId: event.id, incidentId, reasonCode: decision.reasonCode };
}

/** The incident as an alert to the workspace's webhook; a failure to queue it is logged, never thrown. */
async function alertIncident(ctx: OperationContext, record: IncidentRecord, detail: string): Promise<void> {
  try {
    await raiseAlert(
      ctx.deps.store,
      ctx.tenant.workspaceId,
      {
        kind: 'incident',
        subject: clip(`${record.action} in ${record.repo}: ${detail}`, 512),
        data: {
          incident_id: record.incident_id,
          action: record.action,
          reason_code: record.reason_code,
          actor: record.actor,
          repo: record.repo,
          branch: record.branch,
          commit: record.commit,
          pr_id: record.pr_id,
          mode: record.mode,
          status_state: record.status_state,
          detail: clip(detail, 512),
          details_url: record.status_url,
        },
      },
      ctx.deps.wakeAlerts,
    );
  } catch (error) {
    ctx.log.error(
      { err: error instanceof Error ? error.message : String(error), incident: record.incident_id },
      'incident alert not queued',
    );
  }
}

async function markCommit(
  ctx: OperationContext,
  input: RecordedIncidentInput,
  state: 'FAILED' | 'SUCCESSFUL' | null,
  description: string | null,
  url: string | null,
  atMs: number,
): Promise<void> {
  if (input.commit === null || state === null || description === null || url === null) return;
  await writeClawgateStatus(
    ctx.client,
    ctx.deps.statusMarker,
    { workspace: ctx.workspace, repoSlug: ctx.repoSlug, commit: input.commit },
    { state, description, url, refname: input.branch },
    atMs,
  );
}

// ------------------------------------------------------------------ repo:push

const mergedPullRequestSchema = z.looseObject({
  state: z.string(),
  merge_commit: z.looseObject({ hash: z.string() }).nullish(),
  destination: z.looseObject({ branch: z.looseObject({ name: z.string() }) }),
});

const MERGE_MESSAGE = /\(pull request #(\d{1,10})\)/;

/**
 * A PR merge also arrives as a `repo:push` of the destination (seen in captured payloads). That push is the merge
 * (`merge_pr`, from pullrequest:fulfilled), not a direct push: recognised when the head's message
 * names "(pull request #N)" and PR #N is MERGED into this branch with exactly this merge commit.
 * A fast-forward merge has no such message and counts as a push (documented limitation).
 */
async function isMergeOfPullRequest(
  ctx: OperationContext,
  branch: string,
  head: string,
  message: string | null,
): Promise<boolean> {
  const match = message === null ? null : MERGE_MESSAGE.exec(message);
  if (!match) return false;
  try {
    const pr = mergedPullRequestSchema.safeParse(
      await ctx.client.getPullRequest(ctx.workspace, ctx.repoSlug, Number(match[1])),
    );
    if (!pr.success) return false;
    const mergeHash = pr.data.merge_commit?.hash.toLowerCase();
    return (
      pr.data.state === 'MERGED' &&
      pr.data.destination.branch.name === branch &&
      mergeHash !== undefined &&
      mergeHash.length >= 7 &&
      head.startsWith(mergeHash)
    );
  } catch (error) {
    if (error instanceof BitbucketNotFoundError) return false;
    throw error;
  }
}

/** Pages of `commits/{new}?exclude={old}` read to record the pushers of a truncated push (100 each). */
const TRUNCATED_PUSH_PAGES = 10;

/**
 * A truncated push listed 5 of its commits; the rest are read here and recorded with the same pusher
 * (issue 9). A push longer than the cap leaves its oldest commits without a recorded pusher: those
 * count as pushed by an unknown account (fail closed).
 */
async function recordTruncatedPush(ctx: OperationContext, job: PushJob): Promise<void> {
  for (const change of job.changes) {
    if (!change.truncated || change.closed || change.newHash === null || change.newType === 'tag') continue;
    try {
      const commits = await ctx.client.listCommitsBetween(
        ctx.workspace,
        ctx.repoSlug,
        change.newHash,
        change.oldHash,
        TRUNCATED_PUSH_PAGES,
      );
      await ctx.deps.store.commitPushes.record(ctx.tenant.workspaceId, job.repoFullName, {
        commits: commits.map((c) => c.hash),
        pusherUuid: job.actor.uuid,
        branch: change.newName,
        deliveryId: job.deliveryId,
      });
    } catch (error) {
      if (!(error instanceof PageCapExceededError)) throw error;
      ctx.log.warn({ branch: change.newName }, 'push too long to record every pusher; the rest count as unknown');
    }
  }
}

export async function handlePush(ctx: OperationContext, job: PushJob): Promise<IncidentOutcome[]> {
  await recordTruncatedPush(ctx, job);
  const agent = agentIdentityOf(ctx.settings, job.actor.uuid);
  if (!agent) return [];
  const who = accountName(job.actor);
  const outcomes: IncidentOutcome[] = [];
  let mainBranch: string | null | undefined;
  let restrictions: BitbucketBranchRestriction[] | null | undefined;
  for (const change of job.changes) {
    if (change.closed) {
      if (change.oldName === null || change.oldType === 'tag') continue;
      // Only from facts (issue 9): the branch must really be gone now, asked of the API, not of the body.
      if (await ctx.client.branchExists(ctx.workspace, ctx.repoSlug, change.oldName)) {
        ctx.log.warn({ branch: change.oldName }, 'push says the branch was deleted but it exists: no incident');
        continue;
      }
      outcomes.push(
        await recordIncidentIfDenied(ctx, {
          action: 'delete_branch',
          agent,
          branch: change.oldName,
          commit: null,
          prId: null,
          detail: incidentDetail({ action: 'delete_branch', who, branch: change.oldName }),
          facts: { old_head: change.oldHash, confirmed: 'branch_not_found' },
        }),
      );
      continue;
    }
    if (change.newName === null || change.newHash === null || change.newType === 'tag') continue;
    if (mainBranch === undefined)
      mainBranch = (await ctx.client.getRepository(ctx.workspace, ctx.repoSlug)).mainbranch?.name ?? null;
    if (restrictions === undefined) {
      try {
        restrictions = await ctx.client.listBranchRestrictions(ctx.workspace, ctx.repoSlug);
      } catch (error) {
        // Reading restrictions needs repository:admin, which the Connect app does not request:
        // then only the main branch counts as protected (logged, and said in the incident facts).
        if (!(error instanceof BitbucketAuthError)) throw error;
        ctx.log.warn(
          'branch restrictions unreadable (needs repository:admin); only the main branch counts as protected',
        );
        restrictions = null;
      }
    }
    const protection = branchProtection(change.newName, mainBranch, restrictions);
    if (!protection.protected) continue;
    const head = await ctx.client.resolveCommitHash(ctx.workspace, ctx.repoSlug, change.newHash);
    if (await isMergeOfPullRequest(ctx, change.newName, head, change.newMessage)) continue;
    outcomes.push(
      await recordIncidentIfDenied(ctx, {
        action: 'direct_push_main',
        agent,
        branch: change.newName,
        commit: head,
        prId: null,
        detail: incidentDetail({ action: 'direct_push_main', who, commit: head, branch: change.newName }),
        facts: {
          protection: protection.reasons,
          restrictions_readable: restrictions !== null,
          old_head: change.oldHash,
        },
      }),
    );
  }
  return outcomes;
}

// ------------------------------------------------------------------ pullrequest:fulfilled

/**
 * What the API says about a PR the webhook calls merged (issue 9, incidents only from facts): the
 * event key and delivery id are outside the webhook's signature, so the body is a claim. The PR must
 * be MERGED now, and when the body names a merge commit it must be the one the API names.
 */
async function confirmedMerge(
  ctx: OperationContext,
  job: FulfilledJob,
): Promise<{ commit: string | null; branch: string } | null> {
  let pr: z.infer<typeof mergedPullRequestSchema>;
  try {
    const parsed = mergedPullRequestSchema.safeParse(
      await ctx.client.getPullRequest(ctx.workspace, ctx.repoSlug, job.prId),
    );
    if (!parsed.success) return null;
    pr = parsed.data;
  } catch (error) {
    if (error instanceof BitbucketNotFoundError) return null;
    throw error;
  }
  if (pr.state !== 'MERGED') return null;
  const apiMerge = pr.merge_commit?.hash.toLowerCase() ?? null;
  if (
    job.mergeCommit !== null &&
    apiMerge !== null &&
    !(apiMerge.startsWith(job.mergeCommit) || job.mergeCommit.startsWith(apiMerge))
  )
    return null;
  const mergeCommit = apiMerge ?? job.mergeCommit;
  return {
    commit: mergeCommit === null ? null : await ctx.client.resolveCommitHash(ctx.workspace, ctx.repoSlug, mergeCommit),
    branch: pr.destination.branch.name,
  };
}

export async function handleFulfilled(ctx: OperationContext, job: FulfilledJob): Promise<IncidentOutcome | null> {
  const agent = agentIdentityOf(ctx.settings, job.actor.uuid);
  if (!agent) return null;
  const merge = await confirmedMerge(ctx, job);
  if (merge === null) {
    ctx.log.warn(
      { pr: job.prId },
      'a merge the API does not confirm (the PR is not MERGED, or another merge commit): no incident',
    );
    return null;
  }
  return recordIncidentIfDenied(ctx, {
    action: 'merge_pr',
    agent,
    branch: merge.branch,
    commit: merge.commit,
    prId: job.prId,
    detail: incidentDetail({
      action: 'merge_pr',
      who: accountName(job.actor),
      prId: job.prId,
      destinationBranch: merge.branch,
    }),
    facts: { confirmed: 'pull_request_merged' },
  });
}

// ------------------------------------------------------------------ pullrequest:comment_created

export async function handleAgentComment(ctx: OperationContext, job: CommentJob): Promise<IncidentOutcome | null> {
  const agent = agentIdentityOf(ctx.settings, job.actor.uuid);
  if (!agent) return null;
  const commit = job.head === null ? null : await ctx.client.resolveCommitHash(ctx.workspace, ctx.repoSlug, job.head);
  return recordIncidentIfDenied(ctx, {
    action: 'comment_pr',
    agent,
    branch: job.sourceBranch,
    commit,
    prId: job.prId,
    detail: incidentDetail({ action: 'comment_pr', who: accountName(job.actor), prId: job.prId }),
    facts: { comment_id: job.commentId },
  });
}
