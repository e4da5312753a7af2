import { Op, UniqueConstraintError } from 'sequelize';
import { StoreError } from './errors';
import type { RepositoryContext } from './repository-context';
import { workspaceKey, type WorkspaceId } from './workspace-id';

/**
 * Webhook delivery dedupe by `X-Request-UUID` (docs/architecture.md §2): Bitbucket redelivers on timeouts, and a
 * redelivery must not enqueue twice. The primary key (workspace, request uuid) decides; the
 * insert either succeeds (new) or hits the key (seen before).
 */
export class DeliveryRepository {
  constructor(private readonly context: RepositoryContext) {}

  /** Records the delivery if absent; `isNew` is false for a redelivery. */
  async recordDelivery(workspaceId: WorkspaceId, requestUuid: string, event: string): Promise<{ isNew: boolean }> {
    const workspace = workspaceKey(workspaceId);
    if (requestUuid.length === 0 || requestUuid.length > 128)
      throw new StoreError('INVALID_INPUT', 'request uuid must be 1..128 characters');
    try {
      await this.context.db.write((transaction) =>
        this.context.models.Delivery.create(
          {
            workspace_uuid: workspace,
            request_uuid: requestUuid,
            event: event.slice(0, 64),
            received_at: this.context.now(),
          },
          { transaction },
        ),
      );
      return { isNew: true };
    } catch (error) {
      if (error instanceof UniqueConstraintError) return { isNew: false };
      throw error;
    }
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
