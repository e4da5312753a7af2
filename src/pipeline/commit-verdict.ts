import { z } from 'zod';
import type { AppConfig } from '../config/app-config';
import type { BuildStatusState } from '../core/verdict';
import { NO_VERDICT_DESCRIPTION, storedIncidentDescription, storedVerdictDescription } from '../render/status-text';
import type { EvaluationRecord, Store } from '../store';
import { recordedIncidents, type RecordedIncident } from './incident-record';
import type { ClawgateStatusContent } from './publish';
import { detailsUrl, incidentUrl, noVerdictUrl } from './status-urls';

/**
 * What clawgate's `clawgate` status on a commit should say, from the store alone (design §7):
 * - an incident recorded on the commit (its FAILED status) outranks any verdict: a PR head an agent
 *   did a denied thing on stays FAILED, whatever a later re-evaluation says;
 * - otherwise the newest evaluation whose head is the commit;
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

/** Incidents recorded on `commit` (with a status), newest last. */
async function incidentsOnCommit(store: Store, workspaceId: string, repoFullName: string, commit: string): Promise<RecordedIncident[]> {
  return (await recordedIncidents(store, workspaceId, repoFullName)).filter(({ record }) => record.commit === commit && record.status_state !== null);
}

export async function clawgateVerdictForCommit(store: Store, config: Pick<AppConfig, 'baseUrl'>, workspaceId: string, repoFullName: string, commit: string): Promise<CommitVerdict> {
  const [incidents, evaluation] = await Promise.all([incidentsOnCommit(store, workspaceId, repoFullName, commit), store.evaluations.latestForHead(workspaceId, repoFullName, commit)]);
  const incident = incidents[incidents.length - 1];
  const latestAtMs = Math.max(incident?.event.at.getTime() ?? 0, evaluation?.createdAt.getTime() ?? 0);
  if (incident && incident.record.status_state !== null) {
    return {
      basis: 'incident',
      recordId: String(incident.event.id),
      latestAtMs,
      content: {
        state: incident.record.status_state,
        description: incident.record.status_description ?? storedIncidentDescription(incident.record.action),
        url: incident.record.status_url ?? incidentUrl(config, String(incident.event.id)),
        refname: incident.record.branch,
      },
    };
  }
  if (evaluation) return { basis: 'evaluation', recordId: evaluation.id, latestAtMs, content: evaluationContent(config, evaluation) };
  return { basis: 'none', recordId: null, latestAtMs: 0, content: { state: 'FAILED', description: NO_VERDICT_DESCRIPTION, url: noVerdictUrl(config), refname: null } };
}
