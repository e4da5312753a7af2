import { createTestDatabase, type TestDatabase } from '../store/support/postgres';
import { evaluationCounts, evaluationJobsByWorker, finalStatusWrites, startReplicaWorld, type ReplicaWorld } from './support/replica-world';

/**
 * Issue 15, "replicas for real": three clawgate processes on one PostgreSQL database behind a proxy
 * that sends each webhook delivery to a random replica, a quarter of them to two replicas at once,
 * and fails some first attempts after a replica took them so the sandbox retries them (as Bitbucket
 * does). A burst of agent PRs (half compliant, half with a model the WPC refuses) must end with every
 * head evaluated exactly once (one evaluation row, one final status write) and the right status.
 * Run on both queues PostgreSQL offers: pg-boss (the default) and the table queue.
 */
const PULL_REQUESTS = 30;

describe.each(['pg-boss', 'table'] as const)('three replicas on one PostgreSQL (%s queue)', (queue) => {
  let database: TestDatabase;
  let world: ReplicaWorld;

  beforeAll(async () => {
    database = await createTestDatabase(`replicas_${queue.replace('-', '')}`);
    world = await startReplicaWorld({ databaseUrl: database.url, replicas: 3, queue });
  }, 120_000);
  afterAll(async () => {
    await world?.close();
    await database?.drop();
  }, 60_000);

  test('a stream of webhooks with duplicates and retries evaluates each (repository, PR, head) once, with the right status', async () => {
    const prs = world.openPullRequests(PULL_REQUESTS, `stream-${queue}`);
    const unfinished = await world.waitForFinalStatuses(prs, 90_000);
    if (unfinished.length > 0) throw new Error(`${unfinished.length} heads without a final status\n${world.replicas.tail()}`);
    await world.sandbox.waitForDeliveries();
    // Duplicates and retries really happened, and every replica took deliveries.
    expect(world.stats.duplicates).toBeGreaterThan(0);
    expect(world.sandbox.deliveries.some((delivery) => delivery.attempts.length > 1)).toBe(true);
    expect(world.stats.byReplica.size).toBe(3);

    const statuses = prs.map((pr) => ({ prId: pr.prId, state: world.sandbox.getStatuses('acme/proj-web', pr.head).find((status) => status.key === 'clawgate')?.state }));
    expect(statuses).toEqual(prs.map((pr) => ({ prId: pr.prId, state: pr.expected })));
    const counts = await evaluationCounts(database.url);
    expect(prs.map((pr) => counts.get(`acme/proj-web#${pr.prId}@${pr.head}`))).toEqual(prs.map(() => 1));
    expect(counts.size).toBe(PULL_REQUESTS);
    expect(prs.map((pr) => finalStatusWrites(world.sandbox, pr.head))).toEqual(prs.map(() => 1));
    if (queue === 'table') {
      // The replicas shared the evaluations (the table queue records who ran each job).
      const byWorker = await evaluationJobsByWorker(database.url);
      expect([...byWorker.keys()].filter((worker) => worker.startsWith('replica-')).length).toBeGreaterThanOrEqual(2);
    }
  }, 120_000);
});
