import { parseDatabaseUrl, type DatabaseConfig } from '../config/database';
import { ApiCallRepository } from './api-calls';
import { ApiTokenRepository, type VerifiedApiToken } from './api-tokens';
import { AssignmentRepository } from './assignments';
import { AuditLog } from './audit-log';
import { IncidentRepository } from './incidents';
import { AlertRepository } from './alerts';
import { BundleRepository } from './bundles';
import { CommitPushRepository, PeriodicLeaseRepository } from './commit-pushes';
import { ConsumedIdRepository } from './consumed-ids';
import { connectDatabase, type Database, type Dialect, type QueryTrace } from './database';
import { DeliveryRepository } from './deliveries';
import { EvaluationRepository } from './evaluations';
import { EvidenceKeyRepository } from './evidence-keys';
import { JobRepository } from './jobs';
import { appliedMigrations, migrateDatabase } from './migrate';
import { defineModels } from './models';
import { PolicyRepository } from './policies';
import { monotonicClock, type RepositoryContext } from './repository-context';
import { SecretBox } from './secret-box';
import { SettingsRepository } from './settings';
import { Tenants } from './tenants';
import { OAuthConsumerRepository, SignInRepository } from './sign-in';
import { WorkspaceDataRepository } from './workspace-data';

/**
 * The store: one object holding a repository per table. Every workspace-scoped method takes the
 * workspace id (Bitbucket workspace UUID in braces) first. `openStore` connects and migrates.
 */

export interface OpenStoreOptions {
  /** The current secret key (32 bytes, or the CLAWGATE_SECRET_KEY text form). See loadOrCreateSecretKey. */
  readonly secretKey: Uint8Array | string;
  /** Keys that may still decrypt stored secrets during a rotation. */
  readonly previousSecretKeys?: ReadonlyArray<Uint8Array | string>;
  /** Defaults to the system clock. */
  readonly clock?: () => Date;
  /** Run pending migrations on open (default true). */
  readonly migrate?: boolean;
  /** Base for relative SQLite paths (default process.cwd()). */
  readonly cwd?: string;
}

