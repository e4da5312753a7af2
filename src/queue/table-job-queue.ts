import type { ClaimedJob, JobRepository } from '../store/jobs';
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
 * The durable in-process queue on the store's `jobs` table (default for SQLite; works on Postgres
 * too). Workers poll the table, and an enqueue in this process wakes them at once.
 *
 * Crash recovery: a claim holds a lease that a heartbeat renews while the handler runs. A process
 * that dies leaves its jobs `running`; they are claimed again when the lease expires (by any
 * worker), or immediately when a worker with the same `workerId` starts (the restarted process).
 * Completion is fenced by the claim's lock token, so a job completes at most once even if a slow
 * worker's lease was taken over.
 */

export interface TableJobQueueOptions {
  /**
   * Identifies this worker across restarts so it can reclaim its own unfinished jobs at start.
   * Must be unique among processes sharing the database (see createJobQueue for the default).
   */
  readonly workerId: string;
  /** Jobs run at the same time by this process (default 2). */
  readonly concurrency?: number;
  /** How often idle workers look for jobs enqueued elsewhere or due for retry (default 1000 ms). */
  readonly pollIntervalMs?: number;
  /** Lease of a claim; renewed every third of it while the handler runs (default 60 s). */
  readonly leaseMs?: number;
  /** Attempts per job including the first (default 5). */
  readonly maxAttempts?: number;
  /** Retry n waits about base·2^(n-1) ms (equal jitter), capped (defaults 2 s and 5 min). */
  readonly retryBaseDelayMs?: number;
  readonly retryMaxDelayMs?: number;
  /** How long stop() waits for running handlers before releasing their jobs (default 10 s). */
  readonly shutdownGraceMs?: number;
  /** Receives errors of the queue machinery and of handlers (messages only). Default: console.error. */
  readonly onError?: (
    error: unknown,
    context: { readonly phase: string; readonly jobId?: string; readonly name?: string },
  ) => void;
}

interface RunningJob {
  readonly claimed: ClaimedJob;
  readonly controller: AbortController;
  promise: Promise<void>;
  released: boolean;
}

export class TableJobQueue implements JobQueue {
  readonly backend = 'table' as const;
  readonly #jobs: JobRepository;
  readonly #options: Required<Omit<TableJobQueueOptions, 'onError'>> & Pick<TableJobQueueOptions, 'onError'>;
  #handlers: Readonly<Record<string, JobHandler>> = {};
  readonly #running = new Map<string, RunningJob>();
  #timer: NodeJS.Timeout | null = null;
  #tick: Promise<void> | null = null;
  #wakeRequested = false;
  #started = false;
  #stopping = false;

