import os from 'node:os';
import type { Store } from '../store';
import type { Dialect } from '../store/database';
import type { JobQueue } from './job-queue';
import { PgBossJobQueue, type PgBossJobQueueOptions } from './pg-boss-job-queue';
import { TableJobQueue, type TableJobQueueOptions } from './table-job-queue';

/**
 * Picks and builds the queue (docs/operations.md).
 * - SQLite: always the table queue (there is no other).
 * - Postgres: pg-boss by default, so replicas share work through a proven queue;
 *   `CLAWGATE_QUEUE=table` selects the table queue instead (it also works across replicas).
 * `CLAWGATE_QUEUE=pg-boss` on SQLite is a startup error rather than a silent fallback.
 */

export type QueueBackend = 'table' | 'pg-boss';

export class QueueConfigurationError extends Error {
  override readonly name = 'QueueConfigurationError';
}

export function selectQueueBackend(dialect: Dialect, setting: string | undefined): QueueBackend {
  const wanted = setting?.trim().toLowerCase() ?? '';
  if (wanted === '') return dialect === 'postgres' ? 'pg-boss' : 'table';
  if (wanted === 'table') return 'table';
  if (wanted === 'pg-boss' || wanted === 'pgboss') {
    if (dialect !== 'postgres')
      throw new QueueConfigurationError('CLAWGATE_QUEUE=pg-boss needs a postgres:// DATABASE_URL');
    return 'pg-boss';
  }
  throw new QueueConfigurationError('CLAWGATE_QUEUE must be "table" or "pg-boss"');
}

/**
 * Default worker id of the table queue: `CLAWGATE_WORKER_ID` if set; on SQLite (one process per
 * database file) the host name, so a restarted process reclaims its unfinished jobs at once; on
 * Postgres host name plus pid, so replicas on one host never take each other's running jobs
 * (a crashed replica's jobs come back when their lease expires).
 */
export function defaultWorkerId(dialect: Dialect, env: { readonly CLAWGATE_WORKER_ID?: string | undefined }): string {
  const configured = env.CLAWGATE_WORKER_ID?.trim();
  if (configured !== undefined && configured !== '') return configured;
  return dialect === 'sqlite' ? os.hostname() : `${os.hostname()}:${process.pid}`;
}

export interface CreateJobQueueOptions {
  readonly env?: { readonly CLAWGATE_QUEUE?: string | undefined; readonly CLAWGATE_WORKER_ID?: string | undefined };
  readonly table?: Partial<TableJobQueueOptions>;
  readonly pgBoss?: Partial<Omit<PgBossJobQueueOptions, 'connectionString'>>;
}

export function createJobQueue(store: Store, options: CreateJobQueueOptions = {}): JobQueue {
  const env = options.env ?? process.env;
  const backend = selectQueueBackend(store.dialect, env.CLAWGATE_QUEUE);
  if (backend === 'pg-boss' && store.config.dialect === 'postgres') {
    return new PgBossJobQueue({ ...options.pgBoss, connectionString: store.config.url });
  }
  return new TableJobQueue(store.jobs, {
    ...options.table,
    workerId: options.table?.workerId ?? defaultWorkerId(store.dialect, env),
  });
}

export type { JobQueue, Job, JobHandler, JobPayload, EnqueueOptions, EnqueueResult } from './job-queue';
export { describeJobError } from './job-queue';
export { pullRequestJobKey, type PullRequestRef } from './pull-request-job-key';
export { TableJobQueue, type TableJobQueueOptions } from './table-job-queue';
export { PgBossJobQueue, type PgBossJobQueueOptions } from './pg-boss-job-queue';
