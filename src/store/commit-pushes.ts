import { Op } from 'sequelize';
import { StoreError } from './errors';
import type { RepositoryContext } from './repository-context';
import { workspaceKey, type WorkspaceId } from './workspace-id';

/**
 * Who pushed which commit (issue 9: agent work by provenance). Recorded from `repo:push` webhooks
 * when they arrive (before the delivery is acknowledged), read by gather: a commit pushed by an agent
 * identity makes its PR agent work, and a push time bounds which approvals count.
 */
export interface CommitPush {
  commit: string;
  pusherUuid: string | null;
  branch: string | null;
  deliveryId: string;
  pushedAt: Date;
}

const SHA = /^[0-9a-f]{40}$/;
/** A push lists at most 5 commits; a truncated one is filled in later, bounded. */
export const MAX_COMMITS_PER_PUSH_RECORD = 1000;
/** Rows read for one evaluation (a PR's commits are capped well below this). */
const MAX_ROWS_READ = 5000;

export class CommitPushRepository {
  constructor(private readonly context: RepositoryContext) {}

  /** Records that `pusherUuid` pushed these full hashes (duplicates across deliveries are kept: every pusher counts). */
  async record(
    workspaceId: WorkspaceId,
    repoFullName: string,
    push: { commits: readonly string[]; pusherUuid: string | null; branch: string | null; deliveryId: string },
  ): Promise<number> {
    const workspace = workspaceKey(workspaceId);
    const commits = [...new Set(push.commits.map((c) => c.toLowerCase()))].filter((c) => SHA.test(c));
    if (commits.length === 0) return 0;
    if (commits.length > MAX_COMMITS_PER_PUSH_RECORD)
      throw new StoreError('INVALID_INPUT', `at most ${MAX_COMMITS_PER_PUSH_RECORD} commits per push record`);
    if (repoFullName.length === 0 || repoFullName.length > 255)
      throw new StoreError('INVALID_INPUT', 'repository name must be 1..255 characters');
    const at = this.context.now();
    await this.context.db.write(async (transaction) => {
      const existing = await this.context.models.CommitPush.findAll({
        where: {
          workspace_uuid: workspace,
          repo_full_name: repoFullName,
          commit_sha: { [Op.in]: commits },
          delivery_id: push.deliveryId.slice(0, 128),
        },
        transaction,
      });
      const seen = new Set(existing.map((row) => row.get('commit_sha')));
      const rows = commits
        .filter((c) => !seen.has(c))
        .map((c) => ({
          workspace_uuid: workspace,
          repo_full_name: repoFullName,
          commit_sha: c,
          pusher_uuid: push.pusherUuid?.slice(0, 64) ?? null,
          branch: push.branch?.slice(0, 1024) ?? null,
          delivery_id: push.deliveryId.slice(0, 128),
          pushed_at: at,
        }));
      if (rows.length > 0) await this.context.models.CommitPush.bulkCreate(rows, { transaction });
    });
    return commits.length;
  }

  /** Every recorded push of these commits, oldest first. */
  async forCommits(workspaceId: WorkspaceId, repoFullName: string, commits: readonly string[]): Promise<CommitPush[]> {
    const workspace = workspaceKey(workspaceId);
    const wanted = [...new Set(commits.map((c) => c.toLowerCase()))].filter((c) => SHA.test(c));
    if (wanted.length === 0) return [];
    return this.context.db.read(async () => {
      const rows = await this.context.models.CommitPush.findAll({
        where: { workspace_uuid: workspace, repo_full_name: repoFullName, commit_sha: { [Op.in]: wanted } },
        order: [
          ['pushed_at', 'ASC'],
          ['id', 'ASC'],
        ],
        limit: MAX_ROWS_READ,
      });
      return rows.map((row) => {
        const r = row.get({ plain: true });
        return {
          commit: r.commit_sha,
          pusherUuid: r.pusher_uuid,
          branch: r.branch,
          deliveryId: r.delivery_id,
          pushedAt: r.pushed_at,
        };
      });
    });
  }

  async purgeOlderThan(cutoff: Date): Promise<number> {
    return this.context.db.write((transaction) =>
      this.context.models.CommitPush.destroy({ where: { pushed_at: { [Op.lt]: cutoff } }, transaction }),
    );
  }
}

/**
 * A lease per periodic task: `claim` succeeds for exactly one caller per interval across every replica
 * sharing the database (a conditional update decides; the loser sees 0 rows changed).
 */
export class PeriodicLeaseRepository {
  constructor(private readonly context: RepositoryContext) {}

  async claim(name: string, holder: string, intervalMs: number): Promise<boolean> {
    if (name.length === 0 || name.length > 128)
      throw new StoreError('INVALID_INPUT', 'lease name must be 1..128 characters');
    const now = this.context.now();
    const next = new Date(now.getTime() + intervalMs);
    return this.context.db.write(async (transaction) => {
      const { PeriodicLease } = this.context.models;
      const existing = await PeriodicLease.findByPk(name, { transaction });
      if (existing === null) {
        try {
          await PeriodicLease.create({ name, next_run_at: next, holder: holder.slice(0, 128) }, { transaction });
          return true;
        } catch {
          return false;
        }
      }
      const [changed] = await PeriodicLease.update(
        { next_run_at: next, holder: holder.slice(0, 128) },
        { where: { name, next_run_at: { [Op.lte]: now } }, transaction },
      );
      return changed === 1;
    });
  }
}
