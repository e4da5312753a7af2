import { DataTypes, type Model, type ModelStatic, type Sequelize } from 'sequelize';
import type { Dialect } from './database';

/**
 * Sequelize mappings of the tables created by the migrations (never `sync()`ed). Rows are plain
 * snake_case records; the repositories turn them into the camelCase API types.
 */

export interface TenantRow {
  id: string;
  workspace_uuid: string;
  workspace_slug: string | null;
  surface: string;
  client_key: string;
  app_key: string | null;
  shared_secret: string | null;
  base_url: string | null;
  base_api_url: string | null;
  access_token: string | null;
  installed_at: Date;
  uninstalled_at: Date | null;
  install_verified_at: Date | null;
  updated_at: Date;
}

export interface SettingsRow {
  workspace_uuid: string;
  document: unknown;
  version: number;
  updated_at: Date;
  updated_by: string;
}

export interface PolicyRow {
  id: string;
  workspace_uuid: string;
  policy_hash_b64u: string;
  document: string;
  envelope: string | null;
  created_at: Date;
  created_by: string;
  retired_at: Date | null;
}

export interface AssignmentRow {
  id: string;
  workspace_uuid: string;
  position: number;
  repo_glob: string;
  policy_hash_b64u: string;
  mode: string | null;
  created_at: Date;
}

export interface BundleRow {
  id: string;
  workspace_uuid: string;
  bundle_id: string;
  envelope: string;
  /** Sealed by the SecretBox (older rows: clear text until sealed on open). */
  scoped_token: string | null;
  sha256_b64u: string;
  size: number;
  source: string;
  uploaded_by: string | null;
  created_at: Date;
  urm?: string | null;
  trust_pulse?: string | null;
}

export interface EvaluationRow {
  id: string;
  workspace_uuid: string;
  repo_full_name: string;
  pr_id: number;
  head_sha: string;
  state: string;
  mode: string;
  status_state: string;
  verdict: unknown;
  bundle_id: string | null;
  bundle_sha256_b64u: string | null;
  bundle_source: string | null;
  policy_hash_b64u: string | null;
  pr_url: string | null;
  commits: unknown;
  status_description: string | null;
  source_branch: string | null;
  created_at: Date;
  engine_input?: string | null;
}

export interface EvidenceKeyRow {
  id: string;
  key_did: string;
  public_key_b64u: string;
  private_key: string;
  created_at: Date;
  retired_at: Date | null;
}

