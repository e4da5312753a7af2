/**
 * The job queue between the surfaces (which must ack webhooks fast) and the pipeline (docs/architecture.md §2).
 * Two implementations: TableJobQueue (the store's `jobs` table; SQLite or Postgres) and
 * PgBossJobQueue (pg-boss 10; Postgres). Both give the same guarantees:
 * - durable: an enqueued job survives a restart or crash and runs to completion once
 *   (a crash mid-handler means the handler runs again: handlers must be idempotent);
 * - dedupe: enqueueing a key that is already pending returns the pending job (`deduped: true`);
 * - supersede: with `supersedes` (a group, e.g. repo + PR), pending jobs of the same group with
 *   another key (an older head) are dropped; a running one finishes;
 * - bounded retries with exponential backoff; a job that throws on its last attempt fails.
 */

export interface EnqueueOptions {
  /** Dedupe key, e.g. repo + PR + head sha (see pullRequestJobKey). */
  readonly key: string;
  /** Supersede group, e.g. repo + PR. */
  readonly supersedes?: string;
  /** Run no earlier than this many ms from now (a durable "try again later"); default now. */
  readonly delayMs?: number;
  /**
   * With `supersedes`: when a job of the same group with another key is pending, add nothing and
   * return that job (`deduped: true`); it was enqueued later (enqueueing supersedes the others), so
   * it is the newer. A job that re-enqueues itself (a deferral) thereby never drops a newer head's job.
   */
  readonly yieldToGroup?: boolean;
}

export interface EnqueueResult {
  readonly id: string;
  /** True when an equal job was already pending; `id` is that job's. */
  readonly deduped: boolean;
}

export interface Job {
  readonly id: string;
  readonly name: string;
  readonly key: string;
  /** As enqueued (JSON round-tripped); validate it in the handler. */
  readonly payload: unknown;
  /** 1 on the first run. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** Aborted when the queue stops before the handler finished (cooperative cancellation). */
  readonly signal: AbortSignal;
}

export type JobHandler = (job: Job) => Promise<void>;

/** JSON-compatible payload: it is stored as JSON. */
export type JobPayload = { readonly [key: string]: unknown };

export interface JobQueue {
  readonly backend: 'table' | 'pg-boss';
  enqueue(name: string, payload: JobPayload, options: EnqueueOptions): Promise<EnqueueResult>;
  /** Starts workers for the given job names. Jobs of other names stay queued. */
  start(handlers: Readonly<Record<string, JobHandler>>): Promise<void>;
  /** Stops taking jobs, waits (bounded) for running handlers, and releases the rest. */
  stop(): Promise<void>;
  /**
   * Tells this process's idle workers of `name` that a job may be waiting (a job enqueued by another
   * process on the same database; the `all` role forwards its enqueues to its worker processes this
   * way). No-op when this process does not work `name`.
   */
  wake(name: string): void;
  /** Queue depth and age per job name, for metrics. */
  backlog(): Promise<QueueBacklog[]>;
}

/** Per job name: jobs waiting to start and running, and when the oldest waiting one was enqueued. */
export interface QueueBacklog {
  readonly name: string;
  readonly waiting: number;
  readonly running: number;
  readonly oldestWaitingAt: Date | null;
}

/** Message recorded for a failed attempt: the error's message only, never a stack or payload. */
export function describeJobError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
