import { UniqueConstraintError } from 'sequelize';
import { appendAuditEvent } from './audit-log';
import { StoreError } from './errors';
import type { RepositoryContext } from './repository-context';
import { defaultWorkspaceSettings, workspaceSettingsSchema, type WorkspaceSettings } from './workspace-settings';
import { workspaceKey, type WorkspaceId } from './workspace-id';

export interface VersionedSettings {
  readonly settings: WorkspaceSettings;
  /** 0 when nothing was ever saved (the defaults); increments by one on every save. */
  readonly version: number;
  readonly updatedAt: Date | null;
  readonly updatedBy: string | null;
}

export interface PutSettingsOptions {
  /**
   * Optimistic concurrency: the version the caller read. A mismatch is VERSION_CONFLICT.
   * Omit for last-writer-wins.
   */
  readonly expectedVersion?: number;
  readonly actor: string;
}

function parseStored(document: unknown): WorkspaceSettings {
  const parsed = workspaceSettingsSchema.safeParse(document);
  if (!parsed.success) throw new StoreError('CORRUPT_ROW', 'stored workspace settings fail validation');
  return parsed.data;
}

export class SettingsRepository {
  constructor(private readonly context: RepositoryContext) {}

  async get(workspaceId: WorkspaceId): Promise<VersionedSettings> {
    const workspace = workspaceKey(workspaceId);
    return this.context.db.read(async () => {
      const row = await this.context.models.Settings.findByPk(workspace);
      if (row === null) return { settings: defaultWorkspaceSettings(), version: 0, updatedAt: null, updatedBy: null };
      const plain = row.get({ plain: true });
      return {
        settings: parseStored(plain.document),
        version: plain.version,
        updatedAt: plain.updated_at,
        updatedBy: plain.updated_by,
      };
    });
  }

  /** Validates and saves the whole settings document; audits `settings.updated` with before/after. */
  async put(
    workspaceId: WorkspaceId,
    settings: WorkspaceSettings,
    options: PutSettingsOptions,
  ): Promise<VersionedSettings> {
    const workspace = workspaceKey(workspaceId);
    const parsed = workspaceSettingsSchema.safeParse(settings);
    if (!parsed.success)
      throw new StoreError(
        'INVALID_INPUT',
        `settings fail validation: ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`,
      );
    const document = parsed.data;
    return this.context.db
      .write(async (transaction) => {
        const { Settings } = this.context.models;
        const now = this.context.now();
        const existing = await Settings.findByPk(workspace, { transaction });
        const previous = existing === null ? null : existing.get({ plain: true });
        const currentVersion = previous === null ? 0 : previous.version;
        if (options.expectedVersion !== undefined && options.expectedVersion !== currentVersion) {
          throw new StoreError(
            'VERSION_CONFLICT',
            `settings are at version ${currentVersion}, not ${options.expectedVersion}`,
          );
        }
        const version = currentVersion + 1;
        if (existing === null) {
          // A concurrent first save loses on the primary key and surfaces as an error, never a silent overwrite.
          await Settings.create(
            { workspace_uuid: workspace, document, version, updated_at: now, updated_by: options.actor },
            { transaction },
          );
        } else {
          const [count] = await Settings.update(
            { document, version, updated_at: now, updated_by: options.actor },
            { where: { workspace_uuid: workspace, version: currentVersion }, transaction },
          );
          if (count !== 1) throw new StoreError('VERSION_CONFLICT', 'settings changed concurrently');
        }
        await appendAuditEvent(
          this.context,
          workspace,
          {
            actor: options.actor,
            kind: 'settings.updated',
            subject: 'settings',
            before: previous === null ? null : previous.document,
            after: document,
          },
          transaction,
        );
        return { settings: document, version, updatedAt: now, updatedBy: options.actor };
      })
      .catch((error: unknown) => {
        if (error instanceof UniqueConstraintError)
          throw new StoreError('VERSION_CONFLICT', 'settings were created concurrently');
        throw error;
      });
  }
}
