import { BitbucketError, BitbucketNotFoundError, type BitbucketCommitStatus } from '../../bitbucket';
import { alertingConfig } from '../../config/app-config';
import { judgeStatusForgery } from '../../core/policy/status-forgery';
import { clip } from '../../render/status-text';
import { agentIdentityOf, type AgentIdentityMatch } from '../agent-identities';
import { raiseAlert } from '../alert-webhook';
import { clawgateVerdictForCommit, type CommitVerdict } from '../commit-verdict';
import { auditActor, type OperationContext } from './operations-context';
import { accountName, incidentDetail } from '../../render/operations-text';
import { forgedStatusJobKey, OPERATIONS_JOB, type CommitStatusJob } from '../operations-events';
import { STATUS_KEY, writeClawgateStatus } from '../publish';
import { recordIncident } from './incidents';

/**
 * Forged-status defence (docs/operations.md): a `clawgate` status written by anyone but clawgate is
 * overwritten with clawgate's verdict for that commit (commit-verdict.ts; FAILED "no clawgate
 * verdict for this commit" when there is none) and audited as `forged_status` with before and after.
 *
 * The webhook only triggers the check; what is judged is the status on the commit now (GET), so an
 * event arriving late, or out of order, never undoes a newer write. A status is clawgate's when its
 * mark verifies (status-mark.ts) and is not older than the newest record about the commit — a
 * verified but older mark is a replay of an earlier genuine status (e.g. a SUCCESSFUL copied back
 * over a later FAILED).
 *
 * No loop: what this writes is exactly `clawgateVerdictForCommit`, marked with that record's time, so
 * the webhook of the overwrite finds a fresh mark and stops. As a second stop, a status that already
 * says exactly what clawgate would write is left alone even when its mark does not verify (e.g. if
 * Bitbucket ever re-encoded a URL), so a mangled mark costs at most one write, never a cycle.
 *
 * Not starvable (issue 9):
 * - coalesced: forgeries of one commit by one account share one pending job (forgedStatusJobKey);
 * - only what can be merged is defended: a commit that is the head of no open PR costs no API call
 *   (the store says which PRs clawgate evaluated at that head; the API confirms one is OPEN there).
 *   An open PR head clawgate never evaluated gets its status from that evaluation or the
 *   reconciliation (reconcile.ts), which re-evaluates heads whose status disagrees with the store;
 * - a forgery by an agent identity is an incident (STATUS_FORGED, once per commit) whatever the
 *   commit, and its status is restored (the incident's FAILED in enforce mode);
 * - a restore that fails on transient trouble (5xx, 429, network) is queued again with exponential
 *   backoff (a delayed job: durable, survives a restart), independent of the queue's own retries,
 *   for at most `restoreMaxAgeMs`; every failure is counted, and `restoreAlertFailures` failures in
 *   `restoreAlertWindowMs` raise a `restore_failing` alert (at most one per window).
 */

export type ForgedStatusOutcome =
  'absent' | 'own' | 'already_correct' | 'overwritten' | 'not_defended' | 'retry_scheduled' | 'given_up';

/** PRs per commit asked about (the store lists those clawgate evaluated at this head). */
const MAX_PRS_CHECKED = 5;
const MAX_RESTORE_RETRY_MS = 30 * 60_000;

function sameContent(current: BitbucketCommitStatus, baseUrl: string, verdict: CommitVerdict): boolean {
  return (
    current.state === verdict.content.state &&
    (current.description ?? '') === verdict.content.description &&
    baseUrl === verdict.content.url &&
    (current.refname ?? null) === verdict.content.refname
  );
}

/** Is the commit the head of an open PR? The store names candidates (no call when none), the API confirms. */
async function isOpenPullRequestHead(ctx: OperationContext, commit: string): Promise<boolean> {
  const evaluated = await ctx.deps.store.evaluations.latestPerPullRequestForHead(
    ctx.tenant.workspaceId,
    ctx.job.repoFullName,
    commit,
  );
  for (const record of evaluated.slice(0, MAX_PRS_CHECKED)) {
    try {
      const pr = await ctx.client.getPullRequest(ctx.workspace, ctx.repoSlug, record.prId);
      const head = pr.source.commit?.hash.toLowerCase();
      if (pr.state === 'OPEN' && head !== undefined && head.length >= 7 && commit.startsWith(head)) return true;
    } catch (error) {
      if (!(error instanceof BitbucketNotFoundError)) throw error;
    }
  }
  return false;
}

