import { z } from 'zod';
import type { WriteAction } from '../core/policy/change-set';
import { WRITE_ACTIONS } from '../core/policy';
import type { AuditEvent, Store } from '../store';

/**
 * The `after` of an audit event of kind `incident` (a denied write action that already happened,
 * design §6). Written by incidents.ts; read back by the forged-status defence and the evaluation
 * (an incident's FAILED status on a commit outranks a later verdict for that commit).
 */
export const INCIDENT_AUDIT_KIND = 'incident';

export interface IncidentRecord {
  /** Random id (the status URL names it; audit ids are not known before the event is written). */
  incident_id: string;
  action: WriteAction;
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

const incidentRecordSchema = z.looseObject({
  incident_id: z.string().optional(),
  action: z.enum(WRITE_ACTIONS),
  commit: z.string().regex(/^[0-9a-f]{40}$/).nullable(),
  branch: z.string().nullable(),
  status_state: z.enum(['SUCCESSFUL', 'FAILED']).nullable(),
  status_description: z.string().nullable(),
  status_url: z.string().nullable(),
  delivery_id: z.string(),
});

export interface RecordedIncident {
  event: AuditEvent;
  record: z.infer<typeof incidentRecordSchema>;
}

/** The repository's incident events whose record parses, oldest first. */
export async function recordedIncidents(store: Store, workspaceId: string, repoFullName: string): Promise<RecordedIncident[]> {
  const events = await store.audit.query(workspaceId, { repo: repoFullName, kinds: [INCIDENT_AUDIT_KIND], limit: 10_000 });
  const out: RecordedIncident[] = [];
  for (const event of events) {
    const parsed = incidentRecordSchema.safeParse(event.after);
    if (parsed.success) out.push({ event, record: parsed.data });
  }
  return out;
}
