import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { PgBossJobQueue, TableJobQueue, pullRequestJobKey, type JobQueue } from '../../src/queue';
import type { Store } from '../../src/store';
import { backendsUnderTest } from '../store/support/postgres';
import { BackendDatabase, newWorkspaceId, randomSha } from '../store/support/store-fixture';
import { sleep, waitFor } from './support/wait-for';

/**
 * A real crash: a child process takes the job, its handler starts, and the process is killed with
 * SIGKILL (no shutdown code runs). A new worker must then finish the job exactly once.
 */
const ROOT = path.resolve(__dirname, '../..');
const CHILD = path.join(__dirname, 'support/crash-worker.ts');

type Case = { backend: 'sqlite' | 'postgres'; queue: 'table' | 'pg-boss' };
const cases: Case[] = backendsUnderTest('crash-recovery.test').flatMap((backend): Case[] =>
  backend === 'sqlite'
    ? [{ backend, queue: 'table' }]
    : [
        { backend, queue: 'table' },
        { backend, queue: 'pg-boss' },
      ],
);

describe.each(cases)('crash recovery: $queue queue on $backend', ({ backend, queue: kind }) => {
  const database = new BackendDatabase(backend, `crash_${kind.replace('-', '')}`, true);
  let store: Store;
  let markerDir: string;
  let child: ChildProcess | undefined;
  const queues: JobQueue[] = [];

  beforeAll(async () => {
    await database.setUp();
    store = await database.open();
    markerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawgate-crash-'));
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    for (const queue of queues) await queue.stop();
    await store?.close();
    await database.tearDown();
    fs.rmSync(markerDir, { recursive: true, force: true });
  });

  function makeQueue(): JobQueue {
    const queue =
      kind === 'table'
        ? new TableJobQueue(store.jobs, { workerId: 'crash-worker', pollIntervalMs: 20, onError: () => undefined })
        : new PgBossJobQueue({
            connectionString: database.url,
            pollIntervalMs: 500,
            retryDelaySeconds: 0,
            expireInSeconds: 2,
            maintenanceIntervalSeconds: 1,
            onError: () => undefined,
          });
    queues.push(queue);
    return queue;
  }

  async function stateOf(id: string): Promise<string | undefined> {
    if (kind === 'table') return (await store.jobs.get(id))?.state;
    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ state: string }>('SELECT state FROM pgboss.job WHERE id = $1', [id]);
      return rows[0]?.state;
    } finally {
      await client.end();
    }
  }

  test('a job whose process was SIGKILLed mid-handler completes exactly once after restart', async () => {
    const name = 'evaluate-pr';
    const marker = path.join(markerDir, 'marker.log');
    const enqueuer = makeQueue();
    const key = pullRequestJobKey({
      workspaceId: newWorkspaceId(),
      repoFullName: 'acme/web',
      prId: 42,
      headSha: randomSha(),
    });
    const { id } = await enqueuer.enqueue(name, { pr: 42 }, key);
    if (kind === 'pg-boss') await enqueuer.stop();

    child = spawn(process.execPath, ['--import', 'tsx', CHILD, kind, database.url, marker, name], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let childErrors = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      childErrors += chunk.toString();
    });
    await waitFor(
      () => fs.existsSync(marker) && fs.readFileSync(marker, 'utf8').includes('started'),
      `child to start the job (stderr: ${childErrors})`,
      20_000,
      10,
    );
    child.kill('SIGKILL');
    await new Promise((resolve) => child?.once('exit', resolve));
    expect(await stateOf(id)).toBe(kind === 'table' ? 'running' : 'active');

    const restarted = makeQueue();
    const attempts: number[] = [];
    await restarted.start({ [name]: async (job) => void attempts.push(job.attempt) });
    await waitFor(
      async () => (await stateOf(id)) === 'completed' || (await stateOf(id)) === 'done',
      'job finished after restart',
      15_000,
    );
    await sleep(kind === 'table' ? 100 : 600);
    expect(attempts).toEqual([2]);
    expect(fs.readFileSync(marker, 'utf8').trim().split('\n')).toHaveLength(1);
  });
});
