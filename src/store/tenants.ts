import { randomUUID } from 'node:crypto';
import { Op, type Transaction } from 'sequelize';
import { appendAuditEvent } from './audit-log';
import { StoreError } from './errors';
import type { TenantRow } from './models';
import type { RepositoryContext } from './repository-context';
import { SecretValue } from './secret-value';
import { storedEnum } from './stored-enum';
import { workspaceKey, type WorkspaceId } from './workspace-id';

/**
 * One row per installation (Connect) or registration (repository webhooks). Tenants are found by
 * `client_key` before the workspace is known (that lookup is what identifies the workspace), so
 * these are the only lookups not scoped by workspace.
 * - Connect: `client_key` is the install payload's clientKey; `shared_secret` the JWT secret.
 * - Repository webhooks: `client_key` is chosen by the registering code (e.g. `repo_webhooks:{uuid}`);
 *   `shared_secret` holds the webhook HMAC secret and `access_token` the Bitbucket access token.
 * - Forge: `client_key` is the installation ARI (`ari:cloud:ecosystem::installation/<uuid>`, new on
 *   every reinstall); `access_token` the latest app system token Forge sent (src/forge/installations.ts).
 * Secrets are sealed with the SecretBox, bound to the column and client key, and handed out as
 * SecretValue (which prints as `[redacted]`).
 */

export const TENANT_SURFACES = ['connect', 'repo_webhooks', 'forge'] as const;
export type TenantSurface = (typeof TENANT_SURFACES)[number];

export interface Tenant {
  readonly id: string;
  readonly workspaceId: WorkspaceId;
  readonly workspaceSlug: string | null;
  readonly surface: TenantSurface;
  readonly clientKey: string;
  readonly appKey: string | null;
  readonly sharedSecret: SecretValue | null;
  readonly baseUrl: string | null;
  readonly baseApiUrl: string | null;
  readonly accessToken: SecretValue | null;
  readonly installedAt: Date;
  readonly uninstalledAt: Date | null;
  readonly installVerifiedAt: Date | null;
  readonly updatedAt: Date;
}

export interface TenantInstall {
  readonly workspaceId: WorkspaceId;
  readonly workspaceSlug?: string | null;
  readonly surface: TenantSurface;
  readonly clientKey: string;
  readonly appKey?: string | null;
  readonly sharedSecret?: string | null;
  readonly baseUrl?: string | null;
  readonly baseApiUrl?: string | null;
  readonly accessToken?: string | null;
  /** True when the caller verified the install (e.g. asymmetric install JWT); sets install_verified_at. */
  readonly verified?: boolean;
  /** Who installed, for the audit event. */
  readonly actor: string;
}

export interface ResolvedWorkspace {
  readonly workspaceId: WorkspaceId;
  readonly workspaceSlug: string | null;
  /** False when every tenant of the workspace is uninstalled. */
  readonly active: boolean;
}

const SHARED_SECRET_CONTEXT = (clientKey: string) => `tenants.shared_secret:${clientKey}`;
const ACCESS_TOKEN_CONTEXT = (clientKey: string) => `tenants.access_token:${clientKey}`;

function checkClientKey(clientKey: string): void {
  if (typeof clientKey !== 'string' || clientKey.length === 0 || clientKey.length > 255) {
    throw new StoreError('INVALID_INPUT', 'client key must be 1..255 characters');
  }
}

/** What an audit event may say about a tenant: never the secrets, only whether they are set. */
function auditView(row: TenantRow): Record<string, unknown> {
  return {
    surface: row.surface,
    client_key: row.client_key,
    workspace_slug: row.workspace_slug,
    app_key: row.app_key,
    base_url: row.base_url,
    base_api_url: row.base_api_url,
    has_shared_secret: row.shared_secret !== null,
    has_access_token: row.access_token !== null,
    uninstalled_at: row.uninstalled_at?.toISOString() ?? null,
  };
}

export class Tenants {
  constructor(private readonly context: RepositoryContext) {}

