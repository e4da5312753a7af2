import { DataTypes } from 'sequelize';
import type { MigrationContext } from './migration-context';

/**
 * Issue 9 (forged statuses, alerts): a per-workspace outgoing alert webhook (its URL and its sealed
 * signing secret), the alerts clawgate owes it (pending until delivered, retried with backoff, so they
 * survive a restart), and the failed restores of forged statuses (counted per workspace in a time
 * window to raise an alert when restores keep failing). Only new tables.
 */
export const name = '0010-alerts-and-restores';

export async function up({ context }: { context: MigrationContext }): Promise<void> {
  const { queryInterface: qi, dialect } = context;
  const SERIAL = dialect === 'postgres' ? DataTypes.BIGINT : DataTypes.INTEGER;
  const JSON_TYPE = dialect === 'postgres' ? DataTypes.JSONB : DataTypes.JSON;
  await qi.createTable('alert_webhooks', {
    workspace_uuid: { type: DataTypes.STRING(64), primaryKey: true, allowNull: false },
    url: { type: DataTypes.STRING(2048), allowNull: false },
    secret_sealed: { type: DataTypes.TEXT, allowNull: false },
    created_at: { type: DataTypes.DATE(3), allowNull: false },
    updated_at: { type: DataTypes.DATE(3), allowNull: false },
  });
  await qi.createTable('alerts', {
    id: { type: SERIAL, primaryKey: true, autoIncrement: true, allowNull: false },
    workspace_uuid: { type: DataTypes.STRING(64), allowNull: false },
    alert_id: { type: DataTypes.STRING(64), allowNull: false },
    kind: { type: DataTypes.STRING(64), allowNull: false },
    subject: { type: DataTypes.STRING(512), allowNull: false },
    body: { type: JSON_TYPE, allowNull: false },
    state: { type: DataTypes.STRING(16), allowNull: false },
    attempts: { type: DataTypes.INTEGER, allowNull: false },
    next_attempt_at: { type: DataTypes.DATE(3), allowNull: false },
    last_error: { type: DataTypes.STRING(512), allowNull: true },
    created_at: { type: DataTypes.DATE(3), allowNull: false },
    finished_at: { type: DataTypes.DATE(3), allowNull: true },
  });
  await qi.addIndex('alerts', ['alert_id'], { name: 'alerts_alert_id', unique: true });
  await qi.addIndex('alerts', ['workspace_uuid', 'state', 'next_attempt_at'], { name: 'alerts_workspace_due' });
  await qi.addIndex('alerts', ['workspace_uuid', 'created_at'], { name: 'alerts_workspace_created' });
  await qi.createTable('restore_failures', {
    id: { type: SERIAL, primaryKey: true, autoIncrement: true, allowNull: false },
    workspace_uuid: { type: DataTypes.STRING(64), allowNull: false },
    repo_full_name: { type: DataTypes.STRING(255), allowNull: false },
    commit_sha: { type: DataTypes.STRING(40), allowNull: false },
    error: { type: DataTypes.STRING(512), allowNull: false },
    at: { type: DataTypes.DATE(3), allowNull: false },
  });
  await qi.addIndex('restore_failures', ['workspace_uuid', 'at'], { name: 'restore_failures_workspace_at' });
}

export async function down({ context }: { context: MigrationContext }): Promise<void> {
  await context.queryInterface.dropTable('restore_failures');
  await context.queryInterface.dropTable('alerts');
  await context.queryInterface.dropTable('alert_webhooks');
}
