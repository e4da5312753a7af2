import { randomBytes, randomUUID } from 'node:crypto';
import { Op } from 'sequelize';
import { StoreError } from './errors';
import type { AlertRow } from './models';
import type { RepositoryContext } from './repository-context';
import { SecretValue } from './secret-value';
import { storedEnum } from './stored-enum';
import { workspaceKey, type WorkspaceId } from './workspace-id';

/**
 * Alerts (issue 9): a workspace's outgoing alert webhook (URL + signing secret, sealed like every
 * tenant secret), the alerts owed to it (incidents, restores that keep failing) and the failed
 * restores of forged statuses they are counted from. An alert is a row before it is a request, so it
 * survives a restart and never waits on the receiver (pipeline/alerts/alert-delivery.ts sends it).
 * Bounded: at most MAX_PENDING_ALERTS pending per workspace (the oldest pending ones are dropped,
 * and say so), bodies at most MAX_ALERT_BODY_BYTES.
 */

export const ALERT_STATES = ['pending', 'delivered', 'failed', 'dropped', 'no_webhook'] as const;
export type AlertState = (typeof ALERT_STATES)[number];
export const MAX_PENDING_ALERTS = 500;
export const MAX_ALERT_BODY_BYTES = 16 * 1024;

export interface AlertWebhook {
  readonly url: string;
  readonly secret: SecretValue;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface Alert {
  readonly id: string;
  readonly workspaceId: WorkspaceId;
  readonly alertId: string;
  readonly kind: string;
  readonly subject: string;
  readonly body: Record<string, unknown>;
  readonly state: AlertState;
  readonly attempts: number;
  readonly nextAttemptAt: Date;
  readonly lastError: string | null;
  readonly createdAt: Date;
  readonly finishedAt: Date | null;
}

export interface NewAlert {
  readonly kind: string;
  readonly subject: string;
  /** The `data` of the JSON the receiver gets. */
  readonly body: Record<string, unknown>;
}

function secretContext(workspace: string): string {
  return `alert-webhook:${workspace}`;
}

/** 32 random bytes, base64url: the HMAC-SHA256 key the receiver verifies with. */
function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

function toAlert(row: AlertRow): Alert {
  return {
    id: String(row.id),
    workspaceId: row.workspace_uuid,
    alertId: row.alert_id,
    kind: row.kind,
    subject: row.subject,
    body:
      typeof row.body === 'string'
        ? (JSON.parse(row.body) as Record<string, unknown>)
        : (row.body as Record<string, unknown>),
    state: storedEnum(ALERT_STATES, row.state, 'alert state'),
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}

export class AlertRepository {
  constructor(private readonly context: RepositoryContext) {}

  async getWebhook(workspaceId: WorkspaceId): Promise<AlertWebhook | null> {
    const workspace = workspaceKey(workspaceId);
    const row = await this.context.db.read(() =>
      this.context.models.AlertWebhook.findOne({ where: { workspace_uuid: workspace } }),
    );
    if (row === null) return null;
    const plain = row.get({ plain: true });
    return {
      url: plain.url,
      secret: new SecretValue(this.context.secretBox.open(plain.secret_sealed, secretContext(workspace))),
      createdAt: plain.created_at,
      updatedAt: plain.updated_at,
    };
  }

  /** Sets the URL; a new webhook gets a new secret (returned once), an existing one keeps its secret. */
  async setWebhook(workspaceId: WorkspaceId, url: string): Promise<{ created: boolean; secret: SecretValue | null }> {
    const workspace = workspaceKey(workspaceId);
    if (url.length === 0 || url.length > 2048)
      throw new StoreError('INVALID_INPUT', 'alert webhook URL must be 1..2048 characters');
    return this.context.db.write(async (transaction) => {
      const now = this.context.now();
      const existing = await this.context.models.AlertWebhook.findOne({
        where: { workspace_uuid: workspace },
        transaction,
      });
      if (existing !== null) {
        await existing.update({ url, updated_at: now }, { transaction });
        return { created: false, secret: null };
      }
      const secret = newSecret();
      await this.context.models.AlertWebhook.create(
        {
          workspace_uuid: workspace,
          url,
          secret_sealed: this.context.secretBox.seal(secret, secretContext(workspace)),
          created_at: now,
          updated_at: now,
        },
        { transaction },
      );
      return { created: true, secret: new SecretValue(secret) };
    });
  }

  /** A new secret for an existing webhook (returned once); null when there is no webhook. */
  async rotateSecret(workspaceId: WorkspaceId): Promise<SecretValue | null> {
    const workspace = workspaceKey(workspaceId);
    return this.context.db.write(async (transaction) => {
      const existing = await this.context.models.AlertWebhook.findOne({
        where: { workspace_uuid: workspace },
        transaction,
      });
      if (existing === null) return null;
      const secret = newSecret();
      await existing.update(
        {
          secret_sealed: this.context.secretBox.seal(secret, secretContext(workspace)),
          updated_at: this.context.now(),
        },
        { transaction },
      );
      return new SecretValue(secret);
    });
  }

  async deleteWebhook(workspaceId: WorkspaceId): Promise<boolean> {
    const workspace = workspaceKey(workspaceId);
    return this.context.db.write(
      async (transaction) =>
        (await this.context.models.AlertWebhook.destroy({ where: { workspace_uuid: workspace }, transaction })) > 0,
    );
  }

  /** Queues an alert (pending, due now). Past MAX_PENDING_ALERTS the oldest pending ones are dropped. */
  async record(workspaceId: WorkspaceId, alert: NewAlert, options: { maxPending?: number } = {}): Promise<Alert> {
    const maxPending = Math.max(1, options.maxPending ?? MAX_PENDING_ALERTS);
    const workspace = workspaceKey(workspaceId);
    if (alert.kind.length === 0 || alert.kind.length > 64)
      throw new StoreError('INVALID_INPUT', 'alert kind must be 1..64 characters');
    if (Buffer.byteLength(JSON.stringify(alert.body), 'utf8') > MAX_ALERT_BODY_BYTES)
      throw new StoreError('INVALID_INPUT', `alert body over ${MAX_ALERT_BODY_BYTES} bytes`);
    return this.context.db.write(async (transaction) => {
      const { Alert } = this.context.models;
      const now = this.context.now();
      const pending = await Alert.findAll({
        attributes: ['id'],
        where: { workspace_uuid: workspace, state: 'pending' },
        order: [['id', 'DESC']],
        offset: maxPending - 1,
        transaction,
      });
      if (pending.length > 0) {
        await Alert.update(
          { state: 'dropped', finished_at: now, last_error: 'too many pending alerts' },
          {
            where: { workspace_uuid: workspace, id: { [Op.in]: pending.map((r) => r.get({ plain: true }).id) } },
            transaction,
          },
        );
      }
      const row = await Alert.create(
        {
          workspace_uuid: workspace,
          alert_id: randomUUID(),
          kind: alert.kind,
          subject: alert.subject.slice(0, 512),
          body: alert.body,
          state: 'pending',
          attempts: 0,
          next_attempt_at: now,
          last_error: null,
          created_at: now,
          finished_at: null,
        },
        { transaction },
      );
      return toAlert(row.get({ plain: true }));
    });
  }

  /** Pending alerts due at `now`, oldest first. */
  async due(workspaceId: WorkspaceId, now: Date, limit: number): Promise<Alert[]> {
    const workspace = workspaceKey(workspaceId);
    const rows = await this.context.db.read(() =>
      this.context.models.Alert.findAll({
        where: { workspace_uuid: workspace, state: 'pending', next_attempt_at: { [Op.lte]: now } },
        order: [
          ['next_attempt_at', 'ASC'],
          ['id', 'ASC'],
        ],
        limit,
      }),
    );
    return rows.map((r) => toAlert(r.get({ plain: true })));
  }

  /**
   * Claims a due alert for one attempt (replicas race on it: only one wins): its next attempt moves to
   * `leaseUntil`, so a sender that dies mid-request leaves it due again then, not lost.
   */
  async claim(workspaceId: WorkspaceId, alert: Alert, leaseUntil: Date): Promise<boolean> {
    const workspace = workspaceKey(workspaceId);
    const [changed] = await this.context.db.write((transaction) =>
      this.context.models.Alert.update(
        { next_attempt_at: leaseUntil },
        {
          where: {
            workspace_uuid: workspace,
            id: alert.id,
            state: 'pending',
            attempts: alert.attempts,
            next_attempt_at: alert.nextAttemptAt,
          },
          transaction,
        },
      ),
    );
    return changed === 1;
  }

  /** After an attempt: delivered, retry at `nextAttemptAt`, or finished in `state` (failed, no_webhook). */
  async markAttempt(
    workspaceId: WorkspaceId,
    id: string,
    outcome: { state: AlertState; attempts: number; nextAttemptAt?: Date; error?: string | null },
  ): Promise<void> {
    const workspace = workspaceKey(workspaceId);
    const now = this.context.now();
    await this.context.db.write((transaction) =>
      this.context.models.Alert.update(
        {
          state: outcome.state,
          attempts: outcome.attempts,
          ...(outcome.nextAttemptAt !== undefined ? { next_attempt_at: outcome.nextAttemptAt } : {}),
          last_error: outcome.error === undefined || outcome.error === null ? null : outcome.error.slice(0, 512),
          finished_at: outcome.state === 'pending' ? null : now,
        },
        { where: { workspace_uuid: workspace, id }, transaction },
      ),
    );
  }

  /** The workspace's alerts created since `since`, newest first (the settings page's banner). */
  async listSince(workspaceId: WorkspaceId, since: Date, limit: number): Promise<Alert[]> {
    const workspace = workspaceKey(workspaceId);
    const rows = await this.context.db.read(() =>
      this.context.models.Alert.findAll({
        where: { workspace_uuid: workspace, created_at: { [Op.gte]: since } },
        order: [['id', 'DESC']],
        limit: Math.max(1, Math.min(limit, 200)),
      }),
    );
    return rows.map((r) => toAlert(r.get({ plain: true })));
  }

  /** The newest alert of `kind`, or null. */
  async latestOfKind(workspaceId: WorkspaceId, kind: string): Promise<Alert | null> {
    const workspace = workspaceKey(workspaceId);
    const row = await this.context.db.read(() =>
      this.context.models.Alert.findOne({ where: { workspace_uuid: workspace, kind }, order: [['id', 'DESC']] }),
    );
    return row === null ? null : toAlert(row.get({ plain: true }));
  }

  /** Records one failed restore of a forged status; returns how many the workspace had since `windowStart`. */
  async recordRestoreFailure(
    workspaceId: WorkspaceId,
    failure: { repoFullName: string; commit: string; error: string },
    windowStart: Date,
  ): Promise<number> {
    const workspace = workspaceKey(workspaceId);
    if (!/^[0-9a-f]{40}$/.test(failure.commit))
      throw new StoreError('INVALID_INPUT', 'commit must be 40 lower-case hex characters');
    return this.context.db.write(async (transaction) => {
      const { RestoreFailure } = this.context.models;
      await RestoreFailure.create(
        {
          workspace_uuid: workspace,
          repo_full_name: failure.repoFullName.slice(0, 255),
          commit_sha: failure.commit,
          error: failure.error.slice(0, 512),
          at: this.context.now(),
        },
        { transaction },
      );
      return RestoreFailure.count({ where: { workspace_uuid: workspace, at: { [Op.gte]: windowStart } }, transaction });
    });
  }

  /** Retention: alerts finished and restore failures older than `cutoff`. */
  async purgeOlderThan(cutoff: Date): Promise<number> {
    return this.context.db.write(async (transaction) => {
      const alerts = await this.context.models.Alert.destroy({
        where: { created_at: { [Op.lt]: cutoff }, state: { [Op.ne]: 'pending' } },
        transaction,
      });
      const failures = await this.context.models.RestoreFailure.destroy({
        where: { at: { [Op.lt]: cutoff } },
        transaction,
      });
      return alerts + failures;
    });
  }
}