export interface Store {
  readonly config: DatabaseConfig;
  readonly dialect: Dialect;
  readonly tenants: Tenants;
  readonly settings: SettingsRepository;
  readonly policies: PolicyRepository;
  readonly assignments: AssignmentRepository;
  readonly bundles: BundleRepository;
  readonly evaluations: EvaluationRepository;
  readonly consumedIds: ConsumedIdRepository;
  readonly apiTokens: ApiTokenRepository;
  readonly audit: AuditLog;
  readonly incidents: IncidentRepository;
  /** The outgoing alert webhook, pending alerts and failed restores (alerts.ts). */
  readonly alerts: AlertRepository;
  readonly deliveries: DeliveryRepository;
  readonly jobs: JobRepository;
  readonly commitPushes: CommitPushRepository;
  readonly leases: PeriodicLeaseRepository;
  /** Bitbucket API calls per installation per hour (the API budget, src/pipeline/api-budget.ts). */
  readonly apiCalls: ApiCallRepository;
  /** Purging a workspace's data when it is unregistered (workspace-data.ts). */
  readonly workspaceData: WorkspaceDataRepository;
  /** The deployment's evidence-pack signing keys (not workspace-scoped). */
  readonly evidenceKeys: EvidenceKeyRepository;
  /** Sign in with Bitbucket: each workspace's OAuth consumer (docs/sign-in.md). */
  readonly oauthConsumers: OAuthConsumerRepository;
  /** Sign in with Bitbucket: sign-ins in flight and sessions. */
  readonly signIns: SignInRepository;
  /** Shorthand for `apiTokens.verifyApiToken`. */
  verifyApiToken(token: string): Promise<VerifiedApiToken | null>;
  /** Re-seals tenant secrets (and bundles' CSTs) under the current key; returns how many values changed. */
  rotateSecrets(): Promise<number>;
  appliedMigrations(): Promise<string[]>;
  /** For /readyz: true when the database answers. */
  ping(): Promise<boolean>;
  /** Counts the database round trips `work` makes into `trace` (see `Database.trace`). */
  traceQueries<T>(trace: QueryTrace, work: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

class SequelizeStore implements Store {
  readonly tenants: Tenants;
  readonly settings: SettingsRepository;
  readonly policies: PolicyRepository;
  readonly assignments: AssignmentRepository;
  readonly bundles: BundleRepository;
  readonly evaluations: EvaluationRepository;
  readonly consumedIds: ConsumedIdRepository;
  readonly apiTokens: ApiTokenRepository;
  readonly audit: AuditLog;
  readonly incidents: IncidentRepository;
  readonly alerts: AlertRepository;
  readonly deliveries: DeliveryRepository;
  readonly jobs: JobRepository;
  readonly commitPushes: CommitPushRepository;
  readonly leases: PeriodicLeaseRepository;
  readonly apiCalls: ApiCallRepository;
  readonly workspaceData: WorkspaceDataRepository;
  readonly evidenceKeys: EvidenceKeyRepository;
  readonly oauthConsumers: OAuthConsumerRepository;
  readonly signIns: SignInRepository;
  #closed = false;

  constructor(
    readonly config: DatabaseConfig,
    private readonly database: Database,
    context: RepositoryContext,
  ) {
    this.tenants = new Tenants(context);
    this.settings = new SettingsRepository(context);
    this.policies = new PolicyRepository(context);
    this.assignments = new AssignmentRepository(context);
    this.bundles = new BundleRepository(context);
    this.evaluations = new EvaluationRepository(context);
    this.consumedIds = new ConsumedIdRepository(context);
    this.apiTokens = new ApiTokenRepository(context);
    this.audit = new AuditLog(context);
    this.incidents = new IncidentRepository(context);
    this.alerts = new AlertRepository(context);
    this.deliveries = new DeliveryRepository(context);
    this.jobs = new JobRepository(context);
    this.commitPushes = new CommitPushRepository(context);
    this.leases = new PeriodicLeaseRepository(context);
    this.apiCalls = new ApiCallRepository(context);
    this.workspaceData = new WorkspaceDataRepository(context);
    this.evidenceKeys = new EvidenceKeyRepository(context);
    this.oauthConsumers = new OAuthConsumerRepository(context);
    this.signIns = new SignInRepository(context);
  }

  get dialect(): Dialect {
    return this.database.dialect;
  }

  verifyApiToken(token: string): Promise<VerifiedApiToken | null> {
    return this.apiTokens.verifyApiToken(token);
  }

  async rotateSecrets(): Promise<number> {
    return (await this.tenants.rotateSecrets()) + (await this.bundles.resealScopedTokens({ rotate: true }));
  }

  appliedMigrations(): Promise<string[]> {
    return appliedMigrations(this.database);
  }

  traceQueries<T>(trace: QueryTrace, work: () => Promise<T>): Promise<T> {
    return this.database.trace(trace, work);
  }

  async ping(): Promise<boolean> {
    try {
      await this.database.read(() => this.database.sequelize.query('SELECT 1'));
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.database.close();
  }
}

export async function openStore(databaseUrl: string | undefined, options: OpenStoreOptions): Promise<Store> {
  const config = parseDatabaseUrl(databaseUrl, options.cwd);
  // Build the box first: a bad key fails startup before anything touches the database.
  const secretBox = new SecretBox(options.secretKey, options.previousSecretKeys ?? []);
  const database = await connectDatabase(config);
  try {
    if (options.migrate !== false)
      await migrateDatabase(database, config.dialect === 'postgres' ? config.url : undefined);
    const models = defineModels(database.sequelize, database.dialect);
    const context: RepositoryContext = {
      db: database,
      models,
      secretBox,
      now: monotonicClock(options.clock ?? (() => new Date())),
    };
    const store = new SequelizeStore(config, database, context);
    // CSTs stored in clear before they were encrypted at rest are sealed now (fail closed: a store
    // that cannot seal them does not open).
    if (options.migrate !== false) await store.bundles.resealScopedTokens();
    return store;
  } catch (error) {
    await database.close().catch(() => undefined);
    throw error;
  }
}

export { parseDatabaseUrl, describeDatabase, DEFAULT_DATABASE_URL, type DatabaseConfig } from '../config/database';
export type { Dialect, QueryTrace } from './database';
export { StoreError, type StoreErrorCode } from './errors';
export type { WorkspaceId } from './workspace-id';
export { SecretValue } from './secret-value';
export {
  SecretBox,
  SecretKeyError,
  SecretDecryptionError,
  parseSecretKey,
  secretKeyId,
  loadOrCreateSecretKey,
  GENERATED_SECRET_KEY_FILE,
} from './secret-box';
export type { LoadedSecretKeys, SecretKeyEnvironment } from './secret-box';
export {
  workspaceSettingsSchema,
  enforcementModeSchema,
  defaultWorkspaceSettings,
  ENFORCEMENT_MODES,
} from './workspace-settings';
export type { WorkspaceSettings, EnforcementMode } from './workspace-settings';
export {
  TENANT_SURFACES,
  type Tenant,
  type TenantInstall,
  type TenantSurface,
  type ResolvedWorkspace,
  type Tenants,
} from './tenants';
export type { VersionedSettings, PutSettingsOptions, SettingsRepository } from './settings';
export type { StoredPolicy, NewPolicy, PolicyRepository } from './policies';
export {
  MAX_ASSIGNMENTS,
  type PolicyAssignment,
  type PolicyAssignmentInput,
  type AssignmentRepository,
} from './assignments';
export { BUNDLE_SOURCES, type BundleSource, type StoredBundle, type NewBundle, type BundleRepository } from './bundles';
export {
  STATUS_STATES,
  type StatusState,
  type NewEvaluation,
  type EvaluationRecord,
  type EvaluationRepository,
} from './evaluations';
export {
  CONSUMABLE_KINDS,
  type ConsumableKind,
  type ConsumableId,
  type ConsumedIdRecord,
  type ConsumingPullRequest,
  type ConsumeResult,
  type ConsumedIdRepository,
} from './consumed-ids';
export {
  API_TOKEN_PREFIX,
  TOKEN_SCOPES,
  DEFAULT_TOKEN_SCOPES,
  type TokenScope,
  type ApiTokenInfo,
  type VerifiedApiToken,
  type ApiTokenRepository,
} from './api-tokens';
export type { AuditEvent, AuditEventInput, AuditQuery, AuditLog } from './audit-log';
export {
  ALERT_STATES,
  MAX_PENDING_ALERTS,
  type Alert,
  type AlertState,
  type AlertWebhook,
  type NewAlert,
  type AlertRepository,
} from './alerts';
export {
  INCIDENT_ACTIONS,
  INCIDENT_STATUS_STATES,
  type Incident,
  type IncidentAction,
  type IncidentStatusState,
  type NewIncident,
  type IncidentRepository,
} from './incidents';
export type { DeliveryRepository } from './deliveries';
export type { EvidenceKeyInfo, EvidenceSigner, EvidenceKeyRepository } from './evidence-keys';
export {
  JOB_STATES,
  type JobState,
  type JobRecord,
  type ClaimedJob,
  type NewJob,
  type FailOutcome,
  type JobRepository,
} from './jobs';
export { MIGRATIONS_TABLE } from './migrate';
export { type ApiCallWindow, type ApiCallRepository } from './api-calls';
export type { CommitPush, CommitPushRepository, PeriodicLeaseRepository } from './commit-pushes';
export type { PurgedCounts, WorkspaceDataRepository } from './workspace-data';
export {
  bindingMatches,
  type OAuthConsumer,
  type OAuthConsumerRepository,
  type SignInRepository,
  type SignInSession,
  type SignInState,
} from './sign-in';
