import type { Logger } from 'pino';
import type { Store } from '../store';
import type { RetentionPolicy } from './retention-policy';

/**
 * The periodic purge: audit events (and the incidents recorded with them) older than the audit
 * retention, delivery ids older
 * than the dedupe window, finished jobs older than the job retention. Every replica runs it; the
 * deletes are idempotent, so running twice costs a query, nothing more.
 *
 * Bounded: one run at a time (a tick while a run is in flight is skipped), the timer is unref'd
 * (it never keeps the process alive) and `stop()` clears it and waits for the run in flight, so
 * the store can be closed right after.
 */

const DAY_MS = 24 * 60 * 60 * 1000;
/** The first run waits a little after start, so a restart storm does not begin with deletes. */
export const DEFAULT_FIRST_RUN_DELAY_MS = 60_000;

export interface PurgeResult {
  readonly auditEvents: number;
  /** Incidents go with their audit events (store/incidents.ts). */
  readonly incidents: number;
  readonly deliveries: number;
  readonly jobs: number;
  /** Push records (who pushed which commit, issue 9), kept as long as audit events. */
  readonly commitPushes: number;
  /** Alerts no longer pending and failed restores (issue 9), kept as long as audit events. */
  readonly alerts: number;
  /** The cutoffs used (audit null when kept forever). */
  readonly cutoffs: { readonly audit: Date | null; readonly deliveries: Date; readonly jobs: Date };
}

/** `alerts` is optional so a partial store (tests) still purges the rest; the real store has it. */
type RetentionStore = Pick<Store, 'audit' | 'incidents' | 'deliveries' | 'jobs' | 'commitPushes'> & Partial<Pick<Store, 'alerts'>>;

/** One purge at `now` (an injected clock in tests). */
export async function purgeExpired(store: RetentionStore, policy: RetentionPolicy, now: Date): Promise<PurgeResult> {
  const at = now.getTime();
  const audit = policy.auditDays > 0 ? new Date(at - policy.auditDays * DAY_MS) : null;
  const deliveries = new Date(at - policy.deliveryDays * DAY_MS);
  const jobs = new Date(at - policy.jobDays * DAY_MS);
  return {
    auditEvents: audit === null ? 0 : await store.audit.purgeOlderThan(audit),
    incidents: audit === null ? 0 : await store.incidents.purgeOlderThan(audit),
    deliveries: await store.deliveries.purgeOlderThan(deliveries),
    jobs: await store.jobs.purgeFinishedBefore(jobs),
    commitPushes: audit === null ? 0 : await store.commitPushes.purgeOlderThan(audit),
    alerts: audit === null || store.alerts === undefined ? 0 : await store.alerts.purgeOlderThan(audit),
    cutoffs: { audit, deliveries, jobs },
  };
}

export interface RetentionJobOptions {
  readonly store: RetentionStore;
  readonly policy: RetentionPolicy;
  readonly logger: Logger;
  /** Default: the system clock. */
  readonly now?: () => Date;
  readonly firstRunDelayMs?: number;
}

export interface RetentionJob {
  /** Runs a purge now (waits for one in flight first); used by the timer and by tests. */
  runOnce(): Promise<PurgeResult>;
  /** Stops the timer and waits for a run in flight. Idempotent. */
  stop(): Promise<void>;
}

export function startRetention(options: RetentionJobOptions): RetentionJob {
  const logger = options.logger.child({ component: 'retention' });
  const now = options.now ?? (() => new Date());
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<PurgeResult> | null = null;
  let stopped = false;

  const run = async (): Promise<PurgeResult> => {
    const result = await purgeExpired(options.store, options.policy, now());
    logger.info({ auditEvents: result.auditEvents, incidents: result.incidents, deliveries: result.deliveries, jobs: result.jobs }, 'retention purge done');
    return result;
  };

  const runOnce = async (): Promise<PurgeResult> => {
    while (running !== null) await running.catch(() => undefined);
    const current = run();
    running = current;
    try {
      return await current;
    } finally {
      running = null;
    }
  };

  const schedule = (delayMs: number): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = null;
      // A tick that finds a run in flight (e.g. a manual runOnce) skips rather than queueing up.
      const tick = running === null ? runOnce().catch((error: unknown) => logger.error({ err: error instanceof Error ? error.message : String(error) }, 'retention purge failed')) : Promise.resolve();
      void tick.finally(() => schedule(options.policy.intervalMs));
    }, delayMs);
    timer.unref();
  };
  schedule(options.firstRunDelayMs ?? DEFAULT_FIRST_RUN_DELAY_MS);

  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      while (running !== null) await running.catch(() => undefined);
    },
  };
}