/** An agent identity wrote the status: an incident, once per commit (a storm is one incident). */
async function recordForgeryIncident(
  ctx: OperationContext,
  job: CommitStatusJob,
  agent: AgentIdentityMatch,
): Promise<void> {
  const previous = await ctx.deps.store.incidents.latestOfActionOnCommit(
    ctx.tenant.workspaceId,
    job.repoFullName,
    job.commit,
    'forge_status',
  );
  if (previous !== null) return;
  await recordIncident(
    ctx,
    {
      action: 'forge_status',
      agent,
      branch: null,
      commit: job.commit,
      prId: null,
      detail: incidentDetail({
        action: 'forge_status',
        who: accountName(job.actor),
        commit: job.commit,
        state: job.state ?? null,
      }),
      facts: { forged_state: job.state },
    },
    judgeStatusForgery({ accountId: agent.accountUuid, role: agent.role }, { state: job.state, commit: job.commit }),
    // The restore below writes the commit's status (the incident's, from commit-verdict.ts): one write.
    { markCommit: false },
  );
}

export async function handleCommitStatus(ctx: OperationContext, job: CommitStatusJob): Promise<ForgedStatusOutcome> {
  if (job.key !== STATUS_KEY) return 'absent';
  const agent = agentIdentityOf(ctx.settings, job.actor.uuid);
  if (agent !== null) await recordForgeryIncident(ctx, job, agent);
  try {
    if (agent === null && !(await isOpenPullRequestHead(ctx, job.commit))) {
      ctx.log.info(
        { commit: job.commit },
        'clawgate status written on a commit that is the head of no open pull request: not defended',
      );
      return 'not_defended';
    }
    return await restore(ctx, job);
  } catch (error) {
    if (!(error instanceof BitbucketError) || !error.transient) throw error;
    return restoreFailed(ctx, job, error);
  }
}

async function restore(ctx: OperationContext, job: CommitStatusJob): Promise<ForgedStatusOutcome> {
  const { deps, client } = ctx;
  const current = await client.getBuildStatus(ctx.workspace, ctx.repoSlug, job.commit, STATUS_KEY);
  if (current === null) return 'absent';
  const reading = deps.statusMarker.read({
    repoFullName: job.repoFullName,
    commit: job.commit,
    key: current.key,
    state: current.state,
    description: current.description ?? '',
    url: current.url,
    refname: current.refname ?? null,
  });
  const verdict = await clawgateVerdictForCommit(
    deps.store,
    deps.config,
    ctx.tenant.workspaceId,
    job.repoFullName,
    job.commit,
  );
  if (reading.valid && reading.atMs !== null && reading.atMs >= verdict.latestAtMs) return 'own';
  if (sameContent(current, reading.baseUrl, verdict)) {
    ctx.log.info(
      { commit: job.commit, markValid: reading.valid },
      'clawgate status already says what clawgate would write; left alone',
    );
    return 'already_correct';
  }
  // Keep the forged status's refname only when clawgate has none of its own for this commit, so the
  // restored status stays attached to the same PR view.
  const content =
    verdict.content.refname === null && current.refname
      ? { ...verdict.content, refname: current.refname }
      : verdict.content;
  await writeClawgateStatus(
    client,
    deps.statusMarker,
    { workspace: ctx.workspace, repoSlug: ctx.repoSlug, commit: job.commit },
    content,
    verdict.latestAtMs,
  );
  await deps.store.audit.append(ctx.tenant.workspaceId, {
    actor: auditActor(job.actor.uuid),
    kind: 'forged_status',
    subject: `${job.repoFullName}@${job.commit}`,
    repo: job.repoFullName,
    before: {
      state: current.state,
      description: current.description ?? null,
      url: current.url ?? null,
      refname: current.refname ?? null,
      mark: reading.valid ? 'replayed' : 'absent_or_invalid',
      event: job.eventKey,
      event_actor: { uuid: job.actor.uuid, display_name: job.actor.displayName, type: job.actor.type },
    },
    after: {
      state: content.state,
      description: content.description,
      url: content.url,
      refname: content.refname,
      basis: verdict.basis,
      record_id: verdict.recordId,
      delivery_id: job.deliveryId,
      ...(job.restoreFailures !== undefined ? { failed_attempts: job.restoreFailures } : {}),
    },
  });
  ctx.log.warn(
    { commit: job.commit, forgedState: current.state, restored: content.state, basis: verdict.basis },
    'forged clawgate status overwritten',
  );
  return 'overwritten';
}

