import { DataTypes } from 'sequelize';
import type { MigrationContext } from './migration-context';

/**
 * The initial schema. A migration is a frozen snapshot: it does not import the models, so later
 * model changes cannot rewrite history. Same definitions on SQLite and Postgres; JSON is JSONB on
 * Postgres and JSON-as-TEXT on SQLite. Documents whose exact bytes matter (policy documents,
 * envelopes) are TEXT everywhere so their hashes can be re-verified.
 */
export const name = '0001-initial-schema';

const WORKSPACE = { type: DataTypes.STRING(64), allowNull: false } as const;
const CREATED_AT = { type: DataTypes.DATE(3), allowNull: false } as const;

export async function up({ context }: { context: MigrationContext }): Promise<void> {
  const { queryInterface: qi, dialect } = context;
  const JSON_TYPE = dialect === 'postgres' ? DataTypes.JSONB : DataTypes.JSON;
  // SQLite only auto-increments an INTEGER PRIMARY KEY; Postgres gets a bigserial.
  const SERIAL = dialect === 'postgres' ? DataTypes.BIGINT : DataTypes.INTEGER;

  await qi.createTable('tenants', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    workspace_uuid: WORKSPACE,
    workspace_slug: { type: DataTypes.STRING(128), allowNull: true },
    surface: { type: DataTypes.STRING(32), allowNull: false },
    client_key: { type: DataTypes.STRING(255), allowNull: false, unique: true },
    app_key: { type: DataTypes.STRING(255), allowNull: true },
    shared_secret: { type: DataTypes.TEXT, allowNull: true }, // sealed by SecretBox
    base_url: { type: DataTypes.STRING(2048), allowNull: true },
    base_api_url: { type: DataTypes.STRING(2048), allowNull: true },
    access_token: { type: DataTypes.TEXT, allowNull: true }, // sealed by SecretBox
    installed_at: CREATED_AT,
    uninstalled_at: { type: DataTypes.DATE(3), allowNull: true },
    install_verified_at: { type: DataTypes.DATE(3), allowNull: true },
    updated_at: CREATED_AT,
  });
  await qi.addIndex('tenants', ['workspace_uuid'], { name: 'tenants_workspace_uuid' });
  await qi.addIndex('tenants', ['workspace_slug'], { name: 'tenants_workspace_slug' });

  await qi.createTable('workspace_settings', {
    workspace_uuid: { ...WORKSPACE, primaryKey: true },
    document: { type: JSON_TYPE, allowNull: false },
    version: { type: DataTypes.INTEGER, allowNull: false },
    updated_at: CREATED_AT,
    updated_by: { type: DataTypes.STRING(255), allowNull: false },
  });

  await qi.createTable('policies', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    workspace_uuid: WORKSPACE,
    policy_hash_b64u: { type: DataTypes.STRING(64), allowNull: false },
    document: { type: DataTypes.TEXT, allowNull: false },
    envelope: { type: DataTypes.TEXT, allowNull: true },
    created_at: CREATED_AT,
    created_by: { type: DataTypes.STRING(255), allowNull: false },
    retired_at: { type: DataTypes.DATE(3), allowNull: true },
  });
  await qi.addIndex('policies', ['workspace_uuid', 'policy_hash_b64u'], {
    unique: true,
    name: 'policies_workspace_hash_unique',
  });

  await qi.createTable('policy_assignments', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    workspace_uuid: WORKSPACE,
    position: { type: DataTypes.INTEGER, allowNull: false },
    repo_glob: { type: DataTypes.STRING(512), allowNull: false },
    policy_hash_b64u: { type: DataTypes.STRING(64), allowNull: false },
    mode: { type: DataTypes.STRING(16), allowNull: true },
    created_at: CREATED_AT,
  });
  await qi.addIndex('policy_assignments', ['workspace_uuid', 'position'], {
    unique: true,
    name: 'policy_assignments_workspace_position_unique',
  });

  await qi.createTable('bundles', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    workspace_uuid: WORKSPACE,
    bundle_id: { type: DataTypes.STRING(255), allowNull: false },
    envelope: { type: DataTypes.TEXT, allowNull: false },
    scoped_token: { type: DataTypes.TEXT, allowNull: true },
    sha256_b64u: { type: DataTypes.STRING(64), allowNull: false },
    size: { type: DataTypes.INTEGER, allowNull: false },
    source: { type: DataTypes.STRING(32), allowNull: false },
    created_at: CREATED_AT,
  });
  await qi.addIndex('bundles', ['workspace_uuid', 'bundle_id'], {
    unique: true,
    name: 'bundles_workspace_bundle_unique',
  });

  await qi.createTable('evaluations', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    workspace_uuid: WORKSPACE,
    repo_full_name: { type: DataTypes.STRING(255), allowNull: false },
    pr_id: { type: DataTypes.INTEGER, allowNull: false },
    head_sha: { type: DataTypes.STRING(40), allowNull: false },
    state: { type: DataTypes.STRING(32), allowNull: false },
    mode: { type: DataTypes.STRING(16), allowNull: false },
    status_state: { type: DataTypes.STRING(16), allowNull: false },
    verdict: { type: JSON_TYPE, allowNull: false },
    bundle_id: { type: DataTypes.STRING(255), allowNull: true },
    bundle_sha256_b64u: { type: DataTypes.STRING(64), allowNull: true },
    bundle_source: { type: DataTypes.STRING(32), allowNull: true },
    policy_hash_b64u: { type: DataTypes.STRING(64), allowNull: true },
    pr_url: { type: DataTypes.STRING(2048), allowNull: true },
    commits: { type: JSON_TYPE, allowNull: false },
    created_at: CREATED_AT,
  });
  await qi.addIndex('evaluations', ['workspace_uuid', 'repo_full_name', 'pr_id', 'created_at'], {
    name: 'evaluations_workspace_pr_created',
  });

  await qi.createTable('consumed_ids', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    workspace_uuid: WORKSPACE,
    kind: { type: DataTypes.STRING(16), allowNull: false },
    value: { type: DataTypes.STRING(512), allowNull: false },
    first_repo: { type: DataTypes.STRING(255), allowNull: false },
    first_pr_id: { type: DataTypes.INTEGER, allowNull: false },
    evaluation_id: { type: DataTypes.UUID, allowNull: true },
    created_at: CREATED_AT,
  });
  // The anti-replay guarantee lives in this constraint, not in application code.
  await qi.addIndex('consumed_ids', ['workspace_uuid', 'kind', 'value'], {
    unique: true,
    name: 'consumed_ids_workspace_kind_value_unique',
  });

  await qi.createTable('api_tokens', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    workspace_uuid: WORKSPACE,
    token_hash: { type: DataTypes.STRING(64), allowNull: false, unique: true },
    prefix: { type: DataTypes.STRING(32), allowNull: false },
    label: { type: DataTypes.STRING(128), allowNull: true },
    created_by: { type: DataTypes.STRING(255), allowNull: false },
    created_at: CREATED_AT,
    revoked_at: { type: DataTypes.DATE(3), allowNull: true },
    last_used_at: { type: DataTypes.DATE(3), allowNull: true },
  });
  await qi.addIndex('api_tokens', ['prefix'], { name: 'api_tokens_prefix' });
  await qi.addIndex('api_tokens', ['workspace_uuid'], { name: 'api_tokens_workspace' });

  await qi.createTable('audit_events', {
    id: { type: SERIAL, primaryKey: true, autoIncrement: true },
    workspace_uuid: WORKSPACE,
    at: CREATED_AT,
    actor: { type: DataTypes.STRING(255), allowNull: false },
    kind: { type: DataTypes.STRING(64), allowNull: false },
    subject: { type: DataTypes.STRING(512), allowNull: false },
    before: { type: JSON_TYPE, allowNull: true },
    after: { type: JSON_TYPE, allowNull: true },
    repo_full_name: { type: DataTypes.STRING(255), allowNull: true },
    pr_id: { type: DataTypes.INTEGER, allowNull: true },
  });
  await qi.addIndex('audit_events', ['workspace_uuid', 'at'], { name: 'audit_events_workspace_at' });
  await qi.addIndex('audit_events', ['workspace_uuid', 'repo_full_name', 'pr_id'], {
    name: 'audit_events_workspace_pr',
  });
  await qi.addIndex('audit_events', ['at'], { name: 'audit_events_at' });

  await qi.createTable('webhook_deliveries', {
    workspace_uuid: { ...WORKSPACE, primaryKey: true },
    request_uuid: { type: DataTypes.STRING(128), allowNull: false, primaryKey: true },
    event: { type: DataTypes.STRING(64), allowNull: false },
    received_at: CREATED_AT,
  });
  await qi.addIndex('webhook_deliveries', ['received_at'], { name: 'webhook_deliveries_received_at' });

  await qi.createTable('jobs', {
    id: { type: DataTypes.UUID, primaryKey: true, allowNull: false },
    name: { type: DataTypes.STRING(64), allowNull: false },
    key: { type: DataTypes.STRING(512), allowNull: false },
    supersedes: { type: DataTypes.STRING(512), allowNull: true },
    payload: { type: JSON_TYPE, allowNull: false },
    state: { type: DataTypes.STRING(16), allowNull: false },
    attempts: { type: DataTypes.INTEGER, allowNull: false },
    max_attempts: { type: DataTypes.INTEGER, allowNull: false },
    run_after: CREATED_AT,
    locked_by: { type: DataTypes.STRING(128), allowNull: true },
    lock_token: { type: DataTypes.UUID, allowNull: true },
    locked_at: { type: DataTypes.DATE(3), allowNull: true },
    lease_until: { type: DataTypes.DATE(3), allowNull: true },
    last_error: { type: DataTypes.TEXT, allowNull: true },
    superseded_by: { type: DataTypes.UUID, allowNull: true },
    created_at: CREATED_AT,
    updated_at: CREATED_AT,
    finished_at: { type: DataTypes.DATE(3), allowNull: true },
  });
  // At most one pending job per (name, key): this is what makes enqueue dedupe race-safe.
  await qi.addIndex('jobs', ['name', 'key'], {
    unique: true,
    where: { state: 'pending' },
    name: 'jobs_pending_key_unique',
  });
  await qi.addIndex('jobs', ['state', 'run_after'], { name: 'jobs_state_run_after' });
  await qi.addIndex('jobs', ['name', 'supersedes', 'state'], { name: 'jobs_supersedes_state' });
}

export async function down({ context }: { context: MigrationContext }): Promise<void> {
  const qi = context.queryInterface;
  for (const table of [
    'jobs',
    'webhook_deliveries',
    'audit_events',
    'api_tokens',
    'consumed_ids',
    'evaluations',
    'bundles',
    'policy_assignments',
    'policies',
    'workspace_settings',
    'tenants',
  ]) {
    await qi.dropTable(table);
  }
}
