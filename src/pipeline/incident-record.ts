import type { IncidentAction } from '../store';

/**
 * The `after` of the audit event of kind `incident` recorded with each incident (a denied write action
 * that already happened; pipeline/operations/incidents.ts). The pipeline reads incidents back from
 * their own table (store/incidents.ts), never from the audit log.
 */
export const INCIDENT_AUDIT_KIND = 'incident';

export interface IncidentRecord {
  /** Random id (the status URL names it; audit ids are not known before the event is written). */
  incident_id: string;
  action: IncidentAction;
  reason_code: string;
  actor: { uuid: string; display_name: string | null };
  repo: string;
  branch: string | null;
  commit: string | null;
  pr_id: number | null;
  wpc_hash: string | null;
  mode: string;
  /** The status written on `commit` (null when there is no commit, e.g. a deleted branch). */
  status_state: 'SUCCESSFUL' | 'FAILED' | null;
  status_description: string | null;
  status_url: string | null;
  event: string;
  delivery_id: string;
  checks: unknown[];
}
