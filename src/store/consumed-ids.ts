import { randomUUID } from 'node:crypto';
import { Op, type Transaction, type WhereOptions } from 'sequelize';
import { StoreError } from './errors';
import { storedEnum } from './stored-enum';
import type { ConsumedIdRow } from './models';
import type { RepositoryContext } from './repository-context';
import { workspaceKey, type WorkspaceId } from './workspace-id';

/**
 * Anti-replay (docs/clawsig-profile.md): a bundle id, run id, CST jti/nonce or gateway receipt id is consumed by
 * the first PR that presents it; any other PR presenting it is a replay. The same PR presenting
 * its own ids again (re-check, new head) is not.
 *
 * Race safety comes from the unique index on (workspace, kind, value): `consumeIds` inserts with
 * ON CONFLICT DO NOTHING and then reads back who owns each id, in one transaction. On Postgres a
 * second transaction inserting the same id waits for the first to commit and then sees its row,
 * so of two PRs racing exactly one wins; on SQLite write transactions are serialised. A losing
 * call consumes nothing (the transaction rolls back): consumption is all-or-nothing.
 */

export const CONSUMABLE_KINDS = ['bundle_id', 'run_id', 'cst_jti', 'cst_nonce', 'receipt_id'] as const;
export type ConsumableKind = (typeof CONSUMABLE_KINDS)[number];

export interface ConsumableId {
  readonly kind: ConsumableKind;
  readonly value: string;
}

export interface ConsumedIdRecord extends ConsumableId {
  readonly firstRepo: string;
  readonly firstPrId: number;
  readonly evaluationId: string | null;
  readonly createdAt: Date;
}

export interface ConsumingPullRequest {
  readonly repo: string;
  readonly prId: number;
  /** The evaluation that consumed the ids (the caller may pre-generate it; no foreign key). */
  readonly evaluationId?: string | null;
}

export type ConsumeResult =
  | {
      readonly ok: true;
      /** Ids this call consumed for the first time (the rest were already this PR's). */ readonly newlyConsumed: ConsumableId[];
    }
  | {
      readonly ok: false;
      /** Ids owned by another PR; nothing was consumed. */ readonly conflicts: ConsumedIdRecord[];
    };

const MAX_IDS_PER_CALL = 1000;

class ReplayDetected extends Error {
  constructor(readonly conflicts: ConsumedIdRecord[]) {
    super('replay');
  }
}

function checkIds(ids: readonly ConsumableId[]): ConsumableId[] {
  if (ids.length > MAX_IDS_PER_CALL) throw new StoreError('INVALID_INPUT', `at most ${MAX_IDS_PER_CALL} ids per call`);
  const unique = new Map<string, ConsumableId>();
  for (const id of ids) {
    if (!(CONSUMABLE_KINDS as readonly string[]).includes(id.kind))
      throw new StoreError('INVALID_INPUT', `unknown consumable id kind ${String(id.kind)}`);
    if (typeof id.value !== 'string' || id.value.length === 0 || id.value.length > 512)
      throw new StoreError('INVALID_INPUT', 'consumable id value must be 1..512 characters');
    unique.set(`${id.kind}\0${id.value}`, { kind: id.kind, value: id.value });
  }
  return [...unique.values()];
}

function toRecord(row: ConsumedIdRow): ConsumedIdRecord {
  return {
    kind: storedEnum(CONSUMABLE_KINDS, row.kind, 'consumed id kind'),
    value: row.value,
    firstRepo: row.first_repo,
    firstPrId: row.first_pr_id,
    evaluationId: row.evaluation_id,
    createdAt: row.created_at,
  };
}

function whereAny(workspace: string, ids: readonly ConsumableId[]): WhereOptions<ConsumedIdRow> {
  return { workspace_uuid: workspace, [Op.or]: ids.map((id) => ({ kind: id.kind, value: id.value })) };
}

export class ConsumedIdRepository {
  constructor(private readonly context: RepositoryContext) {}

  /** Which of `ids` are already consumed in this workspace, and by which PR. */
  async findConsumed(workspaceId: WorkspaceId, ids: readonly ConsumableId[]): Promise<ConsumedIdRecord[]> {
    const workspace = workspaceKey(workspaceId);
    const unique = checkIds(ids);
    if (unique.length === 0) return Promise.resolve([]);
    return this.context.db.read(async () => {
      const rows = await this.context.models.ConsumedId.findAll({ where: whereAny(workspace, unique) });
      return rows.map((row) => toRecord(row.get({ plain: true })));
    });
  }

  /** Atomically consumes every id for the PR, or none if any belongs to another PR. */
  async consumeIds(
    workspaceId: WorkspaceId,
    ids: readonly ConsumableId[],
    by: ConsumingPullRequest,
  ): Promise<ConsumeResult> {
    const workspace = workspaceKey(workspaceId);
    const unique = checkIds(ids);
    if (by.repo.length === 0 || by.repo.length > 255)
      throw new StoreError('INVALID_INPUT', 'repository full name must be 1..255 characters');
    if (!Number.isSafeInteger(by.prId) || by.prId < 1)
      throw new StoreError('INVALID_INPUT', 'pull request id must be a positive integer');
    if (unique.length === 0) return { ok: true, newlyConsumed: [] };
    try {
      const newlyConsumed = await this.context.db.write((transaction) =>
        this.consumeInTransaction(workspace, unique, by, transaction),
      );
      return { ok: true, newlyConsumed };
    } catch (error) {
      if (error instanceof ReplayDetected) return { ok: false, conflicts: error.conflicts };
      throw error;
    }
  }

  private async consumeInTransaction(
    workspace: string,
    ids: ConsumableId[],
    by: ConsumingPullRequest,
    transaction: Transaction,
  ): Promise<ConsumableId[]> {
    const { ConsumedId } = this.context.models;
    const now = this.context.now();
    const candidates = ids.map((id) => ({
      id: randomUUID(),
      workspace_uuid: workspace,
      kind: id.kind,
      value: id.value,
      first_repo: by.repo,
      first_pr_id: by.prId,
      evaluation_id: by.evaluationId ?? null,
      created_at: now,
    }));
    // ON CONFLICT DO NOTHING (Postgres) / INSERT OR IGNORE (SQLite): never aborts the transaction.
    await ConsumedId.bulkCreate(candidates, { ignoreDuplicates: true, transaction });
    const rows = (await ConsumedId.findAll({ where: whereAny(workspace, ids), transaction })).map((row) =>
      row.get({ plain: true }),
    );
    const conflicts = rows.filter((row) => row.first_repo !== by.repo || row.first_pr_id !== by.prId).map(toRecord);
    if (conflicts.length > 0) throw new ReplayDetected(conflicts); // rolls back this call's inserts
    const insertedRowIds = new Set<string>(candidates.map((candidate) => candidate.id));
    return rows
      .filter((row) => insertedRowIds.has(row.id))
      .map((row) => ({ kind: storedEnum(CONSUMABLE_KINDS, row.kind, 'consumed id kind'), value: row.value }));
  }
}
