import { randomUUID } from 'node:crypto';
import { UniqueConstraintError, type WhereOptions } from 'sequelize';
import { jcsHashB64u } from '../core/clawsig/hashing';
import { appendAuditEvent } from './audit-log';
import { StoreError } from './errors';
import type { PolicyRow } from './models';
import type { RepositoryContext } from './repository-context';
import { workspaceKey, type WorkspaceId } from './workspace-id';

/**
 * Work Policy Contracts registered by a workspace. Immutable except for retirement. The document
 * is kept as the exact text uploaded, and its hash (`b64u(SHA-256(JCS(document)))`,
 * docs/policy.md) is checked on insert and again on every read, so a row edited behind the store's back is
 * refused rather than enforced.
 */

export interface StoredPolicy {
  readonly workspaceId: WorkspaceId;
  readonly policyHashB64u: string;
  /** The document text exactly as uploaded. */
  readonly documentText: string;
  /** `JSON.parse(documentText)`. */
  readonly document: unknown;
  /** The signed WPC envelope text when the policy came as one. */
  readonly envelopeText: string | null;
  readonly createdAt: Date;
  readonly createdBy: string;
  readonly retiredAt: Date | null;
}

export interface NewPolicy {
  readonly policyHashB64u: string;
  readonly documentText: string;
  readonly envelopeText?: string | null;
  readonly actor: string;
}

const HASH_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** A backstop only; the API enforces its own, smaller body limit. */
const MAX_DOCUMENT_CHARS = 1_048_576;

function hashOfDocumentText(documentText: string): string | null {
  try {
    return jcsHashB64u(JSON.parse(documentText));
  } catch {
    return null;
  }
}

function toPolicy(row: PolicyRow): StoredPolicy {
  if (hashOfDocumentText(row.document) !== row.policy_hash_b64u) {
    throw new StoreError('CORRUPT_ROW', `stored policy ${row.policy_hash_b64u} does not hash to its key`);
  }
  return {
    workspaceId: row.workspace_uuid,
    policyHashB64u: row.policy_hash_b64u,
    documentText: row.document,
    document: JSON.parse(row.document),
    envelopeText: row.envelope,
    createdAt: row.created_at,
    createdBy: row.created_by,
    retiredAt: row.retired_at,
  };
}

export class PolicyRepository {
  constructor(private readonly context: RepositoryContext) {}

  /**
   * Stores a policy under its hash. Uploading the same hash again is idempotent (`created: false`,
   * the first upload is kept, retired or not). A document that does not hash to the given hash is
   * POLICY_HASH_MISMATCH.
   */
  async create(workspaceId: WorkspaceId, policy: NewPolicy): Promise<{ policy: StoredPolicy; created: boolean }> {
    const workspace = workspaceKey(workspaceId);
    if (!HASH_PATTERN.test(policy.policyHashB64u))
      throw new StoreError('INVALID_INPUT', 'policy hash must be 43 base64url characters');
    if (policy.documentText.length > MAX_DOCUMENT_CHARS)
      throw new StoreError('INVALID_INPUT', 'policy document is too large');
    if (hashOfDocumentText(policy.documentText) !== policy.policyHashB64u) {
      throw new StoreError('POLICY_HASH_MISMATCH', 'policy document does not hash to the given policy hash');
    }
    const attempt = () =>
      this.context.db.write(async (transaction) => {
        const { Policy } = this.context.models;
        const existing = await Policy.findOne({
          where: { workspace_uuid: workspace, policy_hash_b64u: policy.policyHashB64u },
          transaction,
        });
        if (existing !== null) return { policy: toPolicy(existing.get({ plain: true })), created: false };
        const row = await Policy.create(
          {
            id: randomUUID(),
            workspace_uuid: workspace,
            policy_hash_b64u: policy.policyHashB64u,
            document: policy.documentText,
            envelope: policy.envelopeText ?? null,
            created_at: this.context.now(),
            created_by: policy.actor,
            retired_at: null,
          },
          { transaction },
        );
        await appendAuditEvent(
          this.context,
          workspace,
          {
            actor: policy.actor,
            kind: 'policy.created',
            subject: policy.policyHashB64u,
            after: { policy_hash_b64u: policy.policyHashB64u, signed: policy.envelopeText != null },
          },
          transaction,
        );
        return { policy: toPolicy(row.get({ plain: true })), created: true };
      });
    // Two concurrent uploads of one document: the loser of the unique index reads the winner's row.
    return attempt().catch((error: unknown) => {
      if (error instanceof UniqueConstraintError) return attempt();
      throw error;
    });
  }

  async get(workspaceId: WorkspaceId, policyHashB64u: string): Promise<StoredPolicy | null> {
    const workspace = workspaceKey(workspaceId);
    return this.context.db.read(async () => {
      const row = await this.context.models.Policy.findOne({
        where: { workspace_uuid: workspace, policy_hash_b64u: policyHashB64u },
      });
      return row === null ? null : toPolicy(row.get({ plain: true }));
    });
  }

  /** Oldest first. Retired policies only when asked for. */
  async list(workspaceId: WorkspaceId, options: { includeRetired?: boolean } = {}): Promise<StoredPolicy[]> {
    const workspace = workspaceKey(workspaceId);
    const where: WhereOptions<PolicyRow> =
      options.includeRetired === true ? { workspace_uuid: workspace } : { workspace_uuid: workspace, retired_at: null };
    return this.context.db.read(async () => {
      const rows = await this.context.models.Policy.findAll({ where, order: [['created_at', 'ASC']] });
      return rows.map((row) => toPolicy(row.get({ plain: true })));
    });
  }

  /** Marks a policy retired (idempotent). Returns null if the workspace has no such policy. */
  async retire(workspaceId: WorkspaceId, policyHashB64u: string, actor: string): Promise<StoredPolicy | null> {
    const workspace = workspaceKey(workspaceId);
    return this.context.db.write(async (transaction) => {
      const row = await this.context.models.Policy.findOne({
        where: { workspace_uuid: workspace, policy_hash_b64u: policyHashB64u },
        transaction,
      });
      if (row === null) return null;
      if (row.get('retired_at') === null) {
        await row.update({ retired_at: this.context.now() }, { transaction });
        await appendAuditEvent(
          this.context,
          workspace,
          { actor, kind: 'policy.retired', subject: policyHashB64u },
          transaction,
        );
      }
      return toPolicy(row.get({ plain: true }));
    });
  }
}
