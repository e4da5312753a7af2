import { DataTypes } from 'sequelize';
import type { MigrationContext } from './migration-context';

/**
 * Issues 9 and 15 (the API budget): Bitbucket API calls per installation per clock hour, shared by
 * every replica, with the 429s Bitbucket answered and when the last one came (reads pause after it).
 * One row per (workspace, installation, hour); rows older than a day are purged. Only a new table.
 */
export const name = '0009-api-call-budget';

export async function up({ context }: { context: MigrationContext }): Promise<void> {
  const { queryInterface: qi } = context;
  await qi.createTable('api_call_counts', {
    workspace_uuid: { type: DataTypes.STRING(64), allowNull: false, primaryKey: true },
    installation: { type: DataTypes.STRING(64), allowNull: false, primaryKey: true },
    hour_start: { type: DataTypes.BIGINT, allowNull: false, primaryKey: true },
    calls: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    rate_limited: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    last_rate_limited_at: { type: DataTypes.BIGINT, allowNull: true },
  });
  await qi.addIndex('api_call_counts', ['hour_start'], { name: 'api_call_counts_hour' });
}

export async function down({ context }: { context: MigrationContext }): Promise<void> {
  await context.queryInterface.dropTable('api_call_counts');
}
