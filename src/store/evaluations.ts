import { randomUUID } from 'node:crypto';
import { Op } from 'sequelize';
import { StoreError } from './errors';
import { storedEnum } from './stored-enum';
import type { EvaluationRow } from './models';
import type { RepositoryContext } from './repository-context';
import { ENFORCEMENT_MODES, type EnforcementMode } from './workspace-settings';
import { workspaceKey, type WorkspaceId } from './workspace-id';

/**
 * One row per evaluation of a PR head: the verdict and what it was based on. Rows are never
 * updated; a re-check adds a new row. The verdict and commits are stored as JSON as given.
 */

/** Build status states clawgate posts (docs/architecture.md §2); STOPPED is Bitbucket's fourth state. */
export const STATUS_STATES = ['SUCCESSFUL', 'FAILED', 'INPROGRESS', 'STOPPED'] as const;
export type StatusState = (typeof STATUS_STATES)[number];

export interface NewEvaluation {
  /** Optional so the caller can use the id before the row exists (e.g. for consumeIds). */
  readonly id?: string;
  readonly repoFullName: string;
  readonly prId: number;
  readonly headSha: string;
  /** The verdict state: PASS | FAIL | PENDING | NOT_APPLICABLE (docs/policy.md); stored as given (≤ 32 chars). */
  readonly state: string;
  readonly mode: EnforcementMode;
  readonly statusState: StatusState;
  readonly verdict: unknown;
  readonly bundleId?: string | null;
  readonly bundleSha256B64u?: string | null;
  readonly bundleSource?: string | null;
  readonly policyHashB64u?: string | null;
  readonly prUrl?: string | null;
  readonly commits: unknown;
  /** The description of the `clawgate` status published for it (≤ 255 characters; Bitbucket shows 140). */
  readonly statusDescription?: string | null;
  /** The PR's source branch: the status's `refname` (≤ 1024 characters). */
  readonly sourceBranch?: string | null;
  /** The engine's exact input, as JSON text (for evidence packs; may hold the Trust Pulse: never logged). */
  readonly engineInput?: string | null;
}

export interface EvaluationRecord {
  readonly id: string;
  readonly workspaceId: WorkspaceId;
  readonly repoFullName: string;
  readonly prId: number;
  readonly headSha: string;
  readonly state: string;
  readonly mode: EnforcementMode;
  readonly statusState: StatusState;
  readonly verdict: unknown;
  readonly bundleId: string | null;
  readonly bundleSha256B64u: string | null;
  readonly bundleSource: string | null;
  readonly policyHashB64u: string | null;
  readonly prUrl: string | null;
  readonly commits: unknown;
  readonly statusDescription: string | null;
  readonly sourceBranch: string | null;
  readonly createdAt: Date;
  readonly engineInput: string | null;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SHA_PATTERN = /^[0-9a-f]{40}$/;

function checkPullRequestRef(repoFullName: string, prId: number): void {
  if (repoFullName.length === 0 || repoFullName.length > 255)
    throw new StoreError('INVALID_INPUT', 'repository full name must be 1..255 characters');
  if (!Number.isSafeInteger(prId) || prId < 1 || prId > 2_147_483_647)
    throw new StoreError('INVALID_INPUT', 'pull request id must be a positive integer');
}

function toRecord(row: EvaluationRow): EvaluationRecord {
  return {
    id: row.id,
    workspaceId: row.workspace_uuid,
    repoFullName: row.repo_full_name,
    prId: row.pr_id,
    headSha: row.head_sha,
    state: row.state,
    mode: storedEnum(ENFORCEMENT_MODES, row.mode, 'evaluation mode'),
    statusState: storedEnum(STATUS_STATES, row.status_state, 'evaluation status state'),
    verdict: row.verdict,
    bundleId: row.bundle_id,
    bundleSha256B64u: row.bundle_sha256_b64u,
    bundleSource: row.bundle_source,
    policyHashB64u: row.policy_hash_b64u,
    prUrl: row.pr_url,
    commits: row.commits,
    statusDescription: row.status_description,
    sourceBranch: row.source_branch,
    createdAt: row.created_at,
    engineInput: row.engine_input ?? null,
  };
}

export class EvaluationRepository {
  constructor(private readonly context: RepositoryContext) {}