export interface OAuthConsumerRow {
  workspace_uuid: string;
  consumer_key: string;
  /** Sealed by the SecretBox. */
  consumer_secret: string;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

export interface SignInStateRow {
  id: string;
  state_hash: string;
  binding_hash: string;
  workspace_uuid: string;
  /** Sealed by the SecretBox. */
  code_verifier: string;
  return_path: string;
  created_at: Date;
  expires_at: Date;
  consumed_at: Date | null;
}

export interface SignInSessionRow {
  id: string;
  workspace_uuid: string;
  account_uuid: string;
  cookie_hash: string;
  /** Sealed by the SecretBox. */
  signing_key: string;
  /** Sealed by the SecretBox. */
  user_token: string;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
}

export interface ConsumedIdRow {
  id: string;
  workspace_uuid: string;
  kind: string;
  value: string;
  first_repo: string;
  first_pr_id: number;
  evaluation_id: string | null;
  created_at: Date;
}

export interface ApiTokenRow {
  id: string;
  workspace_uuid: string;
  token_hash: string;
  prefix: string;
  label: string | null;
  created_by: string;
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
  /** JSON array of TokenScope. */
  scopes: string;
}

export interface AuditEventRow {
  id: number | string; // BIGINT comes back from pg as a string
  workspace_uuid: string;
  at: Date;
  actor: string;
  kind: string;
  subject: string;
  before: unknown;
  after: unknown;
  repo_full_name: string | null;
  pr_id: number | null;
}

export interface CommitPushRow {
  id: number;
  workspace_uuid: string;
  repo_full_name: string;
  commit_sha: string;
  pusher_uuid: string | null;
  branch: string | null;
  delivery_id: string;
  pushed_at: Date;
}
type CommitPushCreation = Omit<CommitPushRow, 'id'>;

export interface PeriodicLeaseRow {
  name: string;
  next_run_at: Date;
  holder: string | null;
}

export interface IncidentRow {
  id: number | string; // BIGINT comes back from pg as a string
  workspace_uuid: string;
  repo_full_name: string;
  incident_id: string | null;
  audit_event_id: number | string | null;
  action: string;
  branch: string | null;
  commit_sha: string | null;
  pr_id: number | null;
  delivery_id: string;
  status_state: string | null;
  status_description: string | null;
  status_url: string | null;
  created_at: Date;
}

export interface AlertWebhookRow {
  workspace_uuid: string;
  url: string;
  secret_sealed: string;
  created_at: Date;
  updated_at: Date;
}

export interface AlertRow {
  id: number | string;
  workspace_uuid: string;
  alert_id: string;
  kind: string;
  subject: string;
  body: unknown;
  state: string;
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  created_at: Date;
  finished_at: Date | null;
}

export interface RestoreFailureRow {
  id: number | string;
  workspace_uuid: string;
  repo_full_name: string;
  commit_sha: string;
  error: string;
  at: Date;
}

export interface DeliveryRow {
  workspace_uuid: string;
  request_uuid: string;
  event: string;
  received_at: Date;
}

export interface JobRow {
  id: string;
  name: string;
  key: string;
  supersedes: string | null;
  payload: unknown;
  state: string;
  attempts: number;
  max_attempts: number;
  run_after: Date;
  locked_by: string | null;
  lock_token: string | null;
  locked_at: Date | null;
  lease_until: Date | null;
  last_error: string | null;
  superseded_by: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

type AuditEventCreation = Omit<AuditEventRow, 'id'>;
type IncidentCreation = Omit<IncidentRow, 'id'>;

export interface Models {
  Tenant: ModelStatic<Model<TenantRow, TenantRow>>;
  Settings: ModelStatic<Model<SettingsRow, SettingsRow>>;
  Policy: ModelStatic<Model<PolicyRow, PolicyRow>>;
  Assignment: ModelStatic<Model<AssignmentRow, AssignmentRow>>;
  Bundle: ModelStatic<Model<BundleRow, BundleRow>>;
  Evaluation: ModelStatic<Model<EvaluationRow, EvaluationRow>>;
  ConsumedId: ModelStatic<Model<ConsumedIdRow, ConsumedIdRow>>;
  ApiToken: ModelStatic<Model<ApiTokenRow, ApiTokenRow>>;
  AuditEvent: ModelStatic<Model<AuditEventRow, AuditEventCreation>>;
  Incident: ModelStatic<Model<IncidentRow, IncidentCreation>>;
  Delivery: ModelStatic<Model<DeliveryRow, DeliveryRow>>;
  Job: ModelStatic<Model<JobRow, JobRow>>;
  CommitPush: ModelStatic<Model<CommitPushRow, CommitPushCreation>>;
  PeriodicLease: ModelStatic<Model<PeriodicLeaseRow, PeriodicLeaseRow>>;
  EvidenceKey: ModelStatic<Model<EvidenceKeyRow, EvidenceKeyRow>>;
  OAuthConsumer: ModelStatic<Model<OAuthConsumerRow, OAuthConsumerRow>>;
  SignInState: ModelStatic<Model<SignInStateRow, SignInStateRow>>;
  SignInSession: ModelStatic<Model<SignInSessionRow, SignInSessionRow>>;
  AlertWebhook: ModelStatic<Model<AlertWebhookRow, AlertWebhookRow>>;
  Alert: ModelStatic<Model<AlertRow, Omit<AlertRow, 'id'>>>;
  RestoreFailure: ModelStatic<Model<RestoreFailureRow, Omit<RestoreFailureRow, 'id'>>>;
}

export function defineModels(sequelize: Sequelize, dialect: Dialect): Models {
  const JSON_TYPE = dialect === 'postgres' ? DataTypes.JSONB : DataTypes.JSON;
  const options = (tableName: string) => ({ tableName, timestamps: false, freezeTableName: true });
  const uuidKey = { type: DataTypes.UUID, primaryKey: true, allowNull: false };
  const text = (allowNull: boolean) => ({ type: DataTypes.TEXT, allowNull });
  const str = (length: number, allowNull: boolean) => ({ type: DataTypes.STRING(length), allowNull });
  const date = (allowNull: boolean) => ({ type: DataTypes.DATE(3), allowNull });
  const int = (allowNull: boolean) => ({ type: DataTypes.INTEGER, allowNull });
  const json = (allowNull: boolean) => ({ type: JSON_TYPE, allowNull });

  return {
    Tenant: sequelize.define<Model<TenantRow, TenantRow>>(
      'Tenant',
      {
        id: uuidKey,
        workspace_uuid: str(64, false),
        workspace_slug: str(128, true),
        surface: str(32, false),
        client_key: str(255, false),
        app_key: str(255, true),
        shared_secret: text(true),
        base_url: str(2048, true),
        base_api_url: str(2048, true),
        access_token: text(true),
        installed_at: date(false),
        uninstalled_at: date(true),
        install_verified_at: date(true),
        updated_at: date(false),
      },
      options('tenants'),
    ),
    Settings: sequelize.define<Model<SettingsRow, SettingsRow>>(
      'Settings',
      {
        workspace_uuid: { type: DataTypes.STRING(64), primaryKey: true, allowNull: false },
        document: json(false),
        version: int(false),
        updated_at: date(false),
        updated_by: str(255, false),
      },
      options('workspace_settings'),
    ),
    Policy: sequelize.define<Model<PolicyRow, PolicyRow>>(
      'Policy',
      {
        id: uuidKey,
        workspace_uuid: str(64, false),
        policy_hash_b64u: str(64, false),
        document: text(false),
        envelope: text(true),
        created_at: date(false),
        created_by: str(255, false),
        retired_at: date(true),
      },
      options('policies'),
    ),
    Assignment: sequelize.define<Model<AssignmentRow, AssignmentRow>>(
      'Assignment',
      {
        id: uuidKey,
        workspace_uuid: str(64, false),
        position: int(false),
        repo_glob: str(512, false),
        policy_hash_b64u: str(64, false),
        mode: str(16, true),
        created_at: date(false),
      },
      options('policy_assignments'),
    ),
    Bundle: sequelize.define<Model<BundleRow, BundleRow>>(
      'Bundle',
      {
        id: uuidKey,
        workspace_uuid: str(64, false),
        bundle_id: str(255, false),
        envelope: text(false),
        scoped_token: text(true),
        sha256_b64u: str(64, false),
        size: int(false),
        source: str(32, false),
        uploaded_by: str(255, true),
        created_at: date(false),
        urm: text(true),
        trust_pulse: text(true),
      },
      options('bundles'),
    ),
    Evaluation: sequelize.define<Model<EvaluationRow, EvaluationRow>>(
      'Evaluation',
      {
        id: uuidKey,
        workspace_uuid: str(64, false),
        repo_full_name: str(255, false),
        pr_id: int(false),
        head_sha: str(40, false),
        state: str(32, false),
        mode: str(16, false),
        status_state: str(16, false),
        verdict: json(false),
        bundle_id: str(255, true),
        bundle_sha256_b64u: str(64, true),
        bundle_source: str(32, true),
        policy_hash_b64u: str(64, true),
        pr_url: str(2048, true),
        commits: json(false),
        status_description: str(255, true),
        source_branch: str(1024, true),
        created_at: date(false),
        engine_input: text(true),
      },
      options('evaluations'),
    ),
    ConsumedId: sequelize.define<Model<ConsumedIdRow, ConsumedIdRow>>(
      'ConsumedId',
      {
        id: uuidKey,
        workspace_uuid: str(64, false),
        kind: str(16, false),
        value: str(512, false),
        first_repo: str(255, false),
        first_pr_id: int(false),
        evaluation_id: { type: DataTypes.UUID, allowNull: true },
        created_at: date(false),
      },
      options('consumed_ids'),
    ),
    ApiToken: sequelize.define<Model<ApiTokenRow, ApiTokenRow>>(
      'ApiToken',
      {
        id: uuidKey,
        workspace_uuid: str(64, false),
        token_hash: str(64, false),
        prefix: str(32, false),
        label: str(128, true),
        created_by: str(255, false),
        created_at: date(false),
        revoked_at: date(true),
        last_used_at: date(true),
        scopes: str(128, false),
      },
      options('api_tokens'),
    ),
    AuditEvent: sequelize.define<Model<AuditEventRow, AuditEventCreation>>(
      'AuditEvent',
      {
        id: {
          type: dialect === 'postgres' ? DataTypes.BIGINT : DataTypes.INTEGER,
          primaryKey: true,
          autoIncrement: true,
        },
        workspace_uuid: str(64, false),
        at: date(false),
        actor: str(255, false),
        kind: str(64, false),
        subject: str(512, false),
        before: json(true),
        after: json(true),
        repo_full_name: str(255, true),
        pr_id: int(true),
      },
      options('audit_events'),
    ),
    Incident: sequelize.define<Model<IncidentRow, IncidentCreation>>(
      'Incident',
      {
        id: {
          type: dialect === 'postgres' ? DataTypes.BIGINT : DataTypes.INTEGER,
          primaryKey: true,
          autoIncrement: true,
        },
        workspace_uuid: str(64, false),
        repo_full_name: str(255, false),
        incident_id: str(64, true),
        audit_event_id: { type: DataTypes.BIGINT, allowNull: true },
        action: str(32, false),
        branch: str(1024, true),
        commit_sha: str(40, true),
        pr_id: int(true),
        delivery_id: str(128, false),
        status_state: str(16, true),
        status_description: str(255, true),
        status_url: str(2048, true),
        created_at: date(false),
      },
      options('incidents'),
    ),
    Delivery: sequelize.define<Model<DeliveryRow, DeliveryRow>>(
      'Delivery',
      {
        workspace_uuid: { type: DataTypes.STRING(64), primaryKey: true, allowNull: false },
        request_uuid: { type: DataTypes.STRING(128), primaryKey: true, allowNull: false },
        event: str(64, false),
        received_at: date(false),
      },
      options('webhook_deliveries'),
    ),
    Job: sequelize.define<Model<JobRow, JobRow>>(
      'Job',
      {
        id: uuidKey,
        name: str(64, false),
        key: str(512, false),
        supersedes: str(512, true),
        payload: json(false),
        state: str(16, false),
        attempts: int(false),
        max_attempts: int(false),
        run_after: date(false),
        locked_by: str(128, true),
        lock_token: { type: DataTypes.UUID, allowNull: true },
        locked_at: date(true),
        lease_until: date(true),
        last_error: text(true),
        superseded_by: { type: DataTypes.UUID, allowNull: true },
        created_at: date(false),
        updated_at: date(false),
        finished_at: date(true),
      },
      options('jobs'),
    ),
    CommitPush: sequelize.define<Model<CommitPushRow, CommitPushCreation>>(
      'CommitPush',
      {
        id: {
          type: dialect === 'postgres' ? DataTypes.BIGINT : DataTypes.INTEGER,
          primaryKey: true,
          autoIncrement: true,
        },
        workspace_uuid: str(64, false),
        repo_full_name: str(255, false),
        commit_sha: str(40, false),
        pusher_uuid: str(64, true),
        branch: str(1024, true),
        delivery_id: str(128, false),
        pushed_at: date(false),
      },
      options('commit_pushes'),
    ),
    PeriodicLease: sequelize.define<Model<PeriodicLeaseRow, PeriodicLeaseRow>>(
      'PeriodicLease',
      {
        name: { type: DataTypes.STRING(128), primaryKey: true, allowNull: false },
        next_run_at: date(false),
        holder: str(128, true),
      },
      options('periodic_leases'),
    ),
    EvidenceKey: sequelize.define<Model<EvidenceKeyRow, EvidenceKeyRow>>(
      'EvidenceKey',
      {
        id: uuidKey,
        key_did: str(128, false),
        public_key_b64u: str(64, false),
        private_key: text(false),
        created_at: date(false),
        retired_at: date(true),
      },
      options('evidence_signing_keys'),
    ),
    OAuthConsumer: sequelize.define<Model<OAuthConsumerRow, OAuthConsumerRow>>(
      'OAuthConsumer',
      {
        workspace_uuid: { type: DataTypes.STRING(64), primaryKey: true, allowNull: false },
        consumer_key: str(255, false),
        consumer_secret: text(false),
        created_by: str(255, false),
        created_at: date(false),
        updated_at: date(false),
      },
      options('oauth_consumers'),
    ),
    SignInState: sequelize.define<Model<SignInStateRow, SignInStateRow>>(
      'SignInState',
      {
        id: uuidKey,
        state_hash: str(64, false),
        binding_hash: str(64, false),
        workspace_uuid: str(64, false),
        code_verifier: text(false),
        return_path: str(2048, false),
        created_at: date(false),
        expires_at: date(false),
        consumed_at: date(true),
      },
      options('oauth_sign_in_states'),
    ),
    SignInSession: sequelize.define<Model<SignInSessionRow, SignInSessionRow>>(
      'SignInSession',
      {
        id: uuidKey,
        workspace_uuid: str(64, false),
        account_uuid: str(64, false),
        cookie_hash: str(64, false),
        signing_key: text(false),
        user_token: text(false),
        created_at: date(false),
        expires_at: date(false),
        revoked_at: date(true),
      },
      options('oauth_sessions'),
    ),
    AlertWebhook: sequelize.define<Model<AlertWebhookRow, AlertWebhookRow>>(
      'AlertWebhook',
      {
        workspace_uuid: { type: DataTypes.STRING(64), primaryKey: true, allowNull: false },
        url: str(2048, false),
        secret_sealed: text(false),
        created_at: date(false),
        updated_at: date(false),
      },
      options('alert_webhooks'),
    ),
    Alert: sequelize.define<Model<AlertRow, Omit<AlertRow, 'id'>>>(
      'Alert',
      {
        id: {
          type: dialect === 'postgres' ? DataTypes.BIGINT : DataTypes.INTEGER,
          primaryKey: true,
          autoIncrement: true,
        },
        workspace_uuid: str(64, false),
        alert_id: str(64, false),
        kind: str(64, false),
        subject: str(512, false),
        body: json(false),
        state: str(16, false),
        attempts: int(false),
        next_attempt_at: date(false),
        last_error: str(512, true),
        created_at: date(false),
        finished_at: date(true),
      },
      options('alerts'),
    ),
    RestoreFailure: sequelize.define<Model<RestoreFailureRow, Omit<RestoreFailureRow, 'id'>>>(
      'RestoreFailure',
      {
        id: {
          type: dialect === 'postgres' ? DataTypes.BIGINT : DataTypes.INTEGER,
          primaryKey: true,
          autoIncrement: true,
        },
        workspace_uuid: str(64, false),
        repo_full_name: str(255, false),
        commit_sha: str(40, false),
        error: str(512, false),
        at: date(false),
      },
      options('restore_failures'),
    ),
  };
}