  private toTenant(row: TenantRow): Tenant {
    const box = this.context.secretBox;
    return {
      id: row.id,
      workspaceId: row.workspace_uuid,
      workspaceSlug: row.workspace_slug,
      surface: storedEnum(TENANT_SURFACES, row.surface, 'tenant surface'),
      clientKey: row.client_key,
      appKey: row.app_key,
      sharedSecret:
        row.shared_secret === null
          ? null
          : new SecretValue(box.open(row.shared_secret, SHARED_SECRET_CONTEXT(row.client_key))),
      baseUrl: row.base_url,
      baseApiUrl: row.base_api_url,
      accessToken:
        row.access_token === null
          ? null
          : new SecretValue(box.open(row.access_token, ACCESS_TOKEN_CONTEXT(row.client_key))),
      installedAt: row.installed_at,
      uninstalledAt: row.uninstalled_at,
      installVerifiedAt: row.install_verified_at,
      updatedAt: row.updated_at,
    };
  }

  private seal(value: string | null | undefined, context: string): string | null {
    return value === null || value === undefined ? null : this.context.secretBox.seal(value, context);
  }

  /**
   * Creates the tenant or, for a known client key, records a re-install (new secret, URLs,
   * `uninstalled_at` cleared; secrets left undefined are kept, null clears them). Authenticating a re-install is the caller's job. A client key never
   * moves between workspaces: that is refused.
   */
  async upsertInstall(install: TenantInstall): Promise<{ tenant: Tenant; created: boolean }> {
    checkClientKey(install.clientKey);
    const workspace = workspaceKey(install.workspaceId);
    if (!(TENANT_SURFACES as readonly string[]).includes(install.surface))
      throw new StoreError('INVALID_INPUT', 'unknown tenant surface');
    return this.context.db.write(async (transaction) => {
      const { Tenant } = this.context.models;
      const now = this.context.now();
      const existing = await Tenant.findOne({ where: { client_key: install.clientKey }, transaction });
      const values = {
        workspace_uuid: workspace,
        workspace_slug: install.workspaceSlug ?? null,
        surface: install.surface,
        app_key: install.appKey ?? null,
        shared_secret: this.seal(install.sharedSecret, SHARED_SECRET_CONTEXT(install.clientKey)),
        base_url: install.baseUrl ?? null,
        base_api_url: install.baseApiUrl ?? null,
        access_token: this.seal(install.accessToken, ACCESS_TOKEN_CONTEXT(install.clientKey)),
        installed_at: now,
        uninstalled_at: null,
        install_verified_at: install.verified === true ? now : null,
        updated_at: now,
      };
      if (existing === null) {
        const row = await Tenant.create(
          { id: randomUUID(), client_key: install.clientKey, ...values },
          { transaction },
        );
        const plain = row.get({ plain: true });
        await appendAuditEvent(
          this.context,
          workspace,
          { actor: install.actor, kind: 'tenant.installed', subject: install.clientKey, after: auditView(plain) },
          transaction,
        );
        return { tenant: this.toTenant(plain), created: true };
      }
      const before = existing.get({ plain: true });
      if (before.workspace_uuid !== workspace) {
        throw new StoreError('INVALID_INPUT', 'client key is already installed for another workspace');
      }
      // On a re-install a secret the caller does not mention (undefined) is kept; null clears it.
      const update: Partial<TenantRow> = { ...values };
      if (install.sharedSecret === undefined) delete update.shared_secret;
      if (install.accessToken === undefined) delete update.access_token;
      await existing.update(update, { transaction });
      const after = existing.get({ plain: true });
      await appendAuditEvent(
        this.context,
        workspace,
        {
          actor: install.actor,
          kind: 'tenant.reinstalled',
          subject: install.clientKey,
          before: auditView(before),
          after: auditView(after),
        },
        transaction,
      );
      return { tenant: this.toTenant(after), created: false };
    });
  }

