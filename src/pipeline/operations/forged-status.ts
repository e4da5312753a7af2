import type { BitbucketCommitStatus } from '../../bitbucket';
import { clawgateVerdictForCommit, type CommitVerdict } from '../commit-verdict';
import { auditActor, type OperationContext } from './operations-context';
import type { CommitStatusJob } from '../operations-events';
import { STATUS_KEY, writeClawgateStatus } from '../publish';

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
 */

export type ForgedStatusOutcome = 'absent' | 'own' | 'already_correct' | 'overwritten';

function sameContent(current: BitbucketCommitStatus, baseUrl: string, verdict: CommitVerdict): boolean {
  return current.state === verdict.content.state && (current.description ?? '') === verdict.content.description && baseUrl === verdict.content.url && (current.refname ?? null) === verdict.content.refname;
}

export async function handleCommitStatus(ctx: OperationContext, job: CommitStatusJob): Promise<ForgedStatusOutcome> {
  const { deps, client } = ctx;
  if (job.key !== STATUS_KEY) return 'absent';
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
  const verdict = await clawgateVerdictForCommit(deps.store, deps.config, ctx.tenant.workspaceId, job.repoFullName, job.commit);
  if (reading.valid && reading.atMs !== null && reading.atMs >= verdict.latestAtMs) return 'own';
  if (sameContent(current, reading.baseUrl, verdict)) {
    ctx.log.info({ commit: job.commit, markValid: reading.valid }, 'clawgate status already says what clawgate would write; left alone');
    return 'already_correct';
  }
  // Keep the forged status's refname only when clawgate has none of its own for this commit, so the
  // restored status stays attached to the same PR view.
  const content = verdict.content.refname === null && current.refname ? { ...verdict.content, refname: current.refname } : verdict.content;
  await writeClawgateStatus(client, deps.statusMarker, { workspace: ctx.workspace, repoSlug: ctx.repoSlug, commit: job.commit }, content, verdict.latestAtMs);
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
    after: { state: content.state, description: content.description, url: content.url, refname: content.refname, basis: verdict.basis, record_id: verdict.recordId, delivery_id: job.deliveryId },
  });
  ctx.log.warn({ commit: job.commit, forgedState: current.state, restored: content.state, basis: verdict.basis }, 'forged clawgate status overwritten');
  return 'overwritten';
}
