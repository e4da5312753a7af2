/**
 * How fast the PostgreSQL (pg-boss) queue hands out jobs: N jobs are enqueued while the workers
 * idle, each job "works" for a fixed time (default 80 ms, the sandbox API latency of the issue's
 * measurement, standing in for one evaluation's waiting), and the run reports jobs/hour and the
 * enqueue → start delay. It measures the queue only, not clawgate's evaluation.
 *
 *   npx tsx bench/pg-queue-flow.ts [--jobs 300] [--work-ms 80] [--concurrency 2] [--poll-ms 2000]
 *
 * Uses CLAWGATE_TEST_PG_URL when set, else starts the test suite's embedded PostgreSQL. Loopback
 * only; bounded by --jobs and a 10-minute deadline.
 */
import { parseArgs } from 'node:util';
import { PgBossJobQueue, pullRequestJobKey } from '../src/queue';
import globalSetup from '../test/support/global-setup';
import globalTeardown from '../test/support/global-teardown';
import { createTestDatabase } from '../test/store/support/postgres';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '300' },
    'work-ms': { type: 'string', default: '80' },
    concurrency: { type: 'string', default: '2' },
    'poll-ms': { type: 'string', default: '2000' },
  },
});
const jobs = Number(values.jobs);
const workMs = Number(values['work-ms']);
const concurrency = Number(values.concurrency);
const pollMs = Number(values['poll-ms']);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  await globalSetup();
  const database = await createTestDatabase('bench_queue');
  const queue = new PgBossJobQueue({
    connectionString: database.url,
    concurrency,
    pollIntervalMs: pollMs,
    onError: () => undefined,
  });
  const enqueuedAt = new Map<string, number>();
  const delays: number[] = [];
  let finished = 0;
  let resolveAll = (): void => undefined;
  const all = new Promise<void>((resolve) => {
    resolveAll = resolve;
  });
  await queue.start({
    bench: async (job) => {
      delays.push(Date.now() - (enqueuedAt.get(job.key) ?? Date.now()));
      await new Promise((resolve) => setTimeout(resolve, workMs));
      finished += 1;
      if (finished === jobs) resolveAll();
    },
  });
  await new Promise((resolve) => setTimeout(resolve, 1000)); // the workers' first empty fetch
  const started = Date.now();
  for (let n = 0; n < jobs; n += 1) {
    const key = pullRequestJobKey({
      workspaceId: '{00000000-0000-4000-8000-000000000000}',
      repoFullName: 'bench/queue',
      prId: n,
      headSha: n.toString(16).padStart(40, '0'),
    });
    enqueuedAt.set(key.key, Date.now());
    await queue.enqueue('bench', { n }, key);
  }
  const deadline = setTimeout(() => resolveAll(), 600_000);
  await all;
  clearTimeout(deadline);
  const seconds = (Date.now() - started) / 1000;
  delays.sort((a, b) => a - b);
  await queue.stop();
  await database.drop();
  await globalTeardown();
  const perHour = Math.round((finished / seconds) * 3600);
  console.log(
    `| ${jobs} | ${workMs} | ${concurrency} | ${pollMs} | ${finished} | ${seconds.toFixed(1)} | ${perHour.toLocaleString('en-US')} | ${percentile(delays, 50)} / ${percentile(delays, 99)} |`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