  /** Finds a tenant by client key (installed or not; callers check `uninstalledAt`). */
  async findByClientKey(clientKey: string): Promise<Tenant | null> {
    checkClientKey(clientKey);
    return this.context.db.read(async () => {
      const row = await this.context.models.Tenant.findOne({ where: { client_key: clientKey } });
      return row === null ? null : this.toTenant(row.get({ plain: true }));
    });
  }

  /**
   * Whether the workspace has an installed tenant of `surface` updated after `updatedAfter`: one
   * indexed query and no secret opened, for a question asked on every webhook delivery.
   */
  async hasRecentInstallation(workspaceId: WorkspaceId, surface: TenantSurface, updatedAfter: Date): Promise<boolean> {
    const workspace = workspaceKey(workspaceId);
    return this.context.db.read(async () => {
      const row = await this.context.models.Tenant.findOne({
        attributes: ['id'],
        where: {
          workspace_uuid: workspace,
          surface,
          uninstalled_at: null,
          updated_at: { [Op.gt]: updatedAfter },
        },
        raw: true,
      });
      return row !== null;
    });
  }

  async listForWorkspace(workspaceId: WorkspaceId): Promise<Tenant[]> {
    const workspace = workspaceKey(workspaceId);
    return this.context.db.read(async () => {
      const rows = await this.context.models.Tenant.findAll({
        where: { workspace_uuid: workspace },
        order: [['installed_at', 'ASC']],
      });
      return rows.map((row) => this.toTenant(row.get({ plain: true })));
    });
  }

  /**
   * Every tenant (operator views such as `clawgate workspace list`), oldest first; optionally one
   * surface only. Not workspace-scoped on purpose: only operator tooling calls it.
   */
  async listAll(filter: { surface?: TenantSurface } = {}): Promise<Tenant[]> {
    return this.context.db.read(async () => {
      const rows = await this.context.models.Tenant.findAll({
        where: filter.surface === undefined ? {} : { surface: filter.surface },
        order: [['installed_at', 'ASC']],
      });
      return rows.map((row) => this.toTenant(row.get({ plain: true })));
    });
  }

  /** Resolves `{ws}` in API paths: a `{uuid}` or a slug, via the tenants that named it. */
  async resolveWorkspace(slugOrUuid: string): Promise<ResolvedWorkspace | null> {
    if (typeof slugOrUuid !== 'string' || slugOrUuid.length === 0 || slugOrUuid.length > 128)
      return Promise.resolve(null);
    const isUuid = slugOrUuid.startsWith('{');
    const where = isUuid ? { workspace_uuid: slugOrUuid.toLowerCase() } : { workspace_slug: slugOrUuid };
    return this.context.db.read(async () => {
      const rows = await this.context.models.Tenant.findAll({ where, order: [['updated_at', 'DESC']] });
      const first = rows[0]?.get({ plain: true });
      if (first === undefined) return null;
      const plain = rows.map((row) => row.get({ plain: true }));
      // Only tenants of the one workspace the newest row names count (slugs can be reused).
      const same = plain.filter((row) => row.workspace_uuid === first.workspace_uuid);
      return {
        workspaceId: first.workspace_uuid,
        workspaceSlug: first.workspace_slug,
        active: same.some((row) => row.uninstalled_at === null),
      };
    });
  }

  /** Marks the tenant uninstalled; keeps the row (and its audit trail). Returns null if unknown. */
  async markUninstalled(clientKey: string, actor: string): Promise<Tenant | null> {
    checkClientKey(clientKey);
    return this.context.db.write(async (transaction) => {
      const row = await this.context.models.Tenant.findOne({ where: { client_key: clientKey }, transaction });
      if (row === null) return null;
      const before = row.get({ plain: true });
      const now = this.context.now();
      await row.update({ uninstalled_at: now, updated_at: now }, { transaction });
      const after = row.get({ plain: true });
      await appendAuditEvent(
        this.context,
        before.workspace_uuid,
        { actor, kind: 'tenant.uninstalled', subject: clientKey, before: auditView(before), after: auditView(after) },
        transaction,
      );
      return this.toTenant(after);
    });
  }

