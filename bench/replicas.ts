/**
 * Throughput with one and with two clawgate processes on one PostgreSQL (issue 15, "report
 * throughput with one and two processes"). For each replica count, a fresh database, the replicas
 * (real `clawgate serve` processes) behind the round-robin proxy, the sandbox as Bitbucket, and a
 * burst of agent PRs opened at once (half compliant, half refused); the clock runs from the first PR
 * to the last final status. Reports evaluations/hour and PR → final status p50/p99.
 *
 *   npm run bench:replicas -- [--quick] [--prs 60] [--queue pg-boss|table] [--api-latency-ms 0] [--write]
 *
 * --quick: 12 PRs per run. --write records the table in bench/RESULTS.md (<!-- replicas -->).
 * Uses CLAWGATE_TEST_PG_URL when set, else starts the test suite's embedded PostgreSQL. Loopback
 * only; bounded by --prs (≤ 500) and a 10-minute deadline per run.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { clawgateStatus } from '../test/e2e/harness';
import { startReplicaWorld } from '../test/replicas/support/replica-world';
import globalSetup from '../test/support/global-setup';
import globalTeardown from '../test/support/global-teardown';
import { writeResultsSection } from './results-file';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    prs: { type: 'string' },
    queue: { type: 'string', default: 'pg-boss' },
    'api-latency-ms': { type: 'string', default: '0' },
    replicas: { type: 'string', default: '1,2' },
    write: { type: 'boolean', default: false },
  },
});
const prs = Number(values.prs ?? (values.quick ? 12 : 60));
const latencyMs = Number(values['api-latency-ms']);
const queue = values.queue === 'table' ? 'table' : 'pg-boss';
const counts = (values.replicas ?? '1,2').split(',').map(Number);
if (!Number.isInteger(prs) || prs < 2 || prs > 500) throw new Error('--prs must be 2–500');
if (counts.some((n) => !Number.isInteger(n) || n < 1 || n > 4)) throw new Error('--replicas: a list of 1–4');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

interface Run {
  replicas: number;
  seconds: number;
  perHour: number;
  p50: number;
  p99: number;
  wrong: number;
}

async function measure(replicas: number): Promise<Run> {
  const { createTestDatabase } = await import('../test/store/support/postgres.js');
  const database = await createTestDatabase(`bench_replicas_${replicas}`);
  const world = await startReplicaWorld({
    databaseUrl: database.url,
    replicas,
    queue,
    duplicateShare: 0,
    retryShare: 0,
  });
  try {
    if (latencyMs > 0) world.sandbox.faults.inject({ latencyMs, count: Number.MAX_SAFE_INTEGER });
    const started = Date.now();
    const opened = world.openPullRequests(prs, `bench-${replicas}`);
    const finishedAt = new Map<number, number>();
    const deadline = started + 600_000;
    while (finishedAt.size < opened.length && Date.now() < deadline) {
      for (const pr of opened) {
        if (finishedAt.has(pr.prId)) continue;
        const state = clawgateStatus(world.sandbox, pr.head)?.state;
        if (state !== undefined && state !== 'INPROGRESS') finishedAt.set(pr.prId, Date.now());
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const last = Math.max(...finishedAt.values());
    const seconds = (last - started) / 1000;
    const latencies = [...finishedAt.values()].map((at) => at - started).sort((a, b) => a - b);
    const wrong = opened.filter((pr) => clawgateStatus(world.sandbox, pr.head)?.state !== pr.expected).length;
    return {
      replicas,
      seconds,
      perHour: Math.round((finishedAt.size / seconds) * 3600),
      p50: percentile(latencies, 50) / 1000,
      p99: percentile(latencies, 99) / 1000,
      wrong,
    };
  } finally {
    await world.close();
    await database.drop();
  }
}

async function main(): Promise<void> {
  await globalSetup();
  const runs: Run[] = [];
  try {
    for (const replicas of counts) {
      const run = await measure(replicas);
      runs.push(run);
      process.stderr.write(`${replicas} replica(s): ${run.perHour.toLocaleString('en-US')} evaluations/hour\n`);
    }
  } finally {
    await globalTeardown();
  }
  const report = [
    `| processes | PRs | queue | API latency | burst → last final status (s) | evaluations/hour | PR → final status p50 / p99 (s) | wrong verdicts |`,
    '|---:|---:|---|---:|---:|---:|---:|---:|',
    ...runs.map(
      (run) =>
        `| ${run.replicas} | ${prs} | ${queue} | ${latencyMs} ms | ${run.seconds.toFixed(1)} | ${run.perHour.toLocaleString('en-US')} | ${run.p50.toFixed(1)} / ${run.p99.toFixed(1)} | ${run.wrong} |`,
    ),
    '',
    `Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length}, Node ${process.version}; every process, PostgreSQL and the sandbox on this machine (loopback); one verification thread per process. Date: ${new Date().toISOString().slice(0, 10)}.`,
    '',
  ].join('\n');
  process.stdout.write(report);
  if (values.write)
    writeResultsSection(
      '<!-- replicas -->',
      'Throughput with one and two processes on one PostgreSQL (`npm run bench:replicas`)',
      report,
    );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