  constructor(jobs: JobRepository, options: TableJobQueueOptions) {
    if (options.workerId.length === 0) throw new Error('workerId must not be empty');
    this.#jobs = jobs;
    this.#options = {
      workerId: options.workerId,
      concurrency: Math.max(1, options.concurrency ?? 2),
      pollIntervalMs: Math.max(10, options.pollIntervalMs ?? 1000),
      leaseMs: Math.max(100, options.leaseMs ?? 60_000),
      maxAttempts: Math.max(1, options.maxAttempts ?? 5),
      retryBaseDelayMs: Math.max(0, options.retryBaseDelayMs ?? 2000),
      retryMaxDelayMs: Math.max(0, options.retryMaxDelayMs ?? 300_000),
      shutdownGraceMs: Math.max(0, options.shutdownGraceMs ?? 10_000),
      onError: options.onError,
    };
  }

  async enqueue(name: string, payload: JobPayload, options: EnqueueOptions): Promise<EnqueueResult> {
    const result = await this.#jobs.enqueue({
      name,
      key: options.key,
      supersedes: options.supersedes ?? null,
      payload,
      maxAttempts: this.#options.maxAttempts,
      ...(options.delayMs !== undefined && options.delayMs > 0
        ? { runAfter: new Date(Date.now() + options.delayMs) }
        : {}),
      ...(options.yieldToGroup === true ? { yieldToGroup: true } : {}),
    });
    if (this.#started && !this.#stopping && name in this.#handlers) this.#wake();
    return { id: result.id, deduped: result.deduped };
  }

  async start(handlers: Readonly<Record<string, JobHandler>>): Promise<void> {
    if (this.#started) throw new Error('queue already started');
    for (const name of Object.keys(handlers)) checkJobName(name);
    this.#handlers = { ...handlers };
    this.#started = true;
    this.#stopping = false;
    await this.#jobs.recoverWorker(this.#options.workerId);
    this.#wake();
  }

  async stop(): Promise<void> {
    if (!this.#started || this.#stopping) return;
    this.#stopping = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#tick !== null) await this.#tick;
    const running = [...this.#running.values()];
    if (running.length > 0) {
      let timeout: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(running.map((job) => job.promise)),
        new Promise<void>((resolve) => {
          timeout = setTimeout(resolve, this.#options.shutdownGraceMs);
        }),
      ]);
      clearTimeout(timeout);
    }
    // Handlers still running after the grace period: give their jobs back so a restart runs them.
    for (const job of this.#running.values()) {
      job.released = true;
      job.controller.abort();
      await this.#jobs
        .release(job.claimed.id, job.claimed.lockToken)
        .catch((error: unknown) => this.#report(error, 'release', job.claimed));
    }
    this.#running.clear();
    this.#started = false;
  }

  wake(name: string): void {
    if (this.#started && !this.#stopping && name in this.#handlers) this.#wake();
  }

  backlog(): Promise<QueueBacklog[]> {
    return this.#jobs.backlog();
  }

  #report(error: unknown, phase: string, job?: ClaimedJob): void {
    const context = { phase, ...(job !== undefined ? { jobId: job.id, name: job.name } : {}) };
    if (this.#options.onError !== undefined) this.#options.onError(error, context);
    else
      console.error(
        `[clawgate queue] ${phase}${job !== undefined ? ` ${job.name} ${job.id}` : ''}: ${describeJobError(error)}`,
      );
  }

  #wake(): void {
    if (this.#tick !== null) {
      this.#wakeRequested = true;
      return;
    }
    this.#schedule(0);
  }

  #schedule(delayMs: number): void {
    if (this.#stopping) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#tick = this.#claimAndRun().finally(() => {
        this.#tick = null;
        const again = this.#wakeRequested;
        this.#wakeRequested = false;
        this.#schedule(again ? 0 : this.#options.pollIntervalMs);
      });
    }, delayMs);
    // The server's listening socket keeps the process alive; the queue alone should not.
    this.#timer.unref();
  }

  async #claimAndRun(): Promise<void> {
    const names = Object.keys(this.#handlers);
    try {
      while (!this.#stopping && this.#running.size < this.#options.concurrency) {
        const claimed = await this.#jobs.claimNext(names, this.#options.workerId, this.#options.leaseMs);
        if (claimed === null) return;
        if (this.#stopping) {
          await this.#jobs.release(claimed.id, claimed.lockToken);
          return;
        }
        this.#run(claimed);
      }
    } catch (error) {
      this.#report(error, 'claim');
    }
  }

  #retryDelay(attempt: number): number {
    const exponential = Math.min(this.#options.retryBaseDelayMs * 2 ** (attempt - 1), this.#options.retryMaxDelayMs);
    return Math.round(exponential / 2 + (Math.random() * exponential) / 2);
  }

  #run(claimed: ClaimedJob): void {
    const handler = this.#handlers[claimed.name];
    const controller = new AbortController();
    const entry: RunningJob = { claimed, controller, promise: Promise.resolve(), released: false };
    // Set once the handler has returned or thrown: from then on this claim is being settled
    // (complete/fail), and a renewal that lands after the settle finds the job no longer `running`.
    // That is the job finishing, not a lease lost, so it is not reported (issue 15).
    let settled = false;
    const heartbeat = setInterval(
      () => {
        if (settled) return;
        this.#jobs.renewLease(claimed.id, claimed.lockToken, this.#options.leaseMs).then(
          (owned) => {
            if (!owned && !entry.released && !settled) {
              controller.abort();
              this.#report(new Error('lease lost: the job was claimed by another worker'), 'lease', claimed);
            }
          },
          (error: unknown) => this.#report(error, 'lease', claimed),
        );
      },
      Math.max(50, Math.floor(this.#options.leaseMs / 3)),
    );
    heartbeat.unref();
    const job: Job = {
      id: claimed.id,
      name: claimed.name,
      key: claimed.key,
      payload: claimed.payload,
      attempt: claimed.attempt,
      maxAttempts: claimed.maxAttempts,
      signal: controller.signal,
    };
    entry.promise = (async () => {
      try {
        if (handler === undefined) throw new Error(`no handler for job ${claimed.name}`);
        await handler(job);
        settled = true;
        clearInterval(heartbeat);
        if (!entry.released && !(await this.#jobs.complete(claimed.id, claimed.lockToken))) {
          // Another worker took the job over (this claim's lease had expired): its run counts.
          this.#report(new Error('lease lost: the job was taken over before it completed here'), 'complete', claimed);
        }
      } catch (error) {
        settled = true;
        clearInterval(heartbeat);
        if (entry.released) return;
        this.#report(error, 'handler', claimed);
        const retryDelay = claimed.attempt < claimed.maxAttempts ? this.#retryDelay(claimed.attempt) : null;
        await this.#jobs.fail(claimed.id, claimed.lockToken, describeJobError(error), retryDelay);
      }
    })()
      .catch((error: unknown) => {
        if (!entry.released) this.#report(error, 'settle', claimed);
      })
      .finally(() => {
        clearInterval(heartbeat);
        if (!entry.released) {
          this.#running.delete(claimed.id);
          if (this.#started && !this.#stopping) this.#wake();
        }
      });
    this.#running.set(claimed.id, entry);
  }
}
