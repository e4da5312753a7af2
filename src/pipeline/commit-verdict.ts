import { z } from 'zod';
import type { AppConfig } from '../config/app-config';
import type { BuildStatusState } from '../core/verdict';
import { NO_VERDICT_DESCRIPTION, storedIncidentDescription, storedVerdictDescription } from '../render/status-text';
import type { EvaluationRecord, Store } from '../store';
import type { ClawgateStatusContent } from './publish';
import { detailsUrl, incidentUrl, noVerdictUrl } from './status-urls';

/**
 * What clawgate's `clawgate` status on a commit should say, from the store alone (docs/architecture.md §2):
 * - an incident recorded on the commit (its FAILED status) outranks any verdict: a PR head an agent
 *   did a denied thing on stays FAILED, whatever a later re-evaluation says;
 * - otherwise the most restrictive of the latest evaluations of every PR whose head is the commit;
 * - otherwise FAILED "no clawgate verdict for this commit".
 * `latestAtMs` is the time of the newest of those records: a marked status with an older mark time is
 * a replay of something clawgate wrote before (see forged-status.ts). Both the evaluation (when it
 * publishes) and the forged-status defence (when it restores) write exactly this.
 */

export interface CommitVerdict {
  basis: 'incident' | 'evaluation' | 'none';
  /** The evaluation id or the audit event id the content comes from. */
  recordId: string | null;
  latestAtMs: number;
  content: ClawgateStatusContent;
}

/** The field of a stored evaluation's verdict JSON this module reads (the published status has its own columns). */
const storedVerdictSchema = z.looseObject({
  reason_code: z.string().optional(),
});

function evaluationContent(config: Pick<AppConfig, 'baseUrl'>, record: EvaluationRecord): ClawgateStatusContent {
  const stored = storedVerdictSchema.safeParse(record.verdict);
  const verdict = stored.success ? stored.data : {};
  // clawgate never writes STOPPED; a stored one is not a verdict it can stand behind.
  const state: BuildStatusState = record.statusState === 'STOPPED' ? 'FAILED' : record.statusState;
  return {
    state,
    description: record.statusDescription ?? storedVerdictDescription(record.mode, record.state, verdict.reason_code),
    url: detailsUrl(config, record.id),
    refname: record.sourceBranch,
  };
}

/**
 * One head, many PRs: the status on a commit is the most restrictive of the latest verdicts
 * of every PR whose head it is (FAILED over INPROGRESS over SUCCESSFUL; among equals the newest), so
 * a second PR from the agent's branch (opened by anyone) cannot overwrite the first one's FAILED.
 */
const RESTRICTIVENESS: Record<string, number> = { FAILED: 3, STOPPED: 3, INPROGRESS: 2, SUCCESSFUL: 1 };

function mostRestrictive(records: readonly EvaluationRecord[]): EvaluationRecord | null {
  let chosen: EvaluationRecord | null = null;
  for (const record of records) {
    const rank = RESTRICTIVENESS[record.statusState] ?? 3;
    const chosenRank = chosen === null ? 0 : (RESTRICTIVENESS[chosen.statusState] ?? 3);
    if (
      chosen === null ||
      rank > chosenRank ||
      (rank === chosenRank && record.createdAt.getTime() > chosen.createdAt.getTime())
    )
      chosen = record;
  }
  return chosen;
}

export async function clawgateVerdictForCommit(
  store: Store,
  config: Pick<AppConfig, 'baseUrl'>,
  workspaceId: string,
  repoFullName: string,
  commit: string,
): Promise<CommitVerdict> {
  const [incident, perPullRequest] = await Promise.all([
    store.incidents.latestWithStatusOnCommit(workspaceId, repoFullName, commit),
    store.evaluations.latestPerPullRequestForHead(workspaceId, repoFullName, commit),
  ]);
  const evaluation = mostRestrictive(perPullRequest);
  const latestAtMs = Math.max(
    incident?.createdAt.getTime() ?? 0,
    ...perPullRequest.map((r) => r.createdAt.getTime()),
    0,
  );
  if (incident && incident.statusState !== null) {
    const recordId = String(incident.auditEventId ?? incident.incidentId);
    return {
      basis: 'incident',
      recordId,
      latestAtMs,
      content: {
        state: incident.statusState,
        description: incident.statusDescription ?? storedIncidentDescription(incident.action),
        url: incident.statusUrl ?? incidentUrl(config, recordId),
        refname: incident.branch,
      },
    };
  }
  if (evaluation)
    return { basis: 'evaluation', recordId: evaluation.id, latestAtMs, content: evaluationContent(config, evaluation) };
  return {
    basis: 'none',
    recordId: null,
    latestAtMs: 0,
    content: { state: 'FAILED', description: NO_VERDICT_DESCRIPTION, url: noVerdictUrl(config), refname: null },
  };
}
