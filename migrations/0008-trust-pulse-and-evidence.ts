import { DataTypes } from 'sequelize';
import type { MigrationContext } from './migration-context';

/**
 * Trust Pulses and evidence packs (issue 12). Adds only:
 * - `bundles.urm`, `bundles.trust_pulse`: the URM and Trust Pulse uploaded beside a bundle, as text.
 * - `evaluations.engine_input`: the engine's exact input for that evaluation (JSON text), so an
 *   evidence pack can be signed later and `clawgate verify` can re-derive the same verdict.
 * - `evidence_signing_keys`: the deployment's own Ed25519 keys (private keys sealed by the SecretBox);
 *   rotation retires a key but never deletes it, so old packs stay verifiable.
 */
export const name = '0008-trust-pulse-and-evidence';

export async function up({ context }: { context: MigrationContext }): Promise<void> {
  const { queryInterface: qi } = context;
  await qi.addColumn('bundles', 'urm', { type: DataTypes.TEXT, allowNull: true });
  await qi.addColumn('bundles', 'trust_pulse', { type: DataTypes.TEXT, allowNull: true });
  await qi.addColumn('evaluations', 'engine_input', { type: DataTypes.TEXT, allowNull: true });
  await qi.createTable('evidence_signing_keys', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    key_did: { type: DataTypes.STRING(128), allowNull: false, unique: true },
    public_key_b64u: { type: DataTypes.STRING(64), allowNull: false },
    private_key: { type: DataTypes.TEXT, allowNull: false }, // sealed by SecretBox
    created_at: { type: DataTypes.DATE(3), allowNull: false },
    retired_at: { type: DataTypes.DATE(3), allowNull: true },
  });
  await qi.addIndex('evaluations', ['workspace_uuid', 'created_at'], { name: 'evaluations_workspace_created' });
}

export async function down({ context }: { context: MigrationContext }): Promise<void> {
  const { queryInterface: qi } = context;
  await qi.removeIndex('evaluations', 'evaluations_workspace_created');
  await qi.dropTable('evidence_signing_keys');
  await qi.removeColumn('evaluations', 'engine_input');
  await qi.removeColumn('bundles', 'trust_pulse');
  await qi.removeColumn('bundles', 'urm');
}
