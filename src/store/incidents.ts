import { Op } from 'sequelize';
import { WRITE_ACTIONS } from '../core/policy/bitbucket-wpc';
import { appendAuditEvent, type AuditEvent, type AuditEventInput } from './audit-log';
import { StoreError } from './errors';
import type { IncidentRow } from './models';
import type { RepositoryContext } from './repository-context';
import { storedEnum } from './stored-enum';
import { workspaceKey, type WorkspaceId } from './workspace-id';

/**
 * Incidents: an agent's write action the WPC denies, already done (pipeline/operations/incidents.ts).
 * Each is recorded together with its audit event, in one transaction; the pipeline reads them back by
 * commit (an incident's status on a commit outranks any later verdict, pipeline/commit-verdict.ts) and
 * by delivery (a retried job does not record twice) — with their own indexed queries, not by
 * re-reading the audit log. Retention purges them with the audit events (operations/retention.ts).
 */

/** An incident's action is one of the engine's write actions, or `forge_status` (an agent wrote a `clawgate` status). */
export const INCIDENT_ACTIONS = [...WRITE_ACTIONS, 'forge_status'] as const;
export type IncidentAction = (typeof INCIDENT_ACTIONS)[number];
export const INCIDENT_STATUS_STATES = ['SUCCESSFUL', 'FAILED'] as const;
export type IncidentStatusState = (typeof INCIDENT_STATUS_STATES)[number];

export interface NewIncident {
  /** Random id the status URL names. */
  readonly incidentId: string;
  readonly repoFullName: string;
  readonly action: IncidentAction;
  readonly branch: string | null;
  /** The commit its status was written on; null when there is none (a deleted branch). */
  readonly commit: string | null;
  readonly prId: number | null;
  readonly deliveryId: string;
  readonly statusState: IncidentStatusState | null;
  readonly statusDescription: string | null;
  readonly statusUrl: string | null;
}

export interface Incident extends NewIncident {
  readonly workspaceId: WorkspaceId;
  /** The audit event recorded with it (null once retention purged it — the incident goes with it). */
  readonly auditEventId: number | null;
  readonly createdAt: Date;
}

const SHA_PATTERN = /^[0-9a-f]{40}$/;

function checkIncident(incident: NewIncident): void {
  if (!(INCIDENT_ACTIONS as readonly string[]).includes(incident.action))
    throw new StoreError('INVALID_INPUT', 'unknown incident action');
  if (incident.statusState !== null && !(INCIDENT_STATUS_STATES as readonly string[]).includes(incident.statusState))
    throw new StoreError('INVALID_INPUT', 'unknown incident status state');
  if (incident.commit !== null && !SHA_PATTERN.test(incident.commit))
    throw new StoreError('INVALID_INPUT', 'incident commit must be 40 lower-case hex characters');
  if (incident.repoFullName.length === 0 || incident.repoFullName.length > 255)
    throw new StoreError('INVALID_INPUT', 'repository must be 1..255 characters');
  if (incident.deliveryId.length === 0 || incident.deliveryId.length > 128)
    throw new StoreError('INVALID_INPUT', 'delivery id must be 1..128 characters');
  if (incident.incidentId.length === 0 || incident.incidentId.length > 64)
    throw new StoreError('INVALID_INPUT', 'incident id must be 1..64 characters');
  if (
    (incident.branch?.length ?? 0) > 1024 ||
    (incident.statusDescription?.length ?? 0) > 255 ||
    (incident.statusUrl?.length ?? 0) > 2048
  ) {
    throw new StoreError('INVALID_INPUT', 'incident branch, status description or status URL too long');
  }
}

function toIncident(row: IncidentRow): Incident {
  return {
    workspaceId: row.workspace_uuid,
    incidentId: row.incident_id ?? '',
    auditEventId: row.audit_event_id === null ? null : Number(row.audit_event_id),
    repoFullName: row.repo_full_name,
    action: storedEnum(INCIDENT_ACTIONS, row.action, 'incident action'),
    branch: row.branch,
    commit: row.commit_sha,
    prId: row.pr_id,
    deliveryId: row.delivery_id,
    statusState:
      row.status_state === null ? null : storedEnum(INCIDENT_STATUS_STATES, row.status_state, 'incident status state'),
    statusDescription: row.status_description,
    statusUrl: row.status_url,
    createdAt: row.created_at,
  };
}

