import { randomUUID } from 'node:crypto';
import { col, fn, Op, UniqueConstraintError, type Transaction, type WhereOptions } from 'sequelize';
import { StoreError } from './errors';
import { storedEnum } from './stored-enum';
import type { JobRow } from './models';
import type { RepositoryContext } from './repository-context';

/**
 * The `jobs` table behind the durable in-process queue (src/queue/table-job-queue.ts). Not
 * workspace-scoped: jobs are infrastructure, and the payload carries the workspace.
 *
 * States: pending → running → done | failed, or pending → superseded (a newer head of the same PR
 * was enqueued, or an equal job is already pending). Every transition out of `running` is fenced
 * by the `lock_token` of the claim, so a worker whose lease expired (and whose job was claimed
 * again) cannot complete or fail a job it no longer owns.
 *
 * Concurrency: on SQLite all writes are serialised. On Postgres, claims use
 * `FOR UPDATE SKIP LOCKED`, and everything that can create a pending job (enqueue, retry,
 * release) first takes a transaction-scoped advisory lock on the job's supersede group, so the
 * dedupe and supersede checks cannot interleave. The partial unique index on (name, key) WHERE
 * state = 'pending' is the backstop.
 */

export const JOB_STATES = ['pending', 'running', 'done', 'failed', 'superseded'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface JobRecord {
  readonly id: string;
  readonly name: string;
  readonly key: string;
  readonly supersedes: string | null;
  readonly payload: unknown;
  readonly state: JobState;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly runAfter: Date;
  readonly lockedBy: string | null;
  readonly lockedAt: Date | null;
  readonly leaseUntil: Date | null;
  readonly lastError: string | null;
  readonly supersededBy: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly finishedAt: Date | null;
}

export interface ClaimedJob {
  readonly id: string;
  readonly name: string;
  readonly key: string;
  readonly payload: unknown;
  /** 1 on the first run. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** Fencing token of this claim; every later transition must present it. */
  readonly lockToken: string;
}

export interface NewJob {
  readonly name: string;
  readonly key: string;
  readonly supersedes: string | null;
  readonly payload: unknown;
  readonly maxAttempts: number;
  readonly runAfter?: Date;
  /** With `supersedes`: a pending job of the group with another key wins; nothing is added (see EnqueueOptions). */
  readonly yieldToGroup?: boolean;
}

/** Per job name: jobs waiting and running, and when the oldest waiting one was enqueued. */
export interface JobBacklog {
  readonly name: string;
  readonly waiting: number;
  readonly running: number;
  readonly oldestWaitingAt: Date | null;
}

export type FailOutcome = 'retrying' | 'failed' | 'superseded' | 'lost';

const NAME_PATTERN = /^[a-z][a-z0-9_-]{0,63}$/;
const MAX_ERROR_CHARS = 2000;

function toRecord(row: JobRow): JobRecord {
  return {
    id: row.id,
    name: row.name,
    key: row.key,
    supersedes: row.supersedes,
    payload: row.payload,
    state: storedEnum(JOB_STATES, row.state, 'job state'),
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    runAfter: row.run_after,
    lockedBy: row.locked_by,
    lockedAt: row.locked_at,
    leaseUntil: row.lease_until,
    lastError: row.last_error,
    supersededBy: row.superseded_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  };
}

export function checkJobName(name: string): void {
  if (!NAME_PATTERN.test(name)) throw new StoreError('INVALID_INPUT', 'job name must match [a-z][a-z0-9_-]{0,63}');
}

export class JobRepository {
  constructor(private readonly context: RepositoryContext) {}

  private get Job() {
    return this.context.models.Job;
  }

  /** Postgres only: serialises pending-creating work on one supersede group (or key). */
  private async lockGroup(name: string, group: string, transaction: Transaction): Promise<void> {
    if (this.context.db.dialect !== 'postgres') return;
    await this.context.db.sequelize.query('SELECT pg_advisory_xact_lock(hashtextextended(:lockKey, 0))', {
      replacements: { lockKey: JSON.stringify(['clawgate-job', name, group]) },
      transaction,
    });
  }

  /**
   * Adds a pending job unless one with the same (name, key) is pending (then `deduped`). When
   * `supersedes` is set, pending jobs of the same name and group with a different key are marked
   * superseded by the new one.
   */
  async enqueue(job: NewJob): Promise<{ id: string; deduped: boolean; superseded: string[] }> {
    checkJobName(job.name);
    if (job.key.length === 0 || job.key.length > 512)
      throw new StoreError('INVALID_INPUT', 'job key must be 1..512 characters');
    if (job.supersedes !== null && (job.supersedes.length === 0 || job.supersedes.length > 512))
      throw new StoreError('INVALID_INPUT', 'supersedes must be 1..512 characters');
    if (!Number.isSafeInteger(job.maxAttempts) || job.maxAttempts < 1)
      throw new StoreError('INVALID_INPUT', 'maxAttempts must be a positive integer');
    const attempt = () =>
      this.context.db.write(async (transaction) => {
        await this.lockGroup(job.name, job.supersedes ?? job.key, transaction);
        const now = this.context.now();
        const id = randomUUID();
        let superseded: string[] = [];
        if (job.supersedes !== null && job.yieldToGroup === true) {
          const newer = await this.Job.findOne({
            attributes: ['id'],
            where: { name: job.name, supersedes: job.supersedes, state: 'pending', key: { [Op.ne]: job.key } },
            transaction,
          });
          if (newer !== null) return { id: newer.get({ plain: true }).id, deduped: true, superseded };
        }
        if (job.supersedes !== null) {
          const older = await this.Job.findAll({
            attributes: ['id'],
            where: { name: job.name, supersedes: job.supersedes, state: 'pending', key: { [Op.ne]: job.key } },
            transaction,
          });
          superseded = older.map((row) => row.get({ plain: true }).id);
          if (superseded.length > 0) {
            await this.Job.update(
              { state: 'superseded', superseded_by: id, finished_at: now, updated_at: now },
              { where: { id: { [Op.in]: superseded }, state: 'pending' }, transaction },
            );
          }
        }
        const existing = await this.Job.findOne({
          attributes: ['id'],
          where: { name: job.name, key: job.key, state: 'pending' },
          transaction,
        });
        if (existing !== null) return { id: existing.get({ plain: true }).id, deduped: true, superseded };
        await this.Job.create(
          {
            id,
            name: job.name,
            key: job.key,
            supersedes: job.supersedes,
            payload: job.payload ?? null,
            state: 'pending',
            attempts: 0,
            max_attempts: job.maxAttempts,
            run_after: job.runAfter ?? now,
            locked_by: null,
            lock_token: null,
            locked_at: null,
            lease_until: null,
            last_error: null,
            superseded_by: null,
            created_at: now,
            updated_at: now,
            finished_at: null,
          },
          { transaction },
        );
        return { id, deduped: false, superseded };
      });
    // Backstop: an enqueuer that did not take the group lock (different supersedes) raced us on the key.
    return attempt().catch((error: unknown) => {
      if (error instanceof UniqueConstraintError) return attempt();
      throw error;
    });
  }

  /**
   * Claims the next runnable job among `names`: a pending job whose time has come, or a running
   * job whose lease expired (its worker is presumed dead). A job whose expired lease was its last
   * attempt is marked failed instead.
   */
  async claimNext(names: readonly string[], workerId: string, leaseMs: number): Promise<ClaimedJob | null> {
    if (names.length === 0) return Promise.resolve(null);
    return this.context.db.write(async (transaction) => {
      // Bounded: each pass either claims, fails a dead job for good, or loses a race and moves on.
      for (let pass = 0; pass < 50; pass += 1) {
        const now = this.context.now();
        const where: WhereOptions<JobRow> = {
          name: { [Op.in]: [...names] },
          // Implied by the OR below; stated so the planner can use the live-jobs index
          // (jobs_live_name_run_after, migration 0014) instead of walking every finished job.
          state: { [Op.in]: ['pending', 'running'] },
          [Op.or]: [
            { state: 'pending', run_after: { [Op.lte]: now } },
            { state: 'running', lease_until: { [Op.lt]: now } },
          ],
        };
        const candidate = await this.Job.findOne({
          where,
          order: [
            ['run_after', 'ASC'],
            ['created_at', 'ASC'],
          ],
          transaction,
          ...(this.context.db.dialect === 'postgres' ? { lock: transaction.LOCK.UPDATE, skipLocked: true } : {}),
        });
        if (candidate === null) return null;
        const row = candidate.get({ plain: true });
        if (row.state === 'running' && row.attempts >= row.max_attempts) {
          await this.Job.update(
            {
              state: 'failed',
              last_error: 'lease expired on the final attempt (worker died or hung)',
              lock_token: null,
              lease_until: null,
              finished_at: now,
              updated_at: now,
            },
            { where: { id: row.id, state: 'running', lock_token: row.lock_token }, transaction },
          );
          continue;
        }
        const lockToken = randomUUID();
        const [count] = await this.Job.update(
          {
            state: 'running',
            attempts: row.attempts + 1,
            lock_token: lockToken,
            locked_by: workerId.slice(0, 128),
            locked_at: now,
            lease_until: new Date(now.getTime() + leaseMs),
            updated_at: now,
          },
          { where: { id: row.id, state: row.state, attempts: row.attempts }, transaction },
        );
        if (count !== 1) continue;
        return {
          id: row.id,
          name: row.name,
          key: row.key,
          payload: row.payload,
          attempt: row.attempts + 1,
          maxAttempts: row.max_attempts,
          lockToken,
        };
      }
      return null;
    });
  }

  async renewLease(id: string, lockToken: string, leaseMs: number): Promise<boolean> {
    return this.context.db.write(async (transaction) => {
      const now = this.context.now();
      const [count] = await this.Job.update(
        { lease_until: new Date(now.getTime() + leaseMs), updated_at: now },
        { where: { id, lock_token: lockToken, state: 'running' }, transaction },
      );
      return count === 1;
    });
  }

  /** Marks the job done; false if this claim no longer owns it. */
  async complete(id: string, lockToken: string): Promise<boolean> {
    return this.context.db.write(async (transaction) => {
      const now = this.context.now();
      const [count] = await this.Job.update(
        { state: 'done', lock_token: null, lease_until: null, last_error: null, finished_at: now, updated_at: now },
        { where: { id, lock_token: lockToken, state: 'running' }, transaction },
      );
      return count === 1;
    });
  }

  /**
   * Records a failed attempt. With `retryDelayMs` and attempts left, the job goes back to pending
   * after the delay (or is superseded, see returnToPending); otherwise it is failed for good.
   */
  async fail(id: string, lockToken: string, errorMessage: string, retryDelayMs: number | null): Promise<FailOutcome> {
    return this.context.db.write(async (transaction) => {
      const row = await this.ownedRow(id, lockToken, transaction);
      if (row === null) return 'lost';
      const message = errorMessage.slice(0, MAX_ERROR_CHARS);
      if (retryDelayMs === null || row.attempts >= row.max_attempts) {
        const now = this.context.now();
        await this.Job.update(
          {
            state: 'failed',
            last_error: message,
            lock_token: null,
            lease_until: null,
            finished_at: now,
            updated_at: now,
          },
          { where: { id, lock_token: lockToken, state: 'running' }, transaction },
        );
        return 'failed';
      }
      return this.returnToPending(row, retryDelayMs, message, row.attempts, transaction);
    });
  }

  /** Gives a claimed job back unfinished (graceful shutdown); the interrupted attempt is not counted. */
  async release(id: string, lockToken: string): Promise<boolean> {
    return this.context.db.write(async (transaction) => {
      const row = await this.ownedRow(id, lockToken, transaction);
      if (row === null) return false;
      await this.returnToPending(row, 0, row.last_error, Math.max(row.attempts - 1, 0), transaction);
      return true;
    });
  }

  /**
   * On start: jobs this worker id left `running` (the process crashed or was killed) go back to
   * pending at once instead of waiting for their lease to expire. The crashed attempt counts.
   */
  async recoverWorker(workerId: string): Promise<number> {
    return this.context.db.write(async (transaction) => {
      const rows = await this.Job.findAll({
        where: { state: 'running', locked_by: workerId.slice(0, 128) },
        transaction,
      });
      for (const row of rows) {
        const plain = row.get({ plain: true });
        if (plain.attempts >= plain.max_attempts) {
          const now = this.context.now();
          await this.Job.update(
            {
              state: 'failed',
              last_error: 'worker restarted during the final attempt',
              lock_token: null,
              lease_until: null,
              finished_at: now,
              updated_at: now,
            },
            { where: { id: plain.id, state: 'running' }, transaction },
          );
        } else {
          await this.returnToPending(
            plain,
            0,
            'worker restarted while the job was running',
            plain.attempts,
            transaction,
          );
        }
      }
      return rows.length;
    });
  }

  private async ownedRow(id: string, lockToken: string, transaction: Transaction): Promise<JobRow | null> {
    const found = await this.Job.findOne({ where: { id, lock_token: lockToken, state: 'running' }, transaction });
    return found === null ? null : found.get({ plain: true });
  }

  /**
   * Puts a running job back to pending unless that would be pointless or impossible: a newer
   * job of the same supersede group exists (the PR moved on), or an equal job is already pending
   * (it will do the work). In those cases the job is marked superseded.
   */
  private async returnToPending(
    row: JobRow,
    delayMs: number,
    lastError: string | null,
    attempts: number,
    transaction: Transaction,
  ): Promise<'retrying' | 'superseded'> {
    await this.lockGroup(row.name, row.supersedes ?? row.key, transaction);
    const now = this.context.now();
    let replacement: string | null = null;
    if (row.supersedes !== null) {
      const newer = await this.Job.findOne({
        attributes: ['id'],
        where: {
          name: row.name,
          supersedes: row.supersedes,
          key: { [Op.ne]: row.key },
          created_at: { [Op.gt]: row.created_at },
        },
        order: [['created_at', 'DESC']],
        transaction,
      });
      replacement = newer === null ? null : newer.get({ plain: true }).id;
    }
    if (replacement === null) {
      const pending = await this.Job.findOne({
        attributes: ['id'],
        where: { name: row.name, key: row.key, state: 'pending', id: { [Op.ne]: row.id } },
        transaction,
      });
      replacement = pending === null ? null : pending.get({ plain: true }).id;
    }
    const unlock = {
      lock_token: null,
      lease_until: null,
      locked_by: null,
      locked_at: null,
      last_error: lastError,
      attempts,
      updated_at: now,
    };
    if (replacement !== null) {
      await this.Job.update(
        { ...unlock, state: 'superseded', superseded_by: replacement, finished_at: now },
        { where: { id: row.id }, transaction },
      );
      return 'superseded';
    }
    await this.Job.update(
      { ...unlock, state: 'pending', run_after: new Date(now.getTime() + delayMs) },
      { where: { id: row.id }, transaction },
    );
    return 'retrying';
  }

  async get(id: string): Promise<JobRecord | null> {
    return this.context.db.read(async () => {
      const row = await this.Job.findByPk(id);
      return row === null ? null : toRecord(row.get({ plain: true }));
    });
  }

  /** For operations and tests: jobs filtered by name, key and states, oldest first. */
  async list(
    filter: { name?: string; key?: string; states?: readonly JobState[]; limit?: number } = {},
  ): Promise<JobRecord[]> {
    const where: WhereOptions<JobRow> = {
      ...(filter.name !== undefined ? { name: filter.name } : {}),
      ...(filter.key !== undefined ? { key: filter.key } : {}),
      ...(filter.states !== undefined ? { state: { [Op.in]: [...filter.states] } } : {}),
    };
    return this.context.db.read(async () => {
      const rows = await this.Job.findAll({
        where,
        order: [['created_at', 'ASC']],
        limit: Math.min(Math.max(filter.limit ?? 1000, 1), 10_000),
      });
      return rows.map((row) => toRecord(row.get({ plain: true })));
    });
  }

  /**
   * Metrics (queue depth and age): per job name, jobs waiting (pending) and running, and when the
   * oldest waiting one was enqueued. Reads the `jobs_state_run_after` index; one grouped query.
   */
  async backlog(): Promise<JobBacklog[]> {
    return this.context.db.read(async () => {
      const rows = (await this.Job.findAll({
        attributes: ['name', 'state', [fn('COUNT', col('id')), 'count'], [fn('MIN', col('created_at')), 'oldest']],
        where: { state: { [Op.in]: ['pending', 'running'] } },
        group: ['name', 'state'],
        raw: true,
      })) as unknown as { name: string; state: string; count: number | string; oldest: Date | string | null }[];
      const byName = new Map<
        string,
        { name: string; waiting: number; running: number; oldestWaitingAt: Date | null }
      >();
      for (const row of rows) {
        const entry = byName.get(row.name) ?? { name: row.name, waiting: 0, running: 0, oldestWaitingAt: null };
        if (row.state === 'pending') {
          entry.waiting = Number(row.count);
          entry.oldestWaitingAt = row.oldest === null ? null : new Date(row.oldest);
        } else entry.running = Number(row.count);
        byName.set(row.name, entry);
      }
      return [...byName.values()];
    });
  }

  /** Retention: deletes finished jobs (done, failed, superseded) that finished before `cutoff`. */
  async purgeFinishedBefore(cutoff: Date): Promise<number> {
    return this.context.db.write((transaction) =>
      this.Job.destroy({
        where: { state: { [Op.in]: ['done', 'failed', 'superseded'] }, finished_at: { [Op.lt]: cutoff } },
        transaction,
      }),
    );
  }
}
