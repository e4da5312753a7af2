import { Client } from 'pg';
import { PgBossJobQueue, pullRequestJobKey, type PgBossJobQueueOptions } from '../../src/queue';
import { jobChannelOf } from '../../src/queue/pg-boss-job-queue';
import { backendsUnderTest, createTestDatabase, type TestDatabase } from '../store/support/postgres';
import { newWorkspaceId, randomSha } from '../store/support/store-fixture';
import { sleep, waitFor } from './support/wait-for';

/** Long enough for the workers' first (empty) fetch to have happened, so they sleep out the poll. */
const SETTLE_MS = 1000;

/**
 * The PostgreSQL queue flows: with a polling interval far longer than the test's patience (60 s),
 * jobs still start because enqueue wakes the workers (in this process directly, in other processes
 * through LISTEN/NOTIFY) and a worker that ran a job fetches the next one at once. Without the
 * wake-up these tests time out: pg-boss would sleep out the 60 s poll after every fetch.
 */

const hasPostgres = backendsUnderTest('pg-boss-jobs-start-on-enqueue.test').includes('postgres');
const describeOnPostgres = hasPostgres ? describe : describe.skip;

const NEVER_POLL_MS = 60_000;

function keyFor(prId: number) {
  return pullRequestJobKey({ workspaceId: newWorkspaceId(), repoFullName: 'acme/web', prId, headSha: randomSha() });
}

describeOnPostgres('pg-boss queue wakes its workers instead of waiting for the poll', () => {
  let database: TestDatabase;
  const queues: PgBossJobQueue[] = [];
  let counter = 0;

  function newQueue(options: Partial<PgBossJobQueueOptions> = {}): PgBossJobQueue {
    const queue = new PgBossJobQueue({
      connectionString: database.url,
      pollIntervalMs: NEVER_POLL_MS,
      retryDelaySeconds: 0,
      shutdownGraceMs: 1000,
      onError: () => undefined,
      ...options,
    });
    queues.push(queue);
    return queue;
  }

  beforeAll(async () => {
    database = await createTestDatabase('pgboss_wake');
  });
  afterEach(async () => {
    for (const queue of queues.splice(0)) await queue.stop();
  });
  afterAll(async () => {
    await database?.drop();
  });

  test('a backlog enqueued while the workers idle drains without waiting for a poll', async () => {
    counter += 1;
    const name = `wake-local-${counter}`;
    const queue = newQueue({ concurrency: 2 });
    const done: number[] = [];
    await queue.start({ [name]: async (job) => void done.push(Number((job.payload as { n: number }).n)) });
    await sleep(SETTLE_MS);
    // The workers' first (empty) fetch has happened; from here only a wake-up starts a job.
    for (let n = 0; n < 20; n += 1) await queue.enqueue(name, { n }, keyFor(n));
    await waitFor(() => done.length === 20, 'the 20 jobs', 20_000);
    expect([...done].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, n) => n));
  });

  test('a job enqueued by one replica starts on another at once (LISTEN/NOTIFY)', async () => {
    counter += 1;
    const name = `wake-remote-${counter}`;
    const producer = newQueue();
    const consumer = newQueue();
    const ran: string[] = [];
    await consumer.start({ [name]: async (job) => void ran.push(job.key) });
    await sleep(SETTLE_MS);
    const key = keyFor(1);
    await producer.enqueue(name, { n: 1 }, key);
    await waitFor(() => ran.length === 1, 'the job', 20_000);
    expect(ran).toEqual([key.key]);
  });

  test('the LISTEN connection comes back after PostgreSQL drops it, and jobs flow again', async () => {
    counter += 1;
    const name = `wake-reconnect-${counter}`;
    const producer = newQueue();
    const consumer = newQueue();
    const ran: number[] = [];
    await consumer.start({ [name]: async (job) => void ran.push(Number((job.payload as { n: number }).n)) });
    // Kill every session listening on the channel, as a PostgreSQL restart would.
    const admin = new Client({ connectionString: database.url });
    await admin.connect();
    try {
      const channel = jobChannelOf('pgboss');
      await waitFor(async () => {
        const { rows } = await admin.query<{ n: string }>(
          'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND query = $1',
          [`LISTEN ${channel}`],
        );
        return Number(rows[0]?.n) > 0;
      }, 'the LISTEN session');
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query = $1',
        [`LISTEN ${channel}`],
      );
    } finally {
      await admin.end();
    }
    // Reconnection takes ≥ 0.5 s; the job is enqueued by the other replica meanwhile or after.
    await producer.enqueue(name, { n: 7 }, keyFor(7));
    await waitFor(() => ran.length === 1, 'the job', 20_000);
    expect(ran).toEqual([7]);
  });
});