  async insert(workspaceId: WorkspaceId, evaluation: NewEvaluation): Promise<EvaluationRecord> {
    const workspace = workspaceKey(workspaceId);
    checkPullRequestRef(evaluation.repoFullName, evaluation.prId);
    const id = evaluation.id ?? randomUUID();
    if (!UUID_PATTERN.test(id)) throw new StoreError('INVALID_INPUT', 'evaluation id must be a UUID');
    if (!SHA_PATTERN.test(evaluation.headSha))
      throw new StoreError('INVALID_INPUT', 'head sha must be 40 lower-case hex characters');
    if (evaluation.verdict === undefined || evaluation.verdict === null)
      throw new StoreError('INVALID_INPUT', 'verdict is required');
    if (evaluation.state.length === 0 || evaluation.state.length > 32)
      throw new StoreError('INVALID_INPUT', 'state must be 1..32 characters');
    if (!(ENFORCEMENT_MODES as readonly string[]).includes(evaluation.mode))
      throw new StoreError('INVALID_INPUT', 'unknown mode');
    if (!(STATUS_STATES as readonly string[]).includes(evaluation.statusState))
      throw new StoreError('INVALID_INPUT', 'unknown status state');
    if ((evaluation.statusDescription?.length ?? 0) > 255)
      throw new StoreError('INVALID_INPUT', 'status description must be at most 255 characters');
    if ((evaluation.sourceBranch?.length ?? 0) > 1024)
      throw new StoreError('INVALID_INPUT', 'source branch must be at most 1024 characters');
    return this.context.db.write(async (transaction) => {
      const row = await this.context.models.Evaluation.create(
        {
          id: id.toLowerCase(),
          workspace_uuid: workspace,
          repo_full_name: evaluation.repoFullName,
          pr_id: evaluation.prId,
          head_sha: evaluation.headSha,
          state: evaluation.state,
          mode: evaluation.mode,
          status_state: evaluation.statusState,
          verdict: evaluation.verdict,
          bundle_id: evaluation.bundleId ?? null,
          bundle_sha256_b64u: evaluation.bundleSha256B64u ?? null,
          bundle_source: evaluation.bundleSource ?? null,
          policy_hash_b64u: evaluation.policyHashB64u ?? null,
          pr_url: evaluation.prUrl ?? null,
          commits: evaluation.commits ?? [],
          status_description: evaluation.statusDescription ?? null,
          source_branch: evaluation.sourceBranch ?? null,
          created_at: this.context.now(),
          engine_input: evaluation.engineInput ?? null,
        },
        { transaction },
      );
      return toRecord(row.get({ plain: true }));
    });
  }

  /** By id, within the workspace only: another workspace's id reads as absent. */
  async get(workspaceId: WorkspaceId, id: string): Promise<EvaluationRecord | null> {
    const workspace = workspaceKey(workspaceId);
    if (!UUID_PATTERN.test(id)) return Promise.resolve(null);
    return this.context.db.read(async () => {
      const row = await this.context.models.Evaluation.findOne({
        where: { workspace_uuid: workspace, id: id.toLowerCase() },
      });
      return row === null ? null : toRecord(row.get({ plain: true }));
    });
  }

  /** Evaluations of one PR, newest first (default 50, at most 500). */
  async listForPullRequest(
    workspaceId: WorkspaceId,
    repoFullName: string,
    prId: number,
    options: { limit?: number } = {},
  ): Promise<EvaluationRecord[]> {
    const workspace = workspaceKey(workspaceId);
    checkPullRequestRef(repoFullName, prId);
    const limit = Math.min(Math.max(options.limit ?? 50, 1), 500);
    return this.context.db.read(async () => {
      const rows = await this.context.models.Evaluation.findAll({
        where: { workspace_uuid: workspace, repo_full_name: repoFullName, pr_id: prId },
        order: [['created_at', 'DESC']],
        limit,
      });
      return rows.map((row) => toRecord(row.get({ plain: true })));
    });
  }

  /** Evaluations of a repository (all PRs), newest first (default 50, at most 500). */
  async listForRepository(
    workspaceId: WorkspaceId,
    repoFullName: string,
    options: { limit?: number } = {},
  ): Promise<EvaluationRecord[]> {
    const workspace = workspaceKey(workspaceId);
    const limit = Math.min(Math.max(options.limit ?? 50, 1), 500);
    return this.context.db.read(async () => {
      const rows = await this.context.models.Evaluation.findAll({
        where: { workspace_uuid: workspace, repo_full_name: repoFullName },
        order: [['created_at', 'DESC']],
        limit,
      });
      return rows.map((row) => toRecord(row.get({ plain: true })));
    });
  }

  /** The workspace's newest evaluations across repositories (default 50, at most 500). */
  async listRecent(
    workspaceId: WorkspaceId,
    options: { limit?: number; before?: Date } = {},
  ): Promise<EvaluationRecord[]> {
    const workspace = workspaceKey(workspaceId);
    const limit = Math.min(Math.max(options.limit ?? 50, 1), 500);
    return this.context.db.read(async () => {
      const rows = await this.context.models.Evaluation.findAll({
        where: { workspace_uuid: workspace, ...(options.before ? { created_at: { [Op.lt]: options.before } } : {}) },
        order: [['created_at', 'DESC']],
        limit,
      });
      return rows.map((row) => toRecord(row.get({ plain: true })));
    });
  }

