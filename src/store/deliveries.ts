import { Op, QueryTypes } from 'sequelize';
import { StoreError } from './errors';
import type { RepositoryContext } from './repository-context';
import { workspaceKey, type WorkspaceId } from './workspace-id';

/**
 * Webhook delivery dedupe by `X-Request-UUID` (docs/architecture.md §2): Bitbucket redelivers on timeouts, and a
 * redelivery must not enqueue twice. The primary key (workspace, request uuid) decides; the
 * insert either adds the row (new) or meets the key and adds nothing (seen before).
 */
export class DeliveryRepository {
  constructor(private readonly context: RepositoryContext) {}

  /** Records the delivery if absent; `isNew` is false for a redelivery. */
  async recordDelivery(workspaceId: WorkspaceId, requestUuid: string, event: string): Promise<{ isNew: boolean }> {
    const workspace = workspaceKey(workspaceId);
    if (requestUuid.length === 0 || requestUuid.length > 128)
      throw new StoreError('INVALID_INPUT', 'request uuid must be 1..128 characters');
    // One statement decides (the key conflict is not an error to raise, catch and roll back): a
    // redelivery, which is most of what Bitbucket sends under load, costs one round trip and no
    // exception. The leading comment keeps Sequelize's SQLite dialect from running it as a bare
    // INSERT, which drops the RETURNING row.
    const rows = await this.context.db.statement(() =>
      this.context.db.sequelize.query<{ request_uuid: string }>(
        `/* delivery */ INSERT INTO webhook_deliveries (workspace_uuid, request_uuid, event, received_at) VALUES (:workspace, :requestUuid, :event, :receivedAt)
         ON CONFLICT (workspace_uuid, request_uuid) DO NOTHING
         RETURNING request_uuid`,
        {
          replacements: { workspace, requestUuid, event: event.slice(0, 64), receivedAt: this.context.now() },
          type: QueryTypes.SELECT,
        },
      ),
    );
    return { isNew: rows.length === 1 };
  }

  /**
   * Forgets one delivery: the intake calls this when it could not enqueue the delivery's work after
   * recording it, so that Bitbucket's redelivery (same uuid, after the 5xx) is processed, not dropped
   * as a duplicate.
   */
  async forgetDelivery(workspaceId: WorkspaceId, requestUuid: string): Promise<void> {
    const workspace = workspaceKey(workspaceId);
    await this.context.db.write((transaction) =>
      this.context.models.Delivery.destroy({
        where: { workspace_uuid: workspace, request_uuid: requestUuid },
        transaction,
      }),
    );
  }

  /** Forgets deliveries received before `cutoff` (redeliveries come within hours). Returns how many. */
  async purgeOlderThan(cutoff: Date): Promise<number> {
    return this.context.db.write((transaction) =>
      this.context.models.Delivery.destroy({ where: { received_at: { [Op.lt]: cutoff } }, transaction }),
    );
  }
}
