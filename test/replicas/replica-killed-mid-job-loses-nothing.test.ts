import { Client } from 'pg';
import { clawgateStatus } from '../e2e/harness';
import { createTestDatabase, type TestDatabase } from '../store/support/postgres';
import {
  evaluationCounts,
  evaluationJobsByWorker,
  finalStatusWrites,
  startReplicaWorld,
  type ReplicaWorld,
} from './support/replica-world';

/**
 * Issue 15: `kill -9` of a replica mid-job loses nothing. Three replicas share one PostgreSQL with
 * the table queue and a 3 s job lease (CLAWGATE_JOB_LEASE_MS). The first PR's evaluation hangs in a
 * slow Bitbucket call (the sandbox answers its diffstat after 10 s); the replica holding that job is
 * killed with SIGKILL (no shutdown code runs) while more PRs stream in. Another replica must take the
 * job over once the lease expires and finish it: every head ends with the right status, evaluated
 * once, and no replica logs a "lease lost".
 */
const LEASE_MS = 3000;

async function runningEvaluationHolder(url: string): Promise<{ worker: string; attempts: number } | undefined> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ locked_by: string; attempts: number }>(
      "SELECT locked_by, attempts FROM jobs WHERE name = 'evaluate-pull-request' AND state = 'running'",
    );
    const row = rows[0];
    return row === undefined ? undefined : { worker: row.locked_by, attempts: row.attempts };
  } finally {
    await client.end();
  }
}

describe('a replica killed mid-job (table queue, three replicas)', () => {
  let database: TestDatabase;
  let world: ReplicaWorld;

  beforeAll(async () => {
    database = await createTestDatabase('replicas_kill');
    world = await startReplicaWorld({
      databaseUrl: database.url,
      replicas: 3,
      queue: 'table',
      env: { CLAWGATE_JOB_LEASE_MS: String(LEASE_MS), CLAWGATE_QUEUE_POLL_MS: '300' },
    });
  }, 120_000);
  afterAll(async () => {
    await world?.close();
    await database?.drop();
  }, 60_000);

  test('the job of the killed replica is finished by another after the lease expires; nothing is lost or run twice', async () => {
    const { sandbox } = world;
    sandbox.faults.inject({ path: /\/diffstat\/[0-9a-f]{40}/, latencyMs: 10_000, count: 1 });
    const [victim] = world.openPullRequests(1, 'victim');
    if (victim === undefined) throw new Error('no PR');
    const deadline = Date.now() + 60_000;
    while (sandbox.faults.served.length === 0) {
      if (Date.now() > deadline)
        throw new Error(`the victim's evaluation never reached the slow call\n${world.replicas.tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const holder = await runningEvaluationHolder(database.url);
    expect(holder).toBeDefined();
    // The job runs in the replica's serve process or in a worker process it forked (`<id>:w<n>`).
    const ownedBy = (replica: { readonly workerId: string }, worker: string | undefined): boolean =>
      worker === replica.workerId || (worker?.startsWith(`${replica.workerId}:`) ?? false);
    const killed = world.replicas.replicas.find((replica) => ownedBy(replica, holder?.worker));
    if (killed === undefined) throw new Error(`no replica holds the job (${String(holder?.worker)})`);
    expect(clawgateStatus(sandbox, victim.head)?.state).toBe('INPROGRESS');
    await world.replicas.kill(killed.index, 'SIGKILL');

    // Work keeps arriving while the dead replica's lease runs out.
    const more = world.openPullRequests(8, 'after-kill');
    const all = [victim, ...more];
    const unfinished = await world.waitForFinalStatuses(all, 90_000);
    if (unfinished.length > 0)
      throw new Error(`${unfinished.length} heads without a final status\n${world.replicas.tail()}`);

    expect(all.map((pr) => clawgateStatus(sandbox, pr.head)?.state)).toEqual(all.map((pr) => pr.expected));
    const counts = await evaluationCounts(database.url);
    expect(all.map((pr) => counts.get(`acme/proj-web#${pr.prId}@${pr.head}`))).toEqual(all.map(() => 1));
    expect(all.map((pr) => finalStatusWrites(sandbox, pr.head))).toEqual(all.map(() => 1));
    // The two survivors shared the work (the table queue records who ran each job), and the
    // stream had its duplicates.
    const byWorker = await evaluationJobsByWorker(database.url);
    expect(
      [...byWorker.keys()].filter((worker) => worker.startsWith('replica-') && !ownedBy(killed, worker)).length,
    ).toBeGreaterThanOrEqual(1);
    expect(world.stats.duplicates + world.stats.forcedRetries).toBeGreaterThan(0);
    const logs = world.replicas.replicas.flatMap((replica) => replica.lines);
    expect(logs.filter((line) => line.includes('lease lost'))).toEqual([]);
  }, 150_000);
});
