import { Client } from 'pg';
import { PgBossJobQueue, pullRequestJobKey, type Job, type PgBossJobQueueOptions } from '../../src/queue';
import { backendsUnderTest, createTestDatabase, type TestDatabase } from '../store/support/postgres';
import { newWorkspaceId, randomSha } from '../store/support/store-fixture';
import { gate, sleep, waitFor } from './support/wait-for';

const hasPostgres = backendsUnderTest('pg-boss-job-queue.test').includes('postgres');
const describeOnPostgres = hasPostgres ? describe : describe.skip;

function keyFor(prId: number, headSha = randomSha(), workspaceId = newWorkspaceId()) {
  return pullRequestJobKey({ workspaceId, repoFullName: 'acme/web', prId, headSha });
}

describeOnPostgres('pg-boss job queue', () => {
  let database: TestDatabase;
  let client: Client;
  const queues: PgBossJobQueue[] = [];
  let queueName = '';
  let counter = 0;

  function newQueue(options: Partial<PgBossJobQueueOptions> = {}): PgBossJobQueue {
    const queue = new PgBossJobQueue({
      connectionString: database.url,
      pollIntervalMs: 500,
      retryDelaySeconds: 0,
      shutdownGraceMs: 1000,
      onError: () => undefined,
      ...options,
    });
    queues.push(queue);
    return queue;
  }

  async function stateOf(id: string): Promise<{ state: string; retry_count: number } | undefined> {
    const { rows } = await client.query<{ state: string; retry_count: number }>(
      'SELECT state, retry_count FROM pgboss.job WHERE id = $1',
      [id],
    );
    return rows[0];
  }

  beforeAll(async () => {
    database = await createTestDatabase('pgboss');
    client = new Client({ connectionString: database.url });
    await client.connect();
  });
  beforeEach(() => {
    counter += 1;
    queueName = `boss-job-${counter}`;
  });
  afterEach(async () => {
    for (const queue of queues.splice(0)) await queue.stop();
  });
  afterAll(async () => {
    await client?.end();
    await database?.drop();
  });

  test('runs a job with its payload, dedupes a pending key, and completes it once', async () => {
    const queue = newQueue();
    const key = keyFor(1);
    const first = await queue.enqueue(queueName, { n: 1 }, key);
    expect(first.deduped).toBe(false);
    expect(await queue.enqueue(queueName, { n: 2 }, key)).toEqual({ id: first.id, deduped: true });
    const runs: Job[] = [];
    await queue.start({ [queueName]: async (job) => void runs.push(job) });
    await waitFor(async () => (await stateOf(first.id))?.state === 'completed', 'job completed');
    await sleep(600);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      id: first.id,
      name: queueName,
      key: key.key,
      payload: { n: 1 },
      attempt: 1,
      maxAttempts: 5,
    });
  });

  test('a newer head supersedes the queued job of the older head', async () => {
    const queue = newQueue();
    const ws = newWorkspaceId();
    const older = await queue.enqueue(queueName, { head: 'old' }, keyFor(2, randomSha(), ws));
    const otherPr = await queue.enqueue(queueName, { head: 'other' }, keyFor(3, randomSha(), ws));
    const newer = await queue.enqueue(queueName, { head: 'new' }, keyFor(2, randomSha(), ws));
    expect(newer.deduped).toBe(false);
    expect((await stateOf(older.id))?.state).toBe('cancelled');
    const runs: unknown[] = [];
    await queue.start({ [queueName]: async (job) => void runs.push(job.payload) });
    await waitFor(
      async () =>
        (await stateOf(newer.id))?.state === 'completed' && (await stateOf(otherPr.id))?.state === 'completed',
      'both completed',
    );
    expect(runs).toEqual(expect.arrayContaining([{ head: 'new' }, { head: 'other' }]));
    expect(runs).toHaveLength(2);
  });

  test('yieldToGroup: a job queued again for an old head never drops the newer head waiting, and is dropped by a newer one', async () => {
    const queue = newQueue();
    const ws = newWorkspaceId();
    const newer = await queue.enqueue(queueName, { head: 'new' }, keyFor(7, randomSha(), ws));
    const deferred = await queue.enqueue(
      queueName,
      { head: 'old' },
      { ...keyFor(7, randomSha(), ws), delayMs: 60_000, yieldToGroup: true },
    );
    expect(deferred).toEqual({ id: newer.id, deduped: true });
    expect((await stateOf(newer.id))?.state).toBe('created');
    const waiting = await queue.enqueue(
      queueName,
      { head: 'wait' },
      { ...keyFor(8, randomSha(), ws), delayMs: 60_000, yieldToGroup: true },
    );
    expect(waiting.deduped).toBe(false);
    const { rows } = await client.query<{ later: boolean }>(
      "SELECT start_after > now() + interval '50 seconds' AS later FROM pgboss.job WHERE id = $1",
      [waiting.id],
    );
    expect(rows[0]?.later).toBe(true);
    await queue.enqueue(queueName, { head: 'newest' }, keyFor(8, randomSha(), ws));
    expect((await stateOf(waiting.id))?.state).toBe('cancelled');
  });

  test('retries until success, and fails for good after maxAttempts', async () => {
    const queue = newQueue({ maxAttempts: 3, concurrency: 1 });
    const attempts = new Map<string, number[]>();
    await queue.start({
      [queueName]: async (job) => {
        attempts.set(job.key, [...(attempts.get(job.key) ?? []), job.attempt]);
        const payload = job.payload as { failUntil: number };
        if (job.attempt < payload.failUntil) throw new Error(`flaky ${job.attempt}`);
      },
    });
    const recovering = await queue.enqueue(queueName, { failUntil: 2 }, keyFor(4));
    const hopeless = await queue.enqueue(queueName, { failUntil: 99 }, keyFor(5));
    await waitFor(
      async () => (await stateOf(recovering.id))?.state === 'completed',
      'recovering job completed',
      15_000,
    );
    await waitFor(async () => (await stateOf(hopeless.id))?.state === 'failed', 'hopeless job failed', 15_000);
    expect([...attempts.values()].map((list) => list.length).sort()).toEqual([2, 3]);
    expect((await stateOf(hopeless.id))?.retry_count).toBe(2);
  });

  test('a job whose worker stopped mid-handler is retried by the next worker and completes once', async () => {
    const firstLife = newQueue();
    const hang = gate();
    let started = 0;
    await firstLife.start({
      [queueName]: async () => {
        started += 1;
        await hang.promise;
      },
    });
    const { id } = await firstLife.enqueue(queueName, {}, keyFor(6));
    await waitFor(() => started === 1, 'first life started');
    await firstLife.stop();
    hang.open();
    expect((await stateOf(id))?.state).toBe('retry');

    const secondLife = newQueue();
    const seen: number[] = [];
    await secondLife.start({ [queueName]: async (job) => void seen.push(job.attempt) });
    await waitFor(async () => (await stateOf(id))?.state === 'completed', 'completed after restart');
    await sleep(600);
    expect(seen).toEqual([2]);
  });
});