/**
 * A restore failed on transient trouble: counted (and alerted past the threshold), then queued again
 * with backoff — or, past `restoreMaxAgeMs`, given up (audited and alerted: a forged status stays).
 */
async function restoreFailed(
  ctx: OperationContext,
  job: CommitStatusJob,
  error: BitbucketError,
): Promise<ForgedStatusOutcome> {
  const { deps, tenant } = ctx;
  const alerting = alertingConfig(deps.config);
  const nowMs = Date.now();
  const failures = (job.restoreFailures ?? 0) + 1;
  const since = job.restoreSinceMs ?? nowMs;
  const windowStart = new Date(nowMs - alerting.restoreAlertWindowMs);
  const inWindow = await deps.store.alerts.recordRestoreFailure(
    tenant.workspaceId,
    { repoFullName: job.repoFullName, commit: job.commit, error: `${error.name}: ${error.message}` },
    windowStart,
  );
  ctx.log.warn({ commit: job.commit, failures, inWindow, err: error.message }, 'restoring a forged status failed');
  if (inWindow >= alerting.restoreAlertFailures) {
    const last = await deps.store.alerts.latestOfKind(tenant.workspaceId, 'restore_failing');
    if (last === null || last.createdAt.getTime() < windowStart.getTime())
      await alertRestoreFailing(ctx, job, inWindow, alerting.restoreAlertWindowMs, error);
  }
  if (nowMs - since >= alerting.restoreMaxAgeMs || deps.queue === undefined) {
    await deps.store.audit.append(tenant.workspaceId, {
      actor: 'clawgate',
      kind: 'forged_status.restore_abandoned',
      subject: `${job.repoFullName}@${job.commit}`,
      repo: job.repoFullName,
      after: {
        failures,
        since: new Date(since).toISOString(),
        last_error: clip(error.message, 512),
        forged_state: job.state,
      },
    });
    ctx.log.error({ commit: job.commit, failures }, 'restore of a forged status given up');
    return 'given_up';
  }
  const delayMs = Math.min(MAX_RESTORE_RETRY_MS, alerting.restoreRetryBaseMs * 2 ** (failures - 1));
  await deps.queue.enqueue(
    OPERATIONS_JOB,
    { ...job, restoreSinceMs: since, restoreFailures: failures },
    { key: forgedStatusJobKey(job), delayMs },
  );
  return 'retry_scheduled';
}

async function alertRestoreFailing(
  ctx: OperationContext,
  job: CommitStatusJob,
  failures: number,
  windowMs: number,
  error: BitbucketError,
): Promise<void> {
  const { deps, tenant } = ctx;
  const data = {
    failures,
    window_minutes: Math.round(windowMs / 60_000),
    repo: job.repoFullName,
    commit: job.commit,
    last_error: clip(`${error.name}: ${error.message}`, 512),
  };
  try {
    await raiseAlert(
      deps.store,
      tenant.workspaceId,
      {
        kind: 'restore_failing',
        subject: clip(`${failures} restores of forged clawgate statuses failed in ${data.window_minutes} min`, 512),
        data,
      },
      deps.wakeAlerts,
    );
    await deps.store.audit.append(tenant.workspaceId, {
      actor: 'clawgate',
      kind: 'alert.restore_failing',
      subject: `${job.repoFullName}@${job.commit}`,
      repo: job.repoFullName,
      after: data,
    });
  } catch (caught) {
    ctx.log.error(
      { err: caught instanceof Error ? caught.message : String(caught) },
      'restore_failing alert not queued',
    );
  }
}
