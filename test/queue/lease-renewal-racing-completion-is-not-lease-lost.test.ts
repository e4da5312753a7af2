import type { Store } from '../../src/store';
import type { JobRepository } from '../../src/store/jobs';
import { TableJobQueue } from '../../src/queue';
import { BackendDatabase } from '../store/support/store-fixture';
import { sleep, waitFor } from './support/wait-for';

/**
 * Issue 15: "lease lost" was logged when a heartbeat renewal raced a completed job. The renewal is
 * held back here (the real repository, its renewLease called late) so that it always reaches the
 * database after the job was completed: the queue must treat that as the job finishing, not as a
 * lease taken by another worker.
 */
describe('table queue lease renewal racing a completed job', () => {
  const database = new BackendDatabase('sqlite', 'lease-race', true);
  let store: Store;

  beforeAll(async () => {
    await database.setUp();
    store = await database.open();
  });
  afterAll(async () => {
    await store?.close();
    await database.tearDown();
  });

  test('a renewal that lands after completion reports nothing, and the job is done once', async () => {
    const renewals: boolean[] = [];
    const late = new Proxy(store.jobs, {
      get(target, property, receiver) {
        if (property === 'renewLease') {
          return async (id: string, lockToken: string, leaseMs: number) => {
            await sleep(60);
            const owned = await target.renewLease(id, lockToken, leaseMs);
            renewals.push(owned);
            return owned;
          };
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    }) as JobRepository;
    const errors: { phase: string; message: string }[] = [];
    // Lease 300 ms: a heartbeat every 100 ms that reaches the database 60 ms later, while the handler
    // returns after 130 ms: the first renewal always lands just after the completion.
    const queue = new TableJobQueue(late, {
      workerId: 'lease-race',
      leaseMs: 300,
      pollIntervalMs: 20,
      onError: (error, context) => errors.push({ phase: context.phase, message: String(error) }),
    });
    let runs = 0;
    await queue.start({
      race: async () => {
        runs += 1;
        await sleep(130);
      },
    });
    try {
      const ids: string[] = [];
      for (let n = 0; n < 5; n += 1) ids.push((await queue.enqueue('race', { n }, { key: `race-${n}` })).id);
      await waitFor(
        async () => (await Promise.all(ids.map((id) => store.jobs.get(id)))).every((job) => job?.state === 'done'),
        'five jobs done',
        10_000,
      );
      // Let every renewal still held back reach the database.
      await sleep(300);
      expect(runs).toBe(5);
      // The race really happened: some renewal found its job already completed.
      expect(renewals).toContain(false);
      expect(errors).toEqual([]);
    } finally {
      await queue.stop();
    }
  });
});
