import { DataTypes } from 'sequelize';
import type { MigrationContext } from './migration-context';

/**
 * Issue 9 (agent work by provenance; a status first): who pushed each commit, as `repo:push` webhooks
 * named it (the git author of a commit is whatever the pusher wrote, so only the pusher is a fact),
 * and a lease table so a periodic task (the open-PR reconciliation) runs once per interval across
 * replicas. Only new tables; 0001 stays as it was.
 */
export const name = '0004-commit-pushes';

export async function up({ context }: { context: MigrationContext }): Promise<void> {
  const { queryInterface: qi, dialect } = context;
  const SERIAL = dialect === 'postgres' ? DataTypes.BIGINT : DataTypes.INTEGER;
  await qi.createTable('commit_pushes', {
    id: { type: SERIAL, primaryKey: true, autoIncrement: true, allowNull: false },
    workspace_uuid: { type: DataTypes.STRING(64), allowNull: false },
    repo_full_name: { type: DataTypes.STRING(255), allowNull: false },
    commit_sha: { type: DataTypes.STRING(40), allowNull: false },
    pusher_uuid: { type: DataTypes.STRING(64), allowNull: true },
    branch: { type: DataTypes.STRING(1024), allowNull: true },
    delivery_id: { type: DataTypes.STRING(128), allowNull: false },
    pushed_at: { type: DataTypes.DATE(3), allowNull: false },
  });
  await qi.addIndex('commit_pushes', ['workspace_uuid', 'repo_full_name', 'commit_sha'], {
    name: 'commit_pushes_commit',
  });
  await qi.addIndex('commit_pushes', ['pushed_at'], { name: 'commit_pushes_pushed_at' });

  await qi.createTable('periodic_leases', {
    name: { type: DataTypes.STRING(128), primaryKey: true, allowNull: false },
    next_run_at: { type: DataTypes.DATE(3), allowNull: false },
    holder: { type: DataTypes.STRING(128), allowNull: true },
  });
}

export async function down({ context }: { context: MigrationContext }): Promise<void> {
  await context.queryInterface.dropTable('periodic_leases');
  await context.queryInterface.dropTable('commit_pushes');
}