export class IncidentRepository {
  constructor(private readonly context: RepositoryContext) {}

  /** Records the incident and its audit event in one transaction; the incident's time is the event's. */
  async record(
    workspaceId: WorkspaceId,
    incident: NewIncident,
    audit: AuditEventInput,
  ): Promise<{ incident: Incident; event: AuditEvent }> {
    const workspace = workspaceKey(workspaceId);
    checkIncident(incident);
    return this.context.db.write(async (transaction) => {
      const event = await appendAuditEvent(this.context, workspace, audit, transaction);
      const row = await this.context.models.Incident.create(
        {
          workspace_uuid: workspace,
          repo_full_name: incident.repoFullName,
          incident_id: incident.incidentId,
          audit_event_id: event.id,
          action: incident.action,
          branch: incident.branch,
          commit_sha: incident.commit,
          pr_id: incident.prId,
          delivery_id: incident.deliveryId,
          status_state: incident.statusState,
          status_description: incident.statusDescription,
          status_url: incident.statusUrl,
          created_at: event.at,
        },
        { transaction },
      );
      return { incident: toIncident(row.get({ plain: true })), event };
    });
  }

  /** The newest incident on `commit` that wrote a status there, or null. */
  async latestWithStatusOnCommit(
    workspaceId: WorkspaceId,
    repoFullName: string,
    commit: string,
  ): Promise<Incident | null> {
    const workspace = workspaceKey(workspaceId);
    return this.context.db.read(async () => {
      const row = await this.context.models.Incident.findOne({
        where: {
          workspace_uuid: workspace,
          repo_full_name: repoFullName,
          commit_sha: commit,
          status_state: { [Op.ne]: null },
        },
        order: [['id', 'DESC']],
      });
      return row === null ? null : toIncident(row.get({ plain: true }));
    });
  }

  /** The incident a delivery already recorded for this action, commit and branch (a retried job), or null. */
  async findRecorded(
    workspaceId: WorkspaceId,
    repoFullName: string,
    key: { deliveryId: string; action: IncidentAction; commit: string | null; branch: string | null },
  ): Promise<Incident | null> {
    const workspace = workspaceKey(workspaceId);
    return this.context.db.read(async () => {
      const row = await this.context.models.Incident.findOne({
        where: {
          workspace_uuid: workspace,
          repo_full_name: repoFullName,
          delivery_id: key.deliveryId,
          action: key.action,
          commit_sha: key.commit,
          branch: key.branch,
        },
        order: [['id', 'ASC']],
      });
      return row === null ? null : toIncident(row.get({ plain: true }));
    });
  }

  /** The newest incident of `action` on `commit` (written a status or not), or null. */
  async latestOfActionOnCommit(
    workspaceId: WorkspaceId,
    repoFullName: string,
    commit: string,
    action: IncidentAction,
  ): Promise<Incident | null> {
    const workspace = workspaceKey(workspaceId);
    return this.context.db.read(async () => {
      const row = await this.context.models.Incident.findOne({
        where: { workspace_uuid: workspace, repo_full_name: repoFullName, commit_sha: commit, action },
        order: [['id', 'DESC']],
      });
      return row === null ? null : toIncident(row.get({ plain: true }));
    });
  }

  /** The workspace's incidents recorded since `since`, newest first, at most `limit` (≤ 200): the settings page's banner. */
  async listSince(workspaceId: WorkspaceId, since: Date, limit: number): Promise<Incident[]> {
    const workspace = workspaceKey(workspaceId);
    return this.context.db.read(async () => {
      const rows = await this.context.models.Incident.findAll({
        where: { workspace_uuid: workspace, created_at: { [Op.gte]: since } },
        order: [['id', 'DESC']],
        limit: Math.max(1, Math.min(limit, 200)),
      });
      return rows.map((row) => toIncident(row.get({ plain: true })));
    });
  }

  /** Retention: deletes incidents older than `cutoff` (all workspaces, or one). Returns how many. */
  async purgeOlderThan(cutoff: Date, workspaceId?: WorkspaceId): Promise<number> {
    const workspace = workspaceId === undefined ? undefined : workspaceKey(workspaceId);
    return this.context.db.write((transaction) =>
      this.context.models.Incident.destroy({
        where: { created_at: { [Op.lt]: cutoff }, ...(workspace !== undefined ? { workspace_uuid: workspace } : {}) },
        transaction,
      }),
    );
  }
}
