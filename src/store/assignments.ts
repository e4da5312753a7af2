import { randomUUID } from 'node:crypto';
import { Op } from 'sequelize';
import { appendAuditEvent } from './audit-log';
import { StoreError } from './errors';
import { storedEnum } from './stored-enum';
import type { AssignmentRow } from './models';
import type { RepositoryContext } from './repository-context';
import { ENFORCEMENT_MODES, type EnforcementMode } from './workspace-settings';
import { workspaceKey, type WorkspaceId } from './workspace-id';

/**
 * Which policy applies to which repositories: an ordered list per workspace (the first glob that
 * matches a repository's full name wins; matching is the pipeline's job). Replaced as a whole, in
 * one transaction, so readers never see half an update.
 */

export interface PolicyAssignment {
  /** A glob over the repository full name (`workspace/repo_slug`). */
  readonly repoGlob: string;
  readonly policyHashB64u: string;
  /** Per-repository override of the workspace mode. */
  readonly mode: EnforcementMode | null;
}

export interface PolicyAssignmentInput {
  readonly repoGlob: string;
  readonly policyHashB64u: string;
  readonly mode?: EnforcementMode | null;
}

export const MAX_ASSIGNMENTS = 500;

function toAssignment(row: AssignmentRow): PolicyAssignment {
  return {
    repoGlob: row.repo_glob,
    policyHashB64u: row.policy_hash_b64u,
    mode: row.mode === null ? null : storedEnum(ENFORCEMENT_MODES, row.mode, 'assignment mode'),
  };
}

export class AssignmentRepository {
  constructor(private readonly context: RepositoryContext) {}

  async list(workspaceId: WorkspaceId): Promise<PolicyAssignment[]> {
    const workspace = workspaceKey(workspaceId);
    return this.context.db.read(async () => {
      const rows = await this.context.models.Assignment.findAll({
        where: { workspace_uuid: workspace },
        order: [['position', 'ASC']],
      });
      return rows.map((row) => toAssignment(row.get({ plain: true })));
    });
  }

  /**
   * Replaces the whole list. Every policy hash must name a non-retired policy of this workspace
   * (UNKNOWN_POLICY otherwise), checked inside the same transaction.
   */
  async replace(
    workspaceId: WorkspaceId,
    input: readonly PolicyAssignmentInput[],
    actor: string,
  ): Promise<PolicyAssignment[]> {
    const workspace = workspaceKey(workspaceId);
    const assignments: PolicyAssignment[] = input.map((item) => ({
      repoGlob: item.repoGlob,
      policyHashB64u: item.policyHashB64u,
      mode: item.mode ?? null,
    }));
    if (assignments.length > MAX_ASSIGNMENTS)
      throw new StoreError('INVALID_INPUT', `at most ${MAX_ASSIGNMENTS} assignments`);
    for (const assignment of assignments) {
      if (assignment.repoGlob.length === 0 || assignment.repoGlob.length > 512)
        throw new StoreError('INVALID_INPUT', 'repo glob must be 1..512 characters');
      if (assignment.mode !== null && !(ENFORCEMENT_MODES as readonly string[]).includes(assignment.mode))
        throw new StoreError('INVALID_INPUT', 'unknown mode');
    }
    return this.context.db.write(async (transaction) => {
      const { Assignment, Policy } = this.context.models;
      const hashes = [...new Set(assignments.map((assignment) => assignment.policyHashB64u))];
      if (hashes.length > 0) {
        const known = await Policy.findAll({
          attributes: ['policy_hash_b64u'],
          where: { workspace_uuid: workspace, policy_hash_b64u: { [Op.in]: hashes }, retired_at: null },
          transaction,
        });
        const knownHashes = new Set(known.map((row) => row.get('policy_hash_b64u')));
        const missing = hashes.filter((hash) => !knownHashes.has(hash));
        if (missing.length > 0)
          throw new StoreError('UNKNOWN_POLICY', `no active policy with hash ${missing.join(', ')} in this workspace`);
      }
      const beforeRows = await Assignment.findAll({
        where: { workspace_uuid: workspace },
        order: [['position', 'ASC']],
        transaction,
      });
      const before = beforeRows.map((row) => toAssignment(row.get({ plain: true })));
      await Assignment.destroy({ where: { workspace_uuid: workspace }, transaction });
      const now = this.context.now();
      await Assignment.bulkCreate(
        assignments.map((assignment, position) => ({
          id: randomUUID(),
          workspace_uuid: workspace,
          position,
          repo_glob: assignment.repoGlob,
          policy_hash_b64u: assignment.policyHashB64u,
          mode: assignment.mode,
          created_at: now,
        })),
        { transaction },
      );
      await appendAuditEvent(
        this.context,
        workspace,
        { actor, kind: 'assignments.replaced', subject: 'assignments', before, after: assignments },
        transaction,
      );
      return assignments;
    });
  }
}
