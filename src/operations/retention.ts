import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Store } from '../store';
import type { RetentionPolicy } from './retention-policy';

/**
 * The periodic purge: audit events (and the incidents recorded with them) older than the audit
 * retention, delivery ids older
 * than the dedupe window, finished jobs older than the job retention. With `leases` (the server
 * passes the store's `periodic_leases`), a timer tick runs the purge only if it wins the interval's
 * lease, so across replicas sharing a database each interval's purge runs once (issue 15); the
 * deletes are idempotent anyway, so a second run would cost queries, nothing more.
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
  /** Hours of the API budget's call counts (api_call_counts) older than a day. */
  readonly apiCallHours: number;
  /** Alerts no longer pending and failed restores (issue 9), kept as long as audit events. */
  readonly alerts: number;
  /** The cutoffs used (audit null when kept forever). */
  readonly cutoffs: { readonly audit: Date | null; readonly deliveries: Date; readonly jobs: Date };
}

/** `apiCalls` and `alerts` are optional so a partial store (tests) still purges the rest; the real store has them. */
type RetentionStore = Pick<Store, 'audit' | 'incidents' | 'deliveries' | 'jobs' | 'commitPushes'> &
  Partial<Pick<Store, 'apiCalls' | 'alerts'>>;

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
    // The API budget looks back one hour; a day of counts is kept for operators.
    apiCallHours: store.apiCalls === undefined ? 0 : await store.apiCalls.purgeOlderThan(at - DAY_MS),
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
  /** The interval's lease across replicas (store.leases); absent: every tick runs (one process). */
  readonly leases?: { claim(name: string, holder: string, intervalMs: number): Promise<boolean> };
  /** This replica's name in the lease (default: a random id). */
  readonly holder?: string;
}

/** The `periodic_leases` row that decides which replica purges in an interval. */
export const RETENTION_LEASE = 'retention-purge';

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
  const holder = options.holder ?? randomUUID();

  const run = async (): Promise<PurgeResult> => {
    const result = await purgeExpired(options.store, options.policy, now());
    logger.info(
      {
        auditEvents: result.auditEvents,
        incidents: result.incidents,
        deliveries: result.deliveries,
        jobs: result.jobs,
      },
      'retention purge done',
    );
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

  /** A timer tick's run: only when this replica wins the interval's lease (when there is one). */
  const leasedRun = async (): Promise<PurgeResult | null> => {
    if (
      options.leases !== undefined &&
      !(await options.leases.claim(RETENTION_LEASE, holder, options.policy.intervalMs))
    ) {
      logger.debug('retention purge skipped: another replica holds this interval');
      return null;
    }
    return runOnce();
  };

  const schedule = (delayMs: number): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = null;
      // A tick that finds a run in flight (e.g. a manual runOnce) skips rather than queueing up.
      const tick =
        running === null
          ? leasedRun().catch((error: unknown) =>
              logger.error({ err: error instanceof Error ? error.message : String(error) }, 'retention purge failed'),
            )
          : Promise.resolve();
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
