import { Client, Pool, type PoolClient } from 'pg';
import PgBoss from 'pg-boss';
import { checkJobName } from '../store/jobs';
import {
  describeJobError,
  type EnqueueOptions,
  type EnqueueResult,
  type Job,
  type JobHandler,
  type JobPayload,
  type JobQueue,
  type QueueBacklog,
} from './job-queue';

/**
 * The queue on pg-boss 10 (default on Postgres, docs/operations.md): any number of stateless replicas
 * share the work; pg-boss fetches with SKIP LOCKED, so each job runs once at a time.
 *
 * Mapping of the JobQueue contract:
 * - dedupe: queues use pg-boss's `short` policy with `singletonKey = key` (at most one queued
 *   job per key, enforced by pg-boss's unique index); a key already waiting for a retry also
 *   counts as pending;
 * - supersede: `supersedes` is kept in the job data; enqueue cancels queued jobs of the same group
 *   with another key, in the same transaction as the send (pg-boss `db` option), under an
 *   advisory lock on the group (with `yieldToGroup`, such a queued job wins and nothing is sent);
 * - retries: `retryLimit = maxAttempts - 1`, exponential backoff from `retryDelaySeconds`;
 * - crash recovery: a job whose worker died stays `active` until `expireInSeconds`, then pg-boss
 *   maintenance fails it into a retry. `expireInSeconds` is also the handler timeout.
 * - stop(): pg-boss waits for running handlers up to the grace period, then fails them into a retry.
 *
 * Flow (why jobs start at once instead of after a poll): pg-boss 10's worker loop sleeps out its
 * polling interval after every fetch unless the worker was notified meanwhile. So
 * - enqueue sends `NOTIFY <channel>, <job name>` in the job's own transaction (delivered on commit)
 *   and wakes this process's workers of that name directly;
 * - every process LISTENs on the channel with one dedicated connection and wakes its workers of the
 *   named queue when a notification arrives (a job enqueued by another replica starts here at once);
 * - a worker that just ran a job wakes itself, so a backlog drains back to back and only an empty
 *   fetch waits for the next poll.
 * The poll (default 2 s) stays as the safety net: a lost notification or a LISTEN connection that
 * is down (PostgreSQL restart; it reconnects with backoff) delays a job by one interval at most.
 * Hand-written because pg-boss 10 has no cross-process wake-up of its own (its `notifyWorker` is
 * per process).
 */

export interface PgBossJobQueueOptions {
  readonly connectionString: string;
  /** Postgres schema for pg-boss's tables (default `pgboss`). */
  readonly schema?: string;
  /** Concurrent handlers per job name in this process (default 2). */
  readonly concurrency?: number;
  /** Poll interval (default 2000 ms; pg-boss's minimum is 500 ms). */
  readonly pollIntervalMs?: number;
  /** Attempts per job including the first (default 5). */
  readonly maxAttempts?: number;
  /** Base retry delay in whole seconds, doubled per retry with jitter; 0 retries at once (default 2). */
  readonly retryDelaySeconds?: number;
  /** Handler timeout and crash-detection delay (default 300 s). */
  readonly expireInSeconds?: number;
  /** How often pg-boss maintenance (expiry, archiving) runs (default 30 s). */
  readonly maintenanceIntervalSeconds?: number;
  /** How long stop() waits for running handlers (default 10 s; pg-boss's minimum is 1 s). */
  readonly shutdownGraceMs?: number;
  readonly onError?: (
    error: unknown,
    context: { readonly phase: string; readonly jobId?: string; readonly name?: string },
  ) => void;
}

interface JobData {
  readonly payload: JobPayload;
  readonly key: string;
  readonly supersedes: string | null;
}

const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/** The LISTEN/NOTIFY channel of a pg-boss schema (an identifier: the schema passed SCHEMA_PATTERN). */
export function jobChannelOf(schema: string): string {
  return `clawgate_jobs_${schema}`.slice(0, 63);
}

/** Delay before the n-th reconnect of the LISTEN connection: 0.5 s doubling, at most 30 s. */
function listenerBackoffMs(attempt: number): number {
  return Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
}

