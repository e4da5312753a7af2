import { randomUUID } from 'node:crypto';
import { Op, UniqueConstraintError } from 'sequelize';
import { sha256B64u } from '../core/clawsig/hashing';
import { StoreError } from './errors';
import { storedEnum } from './stored-enum';
import type { BundleRow } from './models';
import type { RepositoryContext } from './repository-context';
import type { SecretBox } from './secret-box';
import { workspaceKey, type WorkspaceId } from './workspace-id';

/**
 * Proof bundles uploaded to clawgate (docs/clawsig-profile.md, "Where clawgate finds a bundle in a PR") or fetched from elsewhere and kept as
 * evidence. The envelope is stored as the exact text received; its SHA-256 and byte size are
 * computed here, not taken from the caller. The size limit is the caller's; `size` is recorded.
 * The scoped token (CST) beside a bundle may still be a live credential: it is sealed by the
 * SecretBox like the other tenant secrets, bound to the workspace and bundle id.
 */

/** The AES-GCM associated data of a bundle's CST: a sealed value copied to another row does not open. */
const SCOPED_TOKEN_CONTEXT = (workspace: string, bundleId: string): string =>
  `bundles.scoped_token:${workspace}:${bundleId}`;
/** A compact JWS never contains `:`; a sealed value always starts with `v1:`. */
const isSealed = (value: string): boolean => value.startsWith('v1:');

export const BUNDLE_SOURCES = ['api', 'repo_file', 'bundle_store'] as const;
export type BundleSource = (typeof BUNDLE_SOURCES)[number];

export interface StoredBundle {
  readonly workspaceId: WorkspaceId;
  readonly bundleId: string;
  readonly envelopeText: string;
  readonly scopedToken: string | null;
  readonly sha256B64u: string;
  /** UTF-8 byte length of `envelopeText`. */
  readonly size: number;
  readonly source: BundleSource;
  /** Who uploaded it through the API (`api_token:<id>`, `connect:<account>`); null when the pipeline kept it. */
  readonly uploadedBy: string | null;
  readonly createdAt: Date;
  /** The run's URM and Trust Pulse, as text, when they came with the bundle (issue 12). */
  readonly urmText: string | null;
  readonly trustPulseText: string | null;
}

export interface NewBundle {
  readonly bundleId: string;
  readonly envelopeText: string;
  readonly scopedToken?: string | null;
  readonly source: BundleSource;
  readonly uploadedBy?: string | null;
  readonly urmText?: string | null;
  readonly trustPulseText?: string | null;
}

function toBundle(row: BundleRow, box: SecretBox): StoredBundle {
  return {
    workspaceId: row.workspace_uuid,
    bundleId: row.bundle_id,
    envelopeText: row.envelope,
    scopedToken:
      row.scoped_token === null
        ? null
        : isSealed(row.scoped_token)
          ? box.open(row.scoped_token, SCOPED_TOKEN_CONTEXT(row.workspace_uuid, row.bundle_id))
          : row.scoped_token,
    sha256B64u: row.sha256_b64u,
    size: row.size,
    source: storedEnum(BUNDLE_SOURCES, row.source, 'bundle source'),
    uploadedBy: row.uploaded_by ?? null,
    createdAt: row.created_at,
    urmText: row.urm ?? null,
    trustPulseText: row.trust_pulse ?? null,
  };
}

export class BundleRepository {
  constructor(private readonly context: RepositoryContext) {}