  /** The newest evaluation of any PR of the repository whose head is `headSha`, or null. */
  async latestForHead(
    workspaceId: WorkspaceId,
    repoFullName: string,
    headSha: string,
  ): Promise<EvaluationRecord | null> {
    const workspace = workspaceKey(workspaceId);
    if (!SHA_PATTERN.test(headSha)) return null;
    return this.context.db.read(async () => {
      const row = await this.context.models.Evaluation.findOne({
        where: { workspace_uuid: workspace, repo_full_name: repoFullName, head_sha: headSha },
        order: [['created_at', 'DESC']],
      });
      return row === null ? null : toRecord(row.get({ plain: true }));
    });
  }

  /**
   * For each PR of the repository whose NEWEST evaluation is of `headSha`: that evaluation (a PR that
   * moved on to another head no longer speaks for this commit). Bounded (500 newest rows of the head).
   */
  async latestPerPullRequestForHead(
    workspaceId: WorkspaceId,
    repoFullName: string,
    headSha: string,
  ): Promise<EvaluationRecord[]> {
    const workspace = workspaceKey(workspaceId);
    if (!SHA_PATTERN.test(headSha)) return [];
    return this.context.db.read(async () => {
      const rows = await this.context.models.Evaluation.findAll({
        where: { workspace_uuid: workspace, repo_full_name: repoFullName, head_sha: headSha },
        order: [['created_at', 'DESC']],
        limit: 500,
      });
      const byPr = new Map<number, EvaluationRecord>();
      for (const row of rows) {
        const record = toRecord(row.get({ plain: true }));
        if (!byPr.has(record.prId)) byPr.set(record.prId, record);
      }
      const result: EvaluationRecord[] = [];
      for (const record of byPr.values()) {
        const newest = await this.context.models.Evaluation.findOne({
          where: { workspace_uuid: workspace, repo_full_name: repoFullName, pr_id: record.prId },
          order: [['created_at', 'DESC']],
          attributes: ['head_sha'],
        });
        if (newest === null || newest.get('head_sha') === headSha) result.push(record);
      }
      return result;
    });
  }

  /**
   * The newest evaluation of each PR of the workspace evaluated since `since`, newest first, at most
   * `limit` PRs (the rollback re-evaluation picks the agent PRs among them).
   */
  async latestPerPullRequest(
    workspaceId: WorkspaceId,
    options: { since: Date; limit: number },
  ): Promise<EvaluationRecord[]> {
    const workspace = workspaceKey(workspaceId);
    const limit = Math.min(Math.max(options.limit, 1), 1000);
    return this.context.db.read(async () => {
      const rows = await this.context.models.Evaluation.findAll({
        where: { workspace_uuid: workspace, created_at: { [Op.gte]: options.since } },
        order: [['created_at', 'DESC']],
        limit: 5000,
      });
      const seen = new Set<string>();
      const result: EvaluationRecord[] = [];
      for (const row of rows) {
        const record = toRecord(row.get({ plain: true }));
        const key = `${record.repoFullName}#${record.prId}`;
        if (seen.has(key)) continue;
        seen.add(key);
        result.push(record);
        if (result.length >= limit) break;
      }
      return result;
    });
  }

  /** Repositories of the workspace with at least one evaluation (at most 1,000, by name). */
  async repositories(workspaceId: WorkspaceId): Promise<string[]> {
    const workspace = workspaceKey(workspaceId);
    return this.context.db.read(async () => {
      const rows = await this.context.models.Evaluation.findAll({
        where: { workspace_uuid: workspace },
        attributes: ['repo_full_name'],
        group: ['repo_full_name'],
        order: [['repo_full_name', 'ASC']],
        limit: 1000,
      });
      return rows.map((row) => String(row.get('repo_full_name')));
    });
  }

  async latestForPullRequest(
    workspaceId: WorkspaceId,
    repoFullName: string,
    prId: number,
  ): Promise<EvaluationRecord | null> {
    const [latest] = await this.listForPullRequest(workspaceId, repoFullName, prId, { limit: 1 });
    return latest ?? null;
  }

  /**
   * The repositories (full names) whose evaluations used this bundle or applied this policy, at most
   * `limit` (default 20): who may read a bundle or a policy through a page is who may read one of them.
   */
  async repositoriesUsing(
    workspaceId: WorkspaceId,
    used: { bundleId: string } | { policyHashB64u: string },
    options: { limit?: number } = {},
  ): Promise<string[]> {
    const workspace = workspaceKey(workspaceId);
    const limit = Math.min(Math.max(options.limit ?? 20, 1), 100);
    const match = 'bundleId' in used ? { bundle_id: used.bundleId } : { policy_hash_b64u: used.policyHashB64u };
    return this.context.db.read(async () => {
      const rows = await this.context.models.Evaluation.findAll({
        attributes: ['repo_full_name'],
        where: { workspace_uuid: workspace, ...match },
        group: ['repo_full_name'],
        order: [['repo_full_name', 'ASC']],
        limit,
      });
      return rows.map((row) => String(row.get('repo_full_name')));
    });
  }
}
