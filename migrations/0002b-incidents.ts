import { DataTypes } from 'sequelize';
import type { MigrationContext } from './migration-context';

/**
 * Incidents get their own table (until now they were audit events of kind `incident`, read back and
 * re-parsed on every evaluation). The audit events stay (the audit trail); their incident records are
 * copied into the new table, skipping any the reader skipped too (an action that is not a write
 * action, no delivery id, an unknown status state, a commit that is not 40 characters). `down` drops the table (the audit events still hold everything).
 */
export const name = '0002b-incidents';

const WRITE_ACTIONS = [
  'create_pr',
  'create_branch',
  'comment_pr',
  'merge_pr',
  'delete_branch',
  'direct_push_main',
  'change_repo_permissions',
];

export async function up({ context }: { context: MigrationContext }): Promise<void> {
  const { queryInterface: qi, dialect } = context;
  const SERIAL = dialect === 'postgres' ? DataTypes.BIGINT : DataTypes.INTEGER;
  await qi.createTable('incidents', {
    id: { type: SERIAL, primaryKey: true, autoIncrement: true },
    workspace_uuid: { type: DataTypes.STRING(64), allowNull: false },
    repo_full_name: { type: DataTypes.STRING(255), allowNull: false },
    incident_id: { type: DataTypes.STRING(64), allowNull: true },
    audit_event_id: { type: DataTypes.BIGINT, allowNull: true },
    action: { type: DataTypes.STRING(32), allowNull: false },
    branch: { type: DataTypes.STRING(1024), allowNull: true },
    commit_sha: { type: DataTypes.STRING(40), allowNull: true },
    pr_id: { type: DataTypes.INTEGER, allowNull: true },
    delivery_id: { type: DataTypes.STRING(128), allowNull: false },
    status_state: { type: DataTypes.STRING(16), allowNull: true },
    status_description: { type: DataTypes.STRING(255), allowNull: true },
    status_url: { type: DataTypes.STRING(2048), allowNull: true },
    created_at: { type: DataTypes.DATE(3), allowNull: false },
  });
  await qi.addIndex('incidents', ['workspace_uuid', 'repo_full_name', 'commit_sha'], {
    name: 'incidents_workspace_repo_commit',
  });
  await qi.addIndex('incidents', ['workspace_uuid', 'repo_full_name', 'delivery_id'], {
    name: 'incidents_workspace_repo_delivery',
  });
  await qi.addIndex('incidents', ['created_at'], { name: 'incidents_created_at' });

  const actions = WRITE_ACTIONS.map((action) => `'${action}'`).join(', ');
  if (dialect === 'postgres') {
    await qi.sequelize.query(
      `INSERT INTO incidents (workspace_uuid, repo_full_name, incident_id, audit_event_id, action, branch, commit_sha, pr_id, delivery_id, status_state, status_description, status_url, created_at)
       SELECT workspace_uuid, repo_full_name, LEFT(after->>'incident_id', 64), id, after->>'action', LEFT(after->>'branch', 1024), LEFT(after->>'commit', 40), pr_id,
              LEFT(after->>'delivery_id', 128), LEFT(after->>'status_state', 16), LEFT(after->>'status_description', 255), LEFT(after->>'status_url', 2048), at
       FROM audit_events
       WHERE kind = 'incident' AND repo_full_name IS NOT NULL AND after->>'action' IN (${actions}) AND after->>'delivery_id' IS NOT NULL
         AND (after->>'status_state' IS NULL OR after->>'status_state' IN ('SUCCESSFUL', 'FAILED')) AND (after->>'commit' IS NULL OR length(after->>'commit') = 40)
       ORDER BY id`,
    );
  } else {
    await qi.sequelize.query(
      `INSERT INTO incidents (workspace_uuid, repo_full_name, incident_id, audit_event_id, action, branch, commit_sha, pr_id, delivery_id, status_state, status_description, status_url, created_at)
       SELECT workspace_uuid, repo_full_name, substr(json_extract(after, '$.incident_id'), 1, 64), id, json_extract(after, '$.action'), substr(json_extract(after, '$.branch'), 1, 1024),
              substr(json_extract(after, '$.commit'), 1, 40), pr_id, substr(json_extract(after, '$.delivery_id'), 1, 128), substr(json_extract(after, '$.status_state'), 1, 16),
              substr(json_extract(after, '$.status_description'), 1, 255), substr(json_extract(after, '$.status_url'), 1, 2048), at
       FROM audit_events
       WHERE kind = 'incident' AND repo_full_name IS NOT NULL AND json_extract(after, '$.action') IN (${actions}) AND json_extract(after, '$.delivery_id') IS NOT NULL
         AND (json_extract(after, '$.status_state') IS NULL OR json_extract(after, '$.status_state') IN ('SUCCESSFUL', 'FAILED')) AND (json_extract(after, '$.commit') IS NULL OR length(json_extract(after, '$.commit')) = 40)
       ORDER BY id`,
    );
  }
}

export async function down({ context }: { context: MigrationContext }): Promise<void> {
  await context.queryInterface.dropTable('incidents');
}
