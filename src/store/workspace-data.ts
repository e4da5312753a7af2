import { appendAuditEvent } from './audit-log';
import type { RepositoryContext } from './repository-context';
import { workspaceKey, type WorkspaceId } from './workspace-id';

/**
 * Removing a workspace's data when its admin unregisters it and asks for a purge. One transaction
 * deletes what the workspace configured and what clawgate recorded for it: settings, policies,
 * assignments, uploaded bundles, evaluations, recorded pushes, API tokens and the alert webhook with its alerts. Kept on purpose:
 * - the audit log (the record of who did what, including this purge; retention ages it out);
 * - consumed ids (bundle, run, token and receipt ids already used: only ids, and deleting them
 *   would let a re-registered workspace accept old evidence again, a replay);
 * - the tenant row (uninstalled, secrets cleared by the caller), so the audit trail has its subject.
 */

export interface PurgedCounts {
  readonly settings: number;
  readonly policies: number;
  readonly assignments: number;
  readonly bundles: number;
  readonly evaluations: number;
  readonly commit_pushes: number;
  readonly api_tokens: number;
  readonly alerts: number;
}

export class WorkspaceDataRepository {
  constructor(private readonly context: RepositoryContext) {}

  async purge(workspaceId: WorkspaceId, actor: string): Promise<PurgedCounts> {
    const workspace = workspaceKey(workspaceId);
    return this.context.db.write(async (transaction) => {
      const {
        Settings,
        Policy,
        Assignment,
        Bundle,
        Evaluation,
        CommitPush,
        ApiToken,
        AlertWebhook,
        Alert,
        RestoreFailure,
      } = this.context.models;
      const where = { workspace_uuid: workspace };
      const counts: PurgedCounts = {
        assignments: await Assignment.destroy({ where, transaction }),
        policies: await Policy.destroy({ where, transaction }),
        settings: await Settings.destroy({ where, transaction }),
        bundles: await Bundle.destroy({ where, transaction }),
        evaluations: await Evaluation.destroy({ where, transaction }),
        commit_pushes: await CommitPush.destroy({ where, transaction }),
        api_tokens: await ApiToken.destroy({ where, transaction }),
        // The alert webhook (URL and secret), its alerts and the failed restores they were counted from.
        alerts:
          (await AlertWebhook.destroy({ where, transaction })) +
          (await Alert.destroy({ where, transaction })) +
          (await RestoreFailure.destroy({ where, transaction })),
      };
      await appendAuditEvent(
        this.context,
        workspace,
        { actor, kind: 'workspace.data_purged', subject: workspace, after: { ...counts } },
        transaction,
      );
      return counts;
    });
  }
}
