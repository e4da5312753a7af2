import { Op, type Transaction, type WhereOptions } from 'sequelize';
import { StoreError } from './errors';
import type { AuditEventRow } from './models';
import type { RepositoryContext } from './repository-context';
import { workspaceKey, type WorkspaceId } from './workspace-id';

/**
 * Append-only audit trail (README.md, docs/operations.md): who changed what, and every decision about a PR.
 * There is no update or delete API; only `purgeOlderThan` removes rows, for retention.
 * `before`/`after` must never contain secrets: callers pass redacted views.
 */

export interface AuditEventInput {
  readonly actor: string;
  readonly kind: string;
  readonly subject: string;
  readonly before?: unknown;
  readonly after?: unknown;
  readonly repo?: string | null;
  readonly prId?: number | null;
}

export interface AuditEvent {
  readonly id: number;
  readonly workspaceId: WorkspaceId;
  readonly at: Date;
  readonly actor: string;
  readonly kind: string;
  readonly subject: string;
  readonly before: unknown;
  readonly after: unknown;
  readonly repo: string | null;
  readonly prId: number | null;
}

export interface AuditQuery {
  readonly repo?: string;
  readonly prId?: number;
  /** Inclusive lower bound on `at`. */
  readonly since?: Date;
  /** Exclusive upper bound on `at`. */
  readonly until?: Date;
  readonly kinds?: readonly string[];
  /** Cursor: only events with a larger id (ids grow with insertion order). */
  readonly afterId?: number;
  /** Default 1000, at most 10000. */
  readonly limit?: number;
}

const MAX_LIMIT = 10_000;

function toAuditEvent(row: AuditEventRow): AuditEvent {
  return {
    id: Number(row.id),
    workspaceId: row.workspace_uuid,
    at: row.at,
    actor: row.actor,
    kind: row.kind,
    subject: row.subject,
    before: row.before ?? null,
    after: row.after ?? null,
    repo: row.repo_full_name,
    prId: row.pr_id,
  };
}

function checkInput(event: AuditEventInput): void {
  if (event.actor.length === 0 || event.actor.length > 255)
    throw new StoreError('INVALID_INPUT', 'audit actor must be 1..255 characters');
  if (event.kind.length === 0 || event.kind.length > 64)
    throw new StoreError('INVALID_INPUT', 'audit kind must be 1..64 characters');
  if (event.subject.length > 512) throw new StoreError('INVALID_INPUT', 'audit subject must be at most 512 characters');
}

/** Used by other repositories to audit a change in the same transaction as the change itself. */
export async function appendAuditEvent(
  context: RepositoryContext,
  workspace: string,
  event: AuditEventInput,
  transaction: Transaction,
): Promise<AuditEvent> {
  checkInput(event);
  const row = await context.models.AuditEvent.create(
    {
      workspace_uuid: workspace,
      at: context.now(),
      actor: event.actor,
      kind: event.kind,
      subject: event.subject,
      before: event.before === undefined ? null : event.before,
      after: event.after === undefined ? null : event.after,
      repo_full_name: event.repo ?? null,
      pr_id: event.prId ?? null,
    },
    { transaction },
  );
  return toAuditEvent(row.get({ plain: true }));
}

export class AuditLog {
  constructor(private readonly context: RepositoryContext) {}

  async append(workspaceId: WorkspaceId, event: AuditEventInput): Promise<AuditEvent> {
    const workspace = workspaceKey(workspaceId);
    return this.context.db.write((transaction) => appendAuditEvent(this.context, workspace, event, transaction));
  }

  /** Events of one workspace in insertion order (oldest first), filtered. */
  async query(workspaceId: WorkspaceId, query: AuditQuery = {}): Promise<AuditEvent[]> {
    const workspace = workspaceKey(workspaceId);
    const limit = Math.min(Math.max(query.limit ?? 1000, 1), MAX_LIMIT);
    const at: Record<symbol, Date> = {};
    if (query.since !== undefined) at[Op.gte] = query.since;
    if (query.until !== undefined) at[Op.lt] = query.until;
    const where: WhereOptions<AuditEventRow> = {
      workspace_uuid: workspace,
      ...(query.repo !== undefined ? { repo_full_name: query.repo } : {}),
      ...(query.prId !== undefined ? { pr_id: query.prId } : {}),
      ...(query.kinds !== undefined ? { kind: { [Op.in]: [...query.kinds] } } : {}),
      ...(query.afterId !== undefined ? { id: { [Op.gt]: query.afterId } } : {}),
      ...(Object.getOwnPropertySymbols(at).length > 0 ? { at } : {}),
    };
    return this.context.db.read(async () => {
      const rows = await this.context.models.AuditEvent.findAll({ where, order: [['id', 'ASC']], limit });
      return rows.map((row) => toAuditEvent(row.get({ plain: true })));
    });
  }

  /** Retention: deletes events older than `cutoff` (all workspaces, or one). Returns how many. */
  async purgeOlderThan(cutoff: Date, workspaceId?: WorkspaceId): Promise<number> {
    const workspace = workspaceId === undefined ? undefined : workspaceKey(workspaceId);
    return this.context.db.write((transaction) =>
      this.context.models.AuditEvent.destroy({
        where: { at: { [Op.lt]: cutoff }, ...(workspace !== undefined ? { workspace_uuid: workspace } : {}) },
        transaction,
      }),
    );
  }
}
