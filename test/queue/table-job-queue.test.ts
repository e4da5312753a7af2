import type { Store } from '../../src/store';
import { pullRequestJobKey, TableJobQueue, type Job, type TableJobQueueOptions } from '../../src/queue';
import { backendsUnderTest } from '../store/support/postgres';
import { BackendDatabase, newWorkspaceId, randomSha } from '../store/support/store-fixture';
import { gate, sleep, waitFor } from './support/wait-for';

const FAST: Omit<TableJobQueueOptions, 'workerId'> = {
  pollIntervalMs: 20,
  leaseMs: 2000,
  retryBaseDelayMs: 5,
  retryMaxDelayMs: 20,
  shutdownGraceMs: 200,
  onError: () => undefined,
};

function keyFor(prId: number, headSha = randomSha(), workspaceId = newWorkspaceId()) {
  return pullRequestJobKey({ workspaceId, repoFullName: 'acme/web', prId, headSha });
}

describe.each(backendsUnderTest('table-job-queue.test'))('table job queue on %s', (backend) => {
  // A file, not :memory:, so a second store can open the same database (restart tests).
  const database = new BackendDatabase(backend, 'tablequeue', true);
  let store: Store;
  const queues: TableJobQueue[] = [];
  let queueName = '';
  let counter = 0;

  function newQueue(options: Partial<TableJobQueueOptions> = {}, on: Store = store): TableJobQueue {
    const queue = new TableJobQueue(on.jobs, { ...FAST, workerId: `worker-${backend}`, ...options });
    queues.push(queue);
    return queue;
  }

  beforeAll(async () => {
    await database.setUp();
    store = await database.open();
  });
  beforeEach(() => {
    // A fresh job name per test keeps tests independent on the shared database.
    counter += 1;
    queueName = `job-${counter}`;
  });
  afterEach(async () => {
    for (const queue of queues.splice(0)) await queue.stop();
  });
  afterAll(async () => {
    await store?.close();
    await database.tearDown();
  });

  test('runs a job once with its payload and marks it done', async () => {
    const seen: Job[] = [];
    const queue = newQueue();
    await queue.start({ [queueName]: async (job) => void seen.push(job) });
    const { id, deduped } = await queue.enqueue(queueName, { hello: 'world', n: 1 }, keyFor(1));
    expect(deduped).toBe(false);
    await waitFor(async () => (await store.jobs.get(id))?.state === 'done', 'job done');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      id,
      name: queueName,
      payload: { hello: 'world', n: 1 },
      attempt: 1,
      maxAttempts: 5,
    });
    expect(seen[0]?.signal.aborted).toBe(false);
  });

  test('enqueueing a pending key again dedupes', async () => {
    const queue = newQueue();
    const key = keyFor(2);
    const first = await queue.enqueue(queueName, { n: 1 }, key);
    const second = await queue.enqueue(queueName, { n: 2 }, key);
    expect(second).toEqual({ id: first.id, deduped: true });
    const concurrent = await Promise.all([1, 2, 3].map((n) => queue.enqueue(queueName, { n }, key)));
    expect(concurrent.every((result) => result.id === first.id && result.deduped)).toBe(true);
    const runs: unknown[] = [];
    await queue.start({ [queueName]: async (job) => void runs.push(job.payload) });
    await waitFor(async () => (await store.jobs.get(first.id))?.state === 'done', 'job done');
    await sleep(100);
    expect(runs).toEqual([{ n: 1 }]);
    expect(await store.jobs.list({ name: queueName })).toHaveLength(1);
  });

  test('a newer head supersedes the pending job of the older head, not other PRs', async () => {
    const queue = newQueue();
    const ws = newWorkspaceId();
    const older = await queue.enqueue(queueName, { head: 'old' }, keyFor(3, randomSha(), ws));
    const otherPr = await queue.enqueue(queueName, { head: 'other-pr' }, keyFor(4, randomSha(), ws));
    const newer = await queue.enqueue(queueName, { head: 'new' }, keyFor(3, randomSha(), ws));
    expect(await store.jobs.get(older.id)).toMatchObject({ state: 'superseded', supersededBy: newer.id });
    const runs: unknown[] = [];
    await queue.start({ [queueName]: async (job) => void runs.push(job.payload) });
    await waitFor(
      async () => (await store.jobs.list({ name: queueName, states: ['done'] })).length === 2,
      'two jobs done',
    );
    expect(runs).toEqual(expect.arrayContaining([{ head: 'new' }, { head: 'other-pr' }]));
    expect(runs).toHaveLength(2);
    expect((await store.jobs.get(otherPr.id))?.state).toBe('done');
  });

  test('yieldToGroup: a job queued again for an old head never drops the newer head waiting, and is dropped by a newer one', async () => {
    const queue = newQueue();
    const ws = newWorkspaceId();
    const oldKey = keyFor(5, randomSha(), ws);
    const newer = await queue.enqueue(queueName, { head: 'new' }, keyFor(5, randomSha(), ws));
    // The old head's job defers itself while the newer head's job waits: nothing is added, the newer one stays.
    const deferred = await queue.enqueue(
      queueName,
      { head: 'old' },
      { ...oldKey, delayMs: 60_000, yieldToGroup: true },
    );
    expect(deferred).toEqual({ id: newer.id, deduped: true });
    expect(await store.jobs.get(newer.id)).toMatchObject({ state: 'pending' });
    expect(await store.jobs.list({ name: queueName })).toHaveLength(1);
    // With nothing of its PR waiting it is queued, due later; a newer head then drops it.
    const otherPr = keyFor(6, randomSha(), ws);
    const waiting = await queue.enqueue(
      queueName,
      { head: 'wait' },
      { ...otherPr, delayMs: 60_000, yieldToGroup: true },
    );
    expect(waiting.deduped).toBe(false);
    const due = (await store.jobs.get(waiting.id))?.runAfter.getTime() ?? 0;
    expect(due).toBeGreaterThan(Date.now() + 50_000);
    const newest = await queue.enqueue(queueName, { head: 'newest' }, keyFor(6, randomSha(), ws));
    expect(await store.jobs.get(waiting.id)).toMatchObject({ state: 'superseded', supersededBy: newest.id });
  });

  test('a running job is not superseded; the newer head runs after it', async () => {
    const queue = newQueue({ concurrency: 1 });
    const release = gate();
    const runs: string[] = [];
    await queue.start({
      [queueName]: async (job) => {
        const head = (job.payload as { head: string }).head;
        runs.push(`start:${head}`);
        if (head === 'old') await release.promise;
        runs.push(`end:${head}`);
      },
    });
    const ws = newWorkspaceId();
    const older = await queue.enqueue(queueName, { head: 'old' }, keyFor(5, randomSha(), ws));
    await waitFor(() => runs.includes('start:old'), 'old head started');
    const newer = await queue.enqueue(queueName, { head: 'new' }, keyFor(5, randomSha(), ws));
    release.open();
    await waitFor(async () => (await store.jobs.get(newer.id))?.state === 'done', 'new head done');
    expect((await store.jobs.get(older.id))?.state).toBe('done');
    expect(runs).toEqual(['start:old', 'end:old', 'start:new', 'end:new']);
  });

  test('failures are retried with backoff until success', async () => {
    const queue = newQueue();
    const attempts: number[] = [];
    await queue.start({
      [queueName]: async (job) => {
        attempts.push(job.attempt);
        if (job.attempt < 3) throw new Error(`flaky ${job.attempt}`);
      },
    });
    const { id } = await queue.enqueue(queueName, {}, keyFor(6));
    await waitFor(async () => (await store.jobs.get(id))?.state === 'done', 'job done after retries');
    expect(attempts).toEqual([1, 2, 3]);
    expect((await store.jobs.get(id))?.attempts).toBe(3);
  });

  test('a job that keeps failing stops after maxAttempts and records the last error', async () => {
    const queue = newQueue({ maxAttempts: 2 });
    let calls = 0;
    await queue.start({
      [queueName]: async () => {
        calls += 1;
        throw new TypeError(`broken ${calls}`);
      },
    });
    const { id } = await queue.enqueue(queueName, {}, keyFor(7));
    await waitFor(async () => (await store.jobs.get(id))?.state === 'failed', 'job failed');
    await sleep(100);
    expect(calls).toBe(2);
    expect(await store.jobs.get(id)).toMatchObject({ attempts: 2, lastError: 'TypeError: broken 2' });
  });

  test('a job survives a crash: the restarted worker reclaims it and it completes exactly once', async () => {
    // First life: the handler starts and never finishes; then the process "dies" (its store closes under it).
    const firstStore = await database.open();
    const firstLife = newQueue({ workerId: `restart-${backend}` }, firstStore);
    const hang = gate();
    let firstStarted = 0;
    await firstLife.start({
      [queueName]: async () => {
        firstStarted += 1;
        await hang.promise;
      },
    });
    const { id } = await firstLife.enqueue(queueName, { pr: 8 }, keyFor(8));
    await waitFor(() => firstStarted === 1, 'first life started the job');
    await firstStore.close();
    expect(await store.jobs.get(id)).toMatchObject({ state: 'running', lockedBy: `restart-${backend}` });

    // Second life: same worker id, new store on the same database.
    const secondStore = await database.open();
    try {
      const secondLife = newQueue({ workerId: `restart-${backend}` }, secondStore);
      const attemptsSeen: number[] = [];
      await secondLife.start({
        [queueName]: async (job) => {
          attemptsSeen.push(job.attempt);
        },
      });
      const done = await waitFor(async () => {
        const job = await store.jobs.get(id);
        return job?.state === 'done' ? job : null;
      }, 'job done after restart');
      // The first life's handler finally returns: its stale claim must not complete the job again.
      hang.open();
      await sleep(100);
      expect(attemptsSeen).toEqual([2]);
      expect(await store.jobs.get(id)).toEqual(done);
      expect(done).toMatchObject({ state: 'done', attempts: 2, lockedBy: `restart-${backend}` });
      await secondLife.stop();
    } finally {
      await secondStore.close();
    }
  });

  test('a job whose worker vanished is taken over when its lease expires; the old claim cannot complete it', async () => {
    const { id } = await store.jobs.enqueue({
      name: queueName,
      key: 'k-lease',
      supersedes: null,
      payload: {},
      maxAttempts: 3,
    });
    const deadClaim = await store.jobs.claimNext([queueName], 'dead-worker', 150);
    expect(deadClaim?.id).toBe(id);
    const queue = newQueue({ workerId: 'live-worker' });
    const ran: number[] = [];
    await queue.start({ [queueName]: async (job) => void ran.push(job.attempt) });
    await waitFor(async () => (await store.jobs.get(id))?.state === 'done', 'job taken over');
    expect(ran).toEqual([2]);
    expect(await store.jobs.complete(id, deadClaim?.lockToken as string)).toBe(false);
    expect(await store.jobs.fail(id, deadClaim?.lockToken as string, 'late', 10)).toBe('lost');
  });

  test('stop() gives back a job whose handler outlives the grace period, with the attempt not counted', async () => {
    const queue = newQueue({ shutdownGraceMs: 50 });
    const hang = gate();
    let signal: AbortSignal | undefined;
    await queue.start({
      [queueName]: async (job) => {
        signal = job.signal;
        await hang.promise;
      },
    });
    const { id } = await queue.enqueue(queueName, {}, keyFor(9));
    await waitFor(() => signal !== undefined, 'handler started');
    await queue.stop();
    expect(signal?.aborted).toBe(true);
    expect(await store.jobs.get(id)).toMatchObject({ state: 'pending', attempts: 0, lockedBy: null });
    hang.open();
    await sleep(50);
    expect((await store.jobs.get(id))?.state).toBe('pending');
  });

  test('two workers (two replicas) share the work and run each job exactly once', async () => {
    const replicaStore = await database.open();
    try {
      const runs = new Map<string, number>();
      const handler = async (job: Job) => {
        runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
        await sleep(5);
      };
      const one = newQueue({ workerId: 'replica-1', concurrency: 3 });
      const two = newQueue({ workerId: 'replica-2', concurrency: 3 }, replicaStore);
      await one.start({ [queueName]: handler });
      await two.start({ [queueName]: handler });
      const ids = await Promise.all(
        Array.from({ length: 20 }, (_, index) => one.enqueue(queueName, { index }, keyFor(100 + index))),
      );
      await waitFor(
        async () => (await store.jobs.list({ name: queueName, states: ['done'] })).length === 20,
        '20 jobs done',
        15_000,
      );
      expect(ids.map((result) => runs.get(result.id))).toEqual(Array(20).fill(1));
      await two.stop();
    } finally {
      await replicaStore.close();
    }
  });
});
