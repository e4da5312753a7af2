import { DataTypes } from 'sequelize';
import type { MigrationContext } from './migration-context';

/**
 * Issue 11: an uploaded proof bundle may come with its sidecars — the Universal Run Manifest the
 * bundle references (`payload.urm`) and the harness's Trust Pulse — stored as the JSON text received
 * beside the envelope. Nullable: bundles without sidecars, and every existing row, have none.
 */
export const name = '0007-bundle-sidecars';

export async function up({ context }: { context: MigrationContext }): Promise<void> {
  const qi = context.queryInterface;
  await qi.addColumn('bundles', 'urm', { type: DataTypes.TEXT, allowNull: true });
  await qi.addColumn('bundles', 'trust_pulse', { type: DataTypes.TEXT, allowNull: true });
}

export async function down({ context }: { context: MigrationContext }): Promise<void> {
  const qi = context.queryInterface;
  await qi.removeColumn('bundles', 'trust_pulse');
  await qi.removeColumn('bundles', 'urm');
}
