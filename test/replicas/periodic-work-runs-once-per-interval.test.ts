import { Writable } from 'node:stream';
import pino from 'pino';
import { loadAppConfig } from '../../src/config/app-config';
import { startRetention, type RetentionJob } from '../../src/operations/retention';
import { startReconciliation, type Reconciler } from '../../src/pipeline/reconcile';
import { TableJobQueue } from '../../src/queue';
import type { Store } from '../../src/store';
import { BackendDatabase } from '../store/support/store-fixture';

/**
 * Issue 15: periodic work (retention, reconciliation) runs once per interval across replicas. Three
 * instances, each with its own store (its own connection pool, as three processes would have) on
 * one PostgreSQL database, run their timers side by side with a short interval; every run is
 * recorded with its time. Each interval must have exactly one run: never two runs closer than the
 * interval, and about `duration / interval` runs in all (not three times that).
 */
const REPLICAS = 3;
const INTERVAL_MS = 400;
const DURATION_MS = 2_600;

function gaps(times: number[]): number[] {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted.slice(1).map((time, index) => time - (sorted[index] as number));
}

describe('periodic work across three replicas on one PostgreSQL', () => {
  const database = new BackendDatabase('postgres', 'periodic_once');
  const stores: Store[] = [];

  beforeAll(async () => {
    await database.setUp();
    for (let n = 0; n < REPLICAS; n += 1) stores.push(await database.open());
  });
  afterAll(async () => {
    for (const store of stores) await store.close();
    await database.tearDown();
  });

  test('retention purges once per interval, whichever replica wins it', async () => {
    const runs: { replica: number; at: number }[] = [];
    const jobs: RetentionJob[] = stores.map((store, replica) =>
      startRetention({
        store: {
          audit: store.audit,
          incidents: store.incidents,
          deliveries: store.deliveries,
          commitPushes: store.commitPushes,
          jobs: new Proxy(store.jobs, {
            get(target, property) {
              if (property === 'purgeFinishedBefore')
                return (cutoff: Date) => {
                  runs.push({ replica, at: Date.now() });
                  return target.purgeFinishedBefore(cutoff);
                };
              const value: unknown = Reflect.get(target, property);
              return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
            },
          }),
        },
        policy: { auditDays: 400, deliveryDays: 7, jobDays: 30, intervalMs: INTERVAL_MS },
        logger: pino({ level: 'silent' }),
        firstRunDelayMs: 0,
        leases: store.leases,
        holder: `replica-${replica}`,
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, DURATION_MS));
    for (const job of jobs) await job.stop();
    const expected = DURATION_MS / INTERVAL_MS;
    expect(runs.length).toBeGreaterThanOrEqual(Math.floor(expected) - 1);
    expect(runs.length).toBeLessThanOrEqual(Math.ceil(expected) + 1);
    // Two runs in one interval would show as a gap shorter than the interval (the lease is claimed
    // just before the run; 30 ms of slack for the time between claim and purge).
    for (const gap of gaps(runs.map((run) => run.at))) expect(gap).toBeGreaterThanOrEqual(INTERVAL_MS - 30);
  });

  test('reconciliation passes once per interval, whichever replica wins it', async () => {
    const passes: { replica: number; at: number }[] = [];
    const config = loadAppConfig({
      DATABASE_URL: database.url,
      CLAWGATE_SECRET_KEY: Buffer.alloc(32, 3).toString('hex'),
    });
    const reconcilers: Reconciler[] = stores.map((store, replica) => {
      // The pass logs 'reconciliation done' only when it won the interval's lease.
      const sink = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          if (chunk.toString().includes('reconciliation done')) passes.push({ replica, at: Date.now() });
          callback();
        },
      });
      const queue = new TableJobQueue(store.jobs, { workerId: `replica-${replica}` });
      return startReconciliation(
        { store, queue, config, logger: pino({ level: 'info' }, sink) },
        { intervalMs: INTERVAL_MS, holder: `replica-${replica}`, firstRunDelayMs: 0 },
      );
    });
    await new Promise((resolve) => setTimeout(resolve, DURATION_MS));
    for (const reconciler of reconcilers) await reconciler.stop();
    const expected = DURATION_MS / INTERVAL_MS;
    expect(passes.length).toBeGreaterThanOrEqual(Math.floor(expected) - 1);
    expect(passes.length).toBeLessThanOrEqual(Math.ceil(expected) + 1);
    for (const gap of gaps(passes.map((pass) => pass.at))) expect(gap).toBeGreaterThanOrEqual(INTERVAL_MS - 30);
  });
});