  async markInstallVerified(workspaceId: WorkspaceId, clientKey: string): Promise<boolean> {
    const workspace = workspaceKey(workspaceId);
    return this.context.db.write(async (transaction) => {
      const now = this.context.now();
      const [count] = await this.context.models.Tenant.update(
        { install_verified_at: now, updated_at: now },
        { where: { workspace_uuid: workspace, client_key: clientKey }, transaction },
      );
      return count > 0;
    });
  }

  /** Replaces (or clears) the access token of a workspace's tenant; audited without the token. */
  async setAccessToken(
    workspaceId: WorkspaceId,
    clientKey: string,
    accessToken: string | null,
    actor: string,
  ): Promise<boolean> {
    return this.updateSecretColumn(
      workspaceId,
      clientKey,
      'access_token',
      accessToken,
      actor,
      ACCESS_TOKEN_CONTEXT(clientKey),
    );
  }

  /** Replaces the shared secret (Connect JWT secret or webhook HMAC secret); audited without the secret. */
  async setSharedSecret(
    workspaceId: WorkspaceId,
    clientKey: string,
    sharedSecret: string | null,
    actor: string,
  ): Promise<boolean> {
    return this.updateSecretColumn(
      workspaceId,
      clientKey,
      'shared_secret',
      sharedSecret,
      actor,
      SHARED_SECRET_CONTEXT(clientKey),
    );
  }

  private updateSecretColumn(
    workspaceId: WorkspaceId,
    clientKey: string,
    column: 'access_token' | 'shared_secret',
    value: string | null,
    actor: string,
    secretContext: string,
  ): Promise<boolean> {
    const workspace = workspaceKey(workspaceId);
    return this.context.db.write(async (transaction) => {
      const row = await this.context.models.Tenant.findOne({
        where: { workspace_uuid: workspace, client_key: clientKey },
        transaction,
      });
      if (row === null) return false;
      const before = row.get({ plain: true });
      const now = this.context.now();
      await row.update({ [column]: this.seal(value, secretContext), updated_at: now }, { transaction });
      await appendAuditEvent(
        this.context,
        workspace,
        {
          actor,
          kind: `tenant.${column}_changed`,
          subject: clientKey,
          before: auditView(before),
          after: auditView(row.get({ plain: true })),
        },
        transaction,
      );
      return true;
    });
  }

  /**
   * Re-seals every tenant secret that was sealed under an old key with the current key, in one
   * transaction. Run after moving the old key to CLAWGATE_SECRET_KEY_PREVIOUS; afterwards the old
   * key can be dropped. Returns the number of values re-sealed.
   */
  async rotateSecrets(): Promise<number> {
    return this.context.db.write(async (transaction: Transaction) => {
      const { Tenant } = this.context.models;
      const box = this.context.secretBox;
      const rows = await Tenant.findAll({
        where: { [Op.or]: [{ shared_secret: { [Op.ne]: null } }, { access_token: { [Op.ne]: null } }] },
        transaction,
      });
      let resealed = 0;
      for (const row of rows) {
        const plain = row.get({ plain: true });
        const changes: Partial<TenantRow> = {};
        if (plain.shared_secret !== null && box.isSealedWithOldKey(plain.shared_secret)) {
          const context = SHARED_SECRET_CONTEXT(plain.client_key);
          changes.shared_secret = box.seal(box.open(plain.shared_secret, context), context);
          resealed += 1;
        }
        if (plain.access_token !== null && box.isSealedWithOldKey(plain.access_token)) {
          const context = ACCESS_TOKEN_CONTEXT(plain.client_key);
          changes.access_token = box.seal(box.open(plain.access_token, context), context);
          resealed += 1;
        }
        if (Object.keys(changes).length > 0) await row.update(changes, { transaction });
      }
      return resealed;
    });
  }
}