export class PgBossJobQueue implements JobQueue {
  readonly backend = 'pg-boss' as const;
  readonly #options: Required<Omit<PgBossJobQueueOptions, 'onError'>> & Pick<PgBossJobQueueOptions, 'onError'>;
  readonly #boss: PgBoss;
  readonly #pool: Pool;
  #starting: Promise<void> | null = null;
  readonly #queues = new Map<string, Promise<void>>();
  readonly #controllers = new Set<AbortController>();
  /** pg-boss worker ids of this process, per job name (for notifyWorker). */
  readonly #workers = new Map<string, string[]>();
  #listener: Client | null = null;
  #listenerRetry: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(options: PgBossJobQueueOptions) {
    const schema = options.schema ?? 'pgboss';
    if (!SCHEMA_PATTERN.test(schema)) throw new Error('pg-boss schema must be a plain lower-case identifier');
    this.#options = {
      connectionString: options.connectionString,
      schema,
      concurrency: Math.max(1, options.concurrency ?? 2),
      pollIntervalMs: Math.max(500, options.pollIntervalMs ?? 2000),
      maxAttempts: Math.max(1, options.maxAttempts ?? 5),
      retryDelaySeconds: Math.max(0, Math.round(options.retryDelaySeconds ?? 2)),
      expireInSeconds: Math.max(1, Math.round(options.expireInSeconds ?? 300)),
      maintenanceIntervalSeconds: Math.max(1, Math.round(options.maintenanceIntervalSeconds ?? 30)),
      shutdownGraceMs: Math.max(1000, options.shutdownGraceMs ?? 10_000),
      onError: options.onError,
    };
    this.#boss = new PgBoss({
      connectionString: options.connectionString,
      schema,
      max: 4,
      maintenanceIntervalSeconds: this.#options.maintenanceIntervalSeconds,
      schedule: false,
    });
    // pg-boss emits 'error' for background failures; an EventEmitter 'error' without a listener would crash the process.
    this.#boss.on('error', (error: unknown) => this.#report(error, 'pg-boss'));
    guardPgBossSettles((error) => this.#report(error, 'settle'));
    // Enqueues (one short transaction each) of a process answering webhooks at hundreds per second.
    this.#pool = new Pool({ connectionString: options.connectionString, max: 8 });
    this.#pool.on('error', (error: unknown) => this.#report(error, 'pool'));
  }

  #report(error: unknown, phase: string, job?: { id: string; name: string }): void {
    const context = { phase, ...(job !== undefined ? { jobId: job.id, name: job.name } : {}) };
    if (this.#options.onError !== undefined) this.#options.onError(error, context);
    else
      console.error(
        `[clawgate queue] ${phase}${job !== undefined ? ` ${job.name} ${job.id}` : ''}: ${describeJobError(error)}`,
      );
  }

  #ensureStarted(): Promise<void> {
    if (this.#stopped) return Promise.reject(new Error('queue is stopped'));
    this.#starting ??= this.#boss.start().then(() => undefined);
    return this.#starting;
  }

  #ensureQueue(name: string): Promise<void> {
    let created = this.#queues.get(name);
    if (created === undefined) {
      created = this.#boss
        .createQueue(name, {
          name,
          policy: 'short',
          retryLimit: this.#options.maxAttempts - 1,
          retryDelay: this.#options.retryDelaySeconds,
          retryBackoff: this.#options.retryDelaySeconds > 0,
          expireInSeconds: this.#options.expireInSeconds,
        })
        .catch((error: unknown) => {
          // Another replica created it first.
          if (!(error instanceof Error && /already exists/.test(error.message))) throw error;
        });
      this.#queues.set(name, created);
    }
    return created;
  }

  async enqueue(name: string, payload: JobPayload, options: EnqueueOptions): Promise<EnqueueResult> {
    checkJobName(name);
    if (options.key.length === 0 || options.key.length > 512) throw new Error('job key must be 1..512 characters');
    await this.#ensureStarted();
    await this.#ensureQueue(name);
    const schema = this.#options.schema;
    const supersedes = options.supersedes ?? null;
    const client = await this.#pool.connect();
    // A checked-out client is not watched by the pool: a connection ended by the server between two
    // queries (a PostgreSQL restart) would be an unhandled 'error' event and kill the process.
    let broken: Error | undefined;
    const onClientError = (error: Error): void => {
      broken = error;
      this.#report(error, 'enqueue');
    };
    client.on('error', onClientError);
    const db = {
      executeSql: async (text: string, values: unknown[]) => ({ rows: (await client.query(text, values)).rows }),
    };
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        JSON.stringify(['clawgate-pgboss', name, supersedes ?? options.key]),
      ]);
      if (supersedes !== null && options.yieldToGroup === true) {
        const newer = await client.query<{ id: string }>(
          `SELECT id FROM ${schema}.job WHERE name = $1 AND state IN ('created', 'retry') AND data->>'supersedes' = $2 AND singleton_key IS DISTINCT FROM $3 ORDER BY created_on DESC LIMIT 1`,
          [name, supersedes, options.key],
        );
        const found = newer.rows[0];
        if (found !== undefined) {
          await client.query('COMMIT');
          return { id: found.id, deduped: true };
        }
      }
      if (supersedes !== null) {
        const older = await client.query<{ id: string }>(
          `SELECT id FROM ${schema}.job WHERE name = $1 AND state IN ('created', 'retry') AND data->>'supersedes' = $2 AND singleton_key IS DISTINCT FROM $3`,
          [name, supersedes, options.key],
        );
        if (older.rows.length > 0)
          await this.#boss.cancel(
            name,
            older.rows.map((row) => row.id),
            { db },
          );
      }
      const pending = await this.#findPending(client, name, options.key);
      if (pending !== null) {
        await client.query('COMMIT');
        return { id: pending, deduped: true };
      }
      const data: JobData = { payload, key: options.key, supersedes };
      const id = await this.#boss.send(name, data, {
        singletonKey: options.key,
        retryLimit: this.#options.maxAttempts - 1,
        retryDelay: this.#options.retryDelaySeconds,
        retryBackoff: this.#options.retryDelaySeconds > 0,
        expireInSeconds: this.#options.expireInSeconds,
        ...(options.delayMs !== undefined && options.delayMs > 0
          ? { startAfter: Math.ceil(options.delayMs / 1000) }
          : {}),
        db,
      });
      const result =
        id !== null
          ? { id, deduped: false }
          : { id: (await this.#findPending(client, name, options.key)) ?? '', deduped: true };
      if (!result.deduped) await client.query('SELECT pg_notify($1, $2)', [jobChannelOf(schema), name]);
      await client.query('COMMIT');
      if (result.id === '') throw new Error('pg-boss refused the job but no pending job with its key exists');
      if (!result.deduped) this.#wake(name);
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      broken ??= error instanceof Error && /terminat|connection|ECONN/i.test(error.message) ? error : undefined;
      throw error;
    } finally {
      client.off('error', onClientError);
      // A broken connection is destroyed, not returned to the pool.
      client.release(broken);
    }
  }

  async #findPending(client: PoolClient, name: string, key: string): Promise<string | null> {
    const found = await client.query<{ id: string }>(
      `SELECT id FROM ${this.#options.schema}.job WHERE name = $1 AND singleton_key = $2 AND state IN ('created', 'retry') ORDER BY created_on LIMIT 1`,
      [name, key],
    );
    return found.rows[0]?.id ?? null;
  }

  wake(name: string): void {
    if (!this.#stopped) this.#wake(name);
  }

  async backlog(): Promise<QueueBacklog[]> {
    await this.#ensureStarted();
    const rows = await this.#pool.query<{ name: string; waiting: string; running: string; oldest: Date | null }>(
      `SELECT name, count(*) FILTER (WHERE state IN ('created', 'retry')) AS waiting, count(*) FILTER (WHERE state = 'active') AS running,
              min(created_on) FILTER (WHERE state IN ('created', 'retry')) AS oldest
         FROM ${this.#options.schema}.job WHERE state IN ('created', 'retry', 'active') GROUP BY name`,
    );
    return rows.rows.map((row) => ({
      name: row.name,
      waiting: Number(row.waiting),
      running: Number(row.running),
      oldestWaitingAt: row.oldest,
    }));
  }

  /** Wakes this process's idle workers of `name` (no-op for names this process does not work). */
  #wake(name: string): void {
    for (const workerId of this.#workers.get(name) ?? []) this.#boss.notifyWorker(workerId);
  }

  /** One connection that LISTENs for enqueues by any replica; reconnects with backoff when it drops. */
  async #listen(attempt = 0): Promise<void> {
    if (this.#stopped) return;
    const client = new Client({ connectionString: this.#options.connectionString });
    const retry = (error: unknown): void => {
      if (this.#listener === client) this.#listener = null;
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      if (this.#stopped || this.#listenerRetry !== null) return;
      this.#report(error, 'listen');
      this.#listenerRetry = setTimeout(() => {
        this.#listenerRetry = null;
        void this.#listen(attempt + 1);
      }, listenerBackoffMs(attempt));
      this.#listenerRetry.unref();
    };
    client.on('error', retry);
    client.on('end', () => retry(new Error('LISTEN connection ended')));
    client.on('notification', (message) => {
      if (typeof message.payload === 'string') this.#wake(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${jobChannelOf(this.#options.schema)}`);
      if (this.#stopped) {
        await client.end();
        return;
      }
      this.#listener = client;
      // Jobs enqueued while the connection was down were announced to nobody here: look now.
      if (attempt > 0) for (const name of this.#workers.keys()) this.#wake(name);
    } catch (error) {
      retry(error);
    }
  }

  async start(handlers: Readonly<Record<string, JobHandler>>): Promise<void> {
    await this.#ensureStarted();
    for (const [name, handler] of Object.entries(handlers)) {
      checkJobName(name);
      await this.#ensureQueue(name);
      const workerIds: string[] = [];
      this.#workers.set(name, workerIds);
      for (let worker = 0; worker < this.#options.concurrency; worker += 1) {
        // The id is known only once work() resolves; the handler runs after that.
        let workerId = '';
        workerId = await this.#boss.work<JobData>(
          name,
          { batchSize: 1, includeMetadata: true, pollingIntervalSeconds: this.#options.pollIntervalMs / 1000 },
          async (jobs) => {
            for (const bossJob of jobs) {
              const controller = new AbortController();
              this.#controllers.add(controller);
              const job: Job = {
                id: bossJob.id,
                name,
                key: bossJob.data.key,
                payload: bossJob.data.payload,
                attempt: bossJob.retryCount + 1,
                maxAttempts: bossJob.retryLimit + 1,
                signal: controller.signal,
              };
              try {
                await handler(job);
              } catch (error) {
                this.#report(error, 'handler', job);
                // pg-boss stores what it is given (serialised, with cause) in the job row; only the message may go there.
                // eslint-disable-next-line preserve-caught-error
                throw new Error(describeJobError(error));
              } finally {
                this.#controllers.delete(controller);
                // Fetch again at once: a backlog drains back to back; an empty fetch then waits for the poll.
                if (workerId !== '') this.#boss.notifyWorker(workerId);
              }
            }
          },
        );
        workerIds.push(workerId);
      }
    }
    if (this.#listener === null && this.#listenerRetry === null) await this.#listen();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#listenerRetry !== null) clearTimeout(this.#listenerRetry);
    const listener = this.#listener;
    this.#listener = null;
    if (listener !== null) {
      listener.removeAllListeners();
      listener.on('error', () => undefined);
      await listener.end().catch(() => undefined);
    }
    if (this.#starting !== null) {
      await this.#starting.catch(() => undefined);
      await this.#boss.stop({ graceful: true, timeout: this.#options.shutdownGraceMs, wait: true, close: true });
    }
    for (const controller of this.#controllers) controller.abort();
    await this.#pool.end();
  }
}

/**
 * pg-boss 10 settles a job after its handler (`complete` or `fail` in its manager's fetch loop)
 * without awaiting or catching: with the database down at that moment (a PostgreSQL restart) the
 * rejection is unhandled, and Node ends the process, taking every replica down at once (found by
 * test/replicas/postgres-restart-under-load-loses-nothing.test.ts). Nothing is lost by catching it:
 * the job stays active and pg-boss expires it into a retry (handlers are idempotent). So one process
 * listener reports exactly those rejections (recognised by pg-boss's manager in their stack) and
 * re-throws every other one, which keeps Node's default (the process ends) for anything else.
 * Hand-written: pg-boss has no option for it.
 */
let settleReporter: ((error: unknown) => void) | null = null;

/** True for a rejection of pg-boss's own complete/fail (its async stack names the manager's method). */
export function isPgBossSettleRejection(reason: unknown): boolean {
  const stack = reason instanceof Error ? (reason.stack ?? '') : '';
  return /\bManager\.(?:complete|fail) \([^)]*pg-boss[\\/]src[\\/]manager\.js/.test(stack);
}

function guardPgBossSettles(report: (error: unknown) => void): void {
  const installed = settleReporter !== null;
  // The newest queue of the process reports (a process runs one; tests make many in turn).
  settleReporter = report;
  if (installed) return;
  process.on('unhandledRejection', (reason: unknown) => {
    if (!isPgBossSettleRejection(reason)) throw reason;
    settleReporter?.(reason);
  });
}
