import { createTestDatabase, type TestDatabase } from '../store/support/postgres';
import { evaluationCounts, finalStatusWrites, startReplicaWorld, type ReplicaWorld } from './support/replica-world';

/**
 * Issue 15, "replicas for real": three clawgate processes on one PostgreSQL database behind a proxy
 * that sends each webhook delivery to a random replica, a quarter of them to two replicas at once,
 * and fails some first attempts after a replica took them so the sandbox retries them (as Bitbucket
 * does). A burst of agent PRs (half compliant, half with a model the WPC refuses) must end with every
 * head evaluated exactly once (one evaluation row, one final status write) and the right status.
 * On pg-boss, the default queue on PostgreSQL; the table queue gets the same stream (duplicates and
 * retries included) in replica-killed-mid-job-loses-nothing.test.ts, with a replica killed.
 */
const PULL_REQUESTS = 30;

describe.each(['pg-boss'] as const)('three replicas on one PostgreSQL (%s queue)', (queue) => {
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
    if (unfinished.length > 0)
      throw new Error(`${unfinished.length} heads without a final status\n${world.replicas.tail()}`);
    await world.sandbox.waitForDeliveries();
    // Duplicates and retries really happened, and every replica took deliveries.
    expect(world.stats.duplicates).toBeGreaterThan(0);
    expect(world.sandbox.deliveries.some((delivery) => delivery.attempts.length > 1)).toBe(true);
    expect(world.stats.byReplica.size).toBe(3);
    expect(world.replicas.alive()).toHaveLength(3);

    const statuses = prs.map((pr) => ({
      prId: pr.prId,
      state: world.sandbox.getStatuses('acme/proj-web', pr.head).find((status) => status.key === 'clawgate')?.state,
    }));
    expect(statuses).toEqual(prs.map((pr) => ({ prId: pr.prId, state: pr.expected })));
    const counts = await evaluationCounts(database.url);
    expect(prs.map((pr) => counts.get(`acme/proj-web#${pr.prId}@${pr.head}`))).toEqual(prs.map(() => 1));
    expect(counts.size).toBe(PULL_REQUESTS);
    expect(prs.map((pr) => finalStatusWrites(world.sandbox, pr.head))).toEqual(prs.map(() => 1));
  }, 120_000);
});