  /**
   * Stores a bundle under its id. The same id with the same bytes again is idempotent
   * (`created: false`); the same id with different bytes is BUNDLE_ID_CONFLICT: a bundle id names
   * one bundle for good, which the anti-replay rules rely on.
   */
  async put(workspaceId: WorkspaceId, bundle: NewBundle): Promise<{ bundle: StoredBundle; created: boolean }> {
    const workspace = workspaceKey(workspaceId);
    if (bundle.bundleId.length === 0 || bundle.bundleId.length > 255)
      throw new StoreError('INVALID_INPUT', 'bundle id must be 1..255 characters');
    if (!(BUNDLE_SOURCES as readonly string[]).includes(bundle.source))
      throw new StoreError('INVALID_INPUT', 'unknown bundle source');
    const sha = sha256B64u(bundle.envelopeText);
    const size = Buffer.byteLength(bundle.envelopeText, 'utf8');
    const attempt = () =>
      this.context.db.write(async (transaction) => {
        const { Bundle } = this.context.models;
        const existing = await Bundle.findOne({
          where: { workspace_uuid: workspace, bundle_id: bundle.bundleId },
          transaction,
        });
        if (existing !== null) {
          const stored = toBundle(existing.get({ plain: true }), this.context.secretBox);
          if (stored.sha256B64u !== sha)
            throw new StoreError(
              'BUNDLE_ID_CONFLICT',
              `bundle ${bundle.bundleId} is already stored with different content`,
            );
          // A URM or pulse may follow the bundle later; once stored, neither changes.
          const fill: { urm?: string; trust_pulse?: string } = {};
          for (const [column, value, current] of [
            ['urm', bundle.urmText, stored.urmText],
            ['trust_pulse', bundle.trustPulseText, stored.trustPulseText],
          ] as const) {
            if (value === undefined || value === null || value === current) continue;
            if (current !== null)
              throw new StoreError(
                'BUNDLE_ID_CONFLICT',
                `bundle ${bundle.bundleId} already has a different ${column === 'urm' ? 'URM' : 'Trust Pulse'}`,
              );
            fill[column] = value;
          }
          if (Object.keys(fill).length === 0) return { bundle: stored, created: false };
          await existing.update(fill, { transaction });
          return { bundle: toBundle(existing.get({ plain: true }), this.context.secretBox), created: false };
        }
        const row = await Bundle.create(
          {
            id: randomUUID(),
            workspace_uuid: workspace,
            bundle_id: bundle.bundleId,
            envelope: bundle.envelopeText,
            scoped_token:
              bundle.scopedToken == null
                ? null
                : this.context.secretBox.seal(bundle.scopedToken, SCOPED_TOKEN_CONTEXT(workspace, bundle.bundleId)),
            sha256_b64u: sha,
            size,
            source: bundle.source,
            uploaded_by: bundle.uploadedBy ?? null,
            created_at: this.context.now(),
            urm: bundle.urmText ?? null,
            trust_pulse: bundle.trustPulseText ?? null,
          },
          { transaction },
        );
        return { bundle: toBundle(row.get({ plain: true }), this.context.secretBox), created: true };
      });
    return attempt().catch((error: unknown) => {
      if (error instanceof UniqueConstraintError) return attempt();
      throw error;
    });
  }

  async get(workspaceId: WorkspaceId, bundleId: string): Promise<StoredBundle | null> {
    const workspace = workspaceKey(workspaceId);
    return this.context.db.read(async () => {
      const row = await this.context.models.Bundle.findOne({
        where: { workspace_uuid: workspace, bundle_id: bundleId },
      });
      return row === null ? null : toBundle(row.get({ plain: true }), this.context.secretBox);
    });
  }

  /**
   * Seals every CST still stored in clear (rows written before CSTs were encrypted at rest; run when
   * the store opens) and, with `rotate`, re-seals those sealed under an old key (secret rotation).
   * Idempotent. Returns how many values it changed.
   */
  async resealScopedTokens(options: { rotate?: boolean } = {}): Promise<number> {
    const { Bundle } = this.context.models;
    const box = this.context.secretBox;
    const where =
      options.rotate === true ? { scoped_token: { [Op.ne]: null } } : { scoped_token: { [Op.notLike]: 'v1:%' } };
    return this.context.db.write(async (transaction) => {
      const rows = await Bundle.findAll({
        where,
        attributes: ['id', 'workspace_uuid', 'bundle_id', 'scoped_token'],
        transaction,
      });
      let changed = 0;
      for (const row of rows) {
        const plain = row.get({ plain: true });
        if (plain.scoped_token === null) continue;
        const context = SCOPED_TOKEN_CONTEXT(plain.workspace_uuid, plain.bundle_id);
        let next: string;
        if (!isSealed(plain.scoped_token)) next = box.seal(plain.scoped_token, context);
        else if (box.isSealedWithOldKey(plain.scoped_token))
          next = box.seal(box.open(plain.scoped_token, context), context);
        else continue;
        await Bundle.update({ scoped_token: next }, { where: { id: plain.id }, transaction });
        changed += 1;
      }
      return changed;
    });
  }
}
