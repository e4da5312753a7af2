/**
 * Growth study (issue 15): how the store's queries cost as evaluations, audit events, deliveries,
 * jobs, commit pushes and incidents accumulate. For each dialect (SQLite file, PostgreSQL) and each
 * size (10k, 100k, 1M evaluation rows, plus proportional rows of the other tables; see
 * bench/growth-workload.ts), a fresh database is migrated, seeded inside the database, and every
 * query of GROWTH_QUERIES is called through the real store: median of 11 calls after one warm-up,
 * then the same with migration 0014's indexes dropped ("without 0014"), to show what they buy.
 * Round trips: the statements each query sends (counted by the store, `Store.traceQueries`), and,
 * at the largest size, those of whole evaluation jobs: a clawgate started on the seeded database
 * evaluates a few normal agent PRs from the sandbox and its `clawgate_evaluation_db_round_trips`
 * histogram is read (the figure docs/operations.md, "Growth", breaks down).
 *
 *   npm run bench:growth -- [--quick] [--write] [--sqlite-only | --postgres-only] [--sizes N,N] [--pg-url URL]
 *                           [--evaluations N]
 *
 * --quick: 10k and 100k only. --evaluations N: agent PRs evaluated at the largest size (default 3; 0: none). --write: the timings into bench/RESULTS.md (`<!-- growth -->`) and the
 * plans (at the largest size) into docs/growth-plans.md. PostgreSQL: CLAWGATE_TEST_PG_URL or
 * --pg-url (a server on loopback; the bench creates and drops its own database).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { Sequelize } from 'sequelize';
import pino from 'pino';
import { loadAppConfig } from '../src/config/app-config';
import { startSandbox } from '../src/sandbox';
import { startClawgate } from '../src/server/create-server';
import { freePort } from '../src/server/free-port';
import { openStore, type Dialect, type Store } from '../src/store';
import { finalStatus, openAgentPullRequest, prepareWorkspace, TEST_SECRET_KEY, waitFor } from '../test/e2e/harness';
import { explainStatement, GROWTH_QUERIES, seedGrowth, statementsOf } from './growth-workload';
import { writeResultsSection } from './results-file';

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
/** Written with the results: whether other work shared the machine. */
const LOAD_AT_START = os
  .loadavg()
  .map((n) => n.toFixed(2))
  .join(' / ');
const WRITE = args.includes('--write');
const SQLITE_ONLY = args.includes('--sqlite-only');
const pgUrlArg = args.indexOf('--pg-url');
const PG_URL =
  (pgUrlArg >= 0 ? args[pgUrlArg + 1] : undefined) ??
  process.env.CLAWGATE_TEST_PG_URL ??
  'postgres://postgres:postgres@127.0.0.1:5432/clawgate_test';
const sizesArg = args.indexOf('--sizes');
/** `--sizes 1000000` (comma-separated) measures only those sizes; its results go to their own section. */
const CUSTOM_SIZES =
  sizesArg >= 0
    ? (args[sizesArg + 1] ?? '')
        .split(',')
        .map(Number)
        .filter((n) => Number.isSafeInteger(n) && n > 0)
    : undefined;
const SIZES = CUSTOM_SIZES ?? (QUICK ? [10_000, 100_000] : [10_000, 100_000, 1_000_000]);
const POSTGRES_ONLY = args.includes('--postgres-only');
const RUNS = 11;
const evaluationsArg = args.indexOf('--evaluations');
const EVALUATIONS = evaluationsArg >= 0 ? Number(args[evaluationsArg + 1]) : 3;
if (!Number.isSafeInteger(EVALUATIONS) || EVALUATIONS < 0 || EVALUATIONS > 20) {
  throw new Error('--evaluations takes 0 to 20');
}
const INDEXES_0014 = [
  ['evaluations', 'evaluations_workspace_repo_head_created'],
  ['evaluations', 'evaluations_workspace_repo_created'],
  ['evaluations', 'evaluations_workspace_bundle_repo'],
  ['evaluations', 'evaluations_workspace_policy_repo'],
  ['audit_events', 'audit_events_workspace_id'],
  ['jobs', 'jobs_live_name_run_after'],
  ['jobs', 'jobs_state_finished_at'],
] as const;

interface Measured {
  medianMs: Map<string, number>;
  withoutMs: Map<string, number>;
  /** Statements one call sends (BEGIN/COMMIT included), with 0014. */
  roundTrips: Map<string, number>;
  plans: Map<string, string[][]>;
  seedSeconds: number;
  /** Whole evaluation jobs on the seeded database (largest size only): round trips and seconds of each. */
  evaluations: { roundTrips: number[]; seconds: number[] };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function timeQueries(store: Store, n: number, roundTrips?: Map<string, number>): Promise<Map<string, number>> {
  const result = new Map<string, number>();
  for (const query of GROWTH_QUERIES) {
    // The warm-up call is the one whose statements are counted.
    const trace = { roundTrips: 0 };
    await store.traceQueries(trace, () => query.run(store, n));
    roundTrips?.set(query.name, trace.roundTrips);
    const samples: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      await query.run(store, n);
      samples.push(performance.now() - started);
    }
    result.set(query.name, median(samples));
  }
  return result;
}

async function createPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `growth_bench_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * Evaluates `count` normal agent PRs (a compliant bundle, one work commit) with a clawgate started on
 * the seeded database (jobs in this process, no periodic work: retention would purge the seeded
 * rows, which are dated January 2026) against an in-process sandbox, and reads each job's round
 * trips from its `clawgate_evaluation_db_round_trips` histogram and its time from
 * `clawgate_evaluation_seconds`.
 */
async function evaluateOnSeeded(databaseUrl: string, count: number): Promise<Measured['evaluations']> {
  const measured: Measured['evaluations'] = { roundTrips: [], seconds: [] };
  if (count === 0) return measured;
  const sandbox = await startSandbox();
  const port = await freePort();
  const config = loadAppConfig({
    PORT: String(port),
    APP_BASE_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: databaseUrl,
    CLAWGATE_SECRET_KEY: TEST_SECRET_KEY,
    CLAWGATE_ALLOWED_HOSTS: new URL(sandbox.baseUrl).host,
  });
  const app = await startClawgate({
    config,
    port,
    logger: pino({ level: 'silent' }),
    pollIntervalMs: 50,
    env: {},
    workers: true,
    workerProcesses: 0,
    periodicWork: false,
  });
  const sums = async () => {
    const value = (metric: { values: { metricName?: string; value: number }[] }, name: string) =>
      metric.values.find((v) => v.metricName === name)?.value ?? Number.NaN;
    const trips = await app.metrics.evaluationDbRoundTrips.get();
    const seconds = await app.metrics.evaluationSeconds.get();
    return {
      count: value(trips, 'clawgate_evaluation_db_round_trips_count'),
      trips: value(trips, 'clawgate_evaluation_db_round_trips_sum'),
      seconds: value(seconds, 'clawgate_evaluation_seconds_sum'),
    };
  };
  try {
    const ws = await prepareWorkspace(sandbox, app.url, { mode: 'enforce' });
    let previous = await sums();
    for (let k = 0; k < count; k++) {
      const branch = `agent/growth-${k}`;
      const pr = openAgentPullRequest(sandbox, ws, branch, { [`src/growth-${k}.ts`]: `export const g = ${k};\n` });
      const status = await finalStatus(sandbox, pr.head, 120_000);
      if (status.state !== 'SUCCESSFUL') throw new Error(`agent PR ${k} ended ${String(status.state)}, not SUCCESSFUL`);
      const expected = previous.count + 1;
      const now = await waitFor(
        async () => {
          const s = await sums();
          return s.count >= expected ? s : undefined;
        },
        30_000,
        'the evaluation job to finish',
      );
      if (now.count !== expected)
        throw new Error(`agent PR ${k} ran ${now.count - previous.count} evaluation jobs, not 1`);
      measured.roundTrips.push(now.trips - previous.trips);
      measured.seconds.push(now.seconds - previous.seconds);
      previous = now;
    }
  } finally {
    await app.close();
    await sandbox.close();
  }
  return measured;
}

async function measure(dialect: Dialect, n: number, withPlans: boolean): Promise<Measured> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clawgate-growth-'));
  const pg = dialect === 'postgres' ? await createPgDatabase() : undefined;
  const url = pg ? pg.url : `sqlite:${path.join(dir, 'growth.sqlite')}`;
  const store = await openStore(url, { secretKey: Buffer.from(TEST_SECRET_KEY, 'hex') });
  const raw = pg
    ? new Sequelize(pg.url, { dialect: 'postgres', logging: false })
    : new Sequelize({ dialect: 'sqlite', storage: path.join(dir, 'growth.sqlite'), logging: false });
  try {
    const seedStarted = performance.now();
    await seedGrowth(raw, dialect, n);
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    const plans = new Map<string, string[][]>();
    if (withPlans) {
      for (const query of GROWTH_QUERIES) {
        const statements = await statementsOf(store, query, n);
        plans.set(query.name, await Promise.all(statements.map((sql) => explainStatement(raw, dialect, sql))));
      }
    }
    const roundTrips = new Map<string, number>();
    const medianMs = await timeQueries(store, n, roundTrips);
    const evaluations = withPlans ? await evaluateOnSeeded(url, EVALUATIONS) : { roundTrips: [], seconds: [] };
    for (const [table, index] of INDEXES_0014) await raw.getQueryInterface().removeIndex(table, index);
    if (dialect === 'postgres') await raw.query('ANALYZE');
    const withoutMs = await timeQueries(store, n);
    return { medianMs, withoutMs, roundTrips, plans, seedSeconds, evaluations };
  } finally {
    await raw.close();
    await store.close();
    await pg?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function fmt(ms: number | undefined): string {
  if (ms === undefined) return '';
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

async function main(): Promise<void> {
  const dialects: Dialect[] = SQLITE_ONLY ? ['sqlite'] : POSTGRES_ONLY ? ['postgres'] : ['sqlite', 'postgres'];
  const results = new Map<string, Measured>();
  for (const dialect of dialects) {
    for (const n of SIZES) {
      const largest = n === SIZES[SIZES.length - 1];
      process.stderr.write(`${dialect} ${n.toLocaleString('en-US')} rows…\n`);
      const m = await measure(dialect, n, largest);
      process.stderr.write(`  seeded in ${m.seedSeconds.toFixed(1)} s\n`);
      results.set(`${dialect}:${n}`, m);
    }
  }
  const sizeLabel = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`);
  const largest = SIZES[SIZES.length - 1] ?? 0;
  const header = [
    'query',
    ...dialects.flatMap((d) => [
      ...SIZES.map((n) => `${d} ${sizeLabel(n)}`),
      `${d} ${sizeLabel(largest)} without 0014`,
    ]),
    ...dialects.map((d) => `${d} round trips`),
  ];
  const lines = [
    `| ${header.join(' | ')} |`,
    `|---|${header
      .slice(1)
      .map(() => '---:')
      .join('|')}|`,
  ];
  for (const query of GROWTH_QUERIES) {
    const cells = dialects.flatMap((d) => [
      ...SIZES.map((n) => fmt(results.get(`${d}:${n}`)?.medianMs.get(query.name))),
      fmt(results.get(`${d}:${largest}`)?.withoutMs.get(query.name)),
    ]);
    for (const d of dialects) cells.push(String(results.get(`${d}:${largest}`)?.roundTrips.get(query.name) ?? ''));
    lines.push(`| ${query.name} | ${cells.join(' | ')} |`);
  }
  const seeds = dialects
    .map(
      (d) =>
        `${d}: ${SIZES.map((n) => `${sizeLabel(n)} in ${results.get(`${d}:${n}`)?.seedSeconds.toFixed(1)} s`).join(', ')}`,
    )
    .join('; ');
  const perEvaluation = dialects
    .map((d) => {
      const e = results.get(`${d}:${largest}`)?.evaluations;
      if (!e || e.roundTrips.length === 0) return undefined;
      return `${d}: ${e.roundTrips.join(', ')} round trips, ${e.seconds.map((x) => (x * 1000).toFixed(0)).join(', ')} ms`;
    })
    .filter((x) => x !== undefined);
  const report = [
    'Median of 11 calls through the store (ms), after one warm-up. Sizes are evaluation rows (10 workspaces × 20 repositories), with as many audit events, a tenth as many deliveries, finished jobs and commit pushes, a hundredth as many incidents. "without 0014": the same database with migration 0014\'s indexes dropped. "round trips": the statements one call sends (BEGIN/COMMIT included), counted by the store (`Store.traceQueries`).',
    '',
    ...lines,
    '',
    ...(perEvaluation.length > 0
      ? [
          `Per evaluation job at ${sizeLabel(largest)} (a clawgate on the seeded database evaluating normal agent PRs from the sandbox one after another, jobs in the process; \`clawgate_evaluation_db_round_trips\` and \`clawgate_evaluation_seconds\` of each job): ${perEvaluation.join('; ')}.`,
          '',
        ]
      : []),
    `Seeding (inside the database${dialects.includes('sqlite') ? '; SQLite bulk-loaded, see seedGrowth' : ''}): ${seeds}. Plans at ${sizeLabel(largest)}: docs/growth-plans${CUSTOM_SIZES ? `-${CUSTOM_SIZES.map(sizeLabel).join('-')}` : ''}.md.`,
    `Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length}, Node ${process.version}, SQLite file (WAL) and PostgreSQL on loopback, load average at the start ${LOAD_AT_START}${QUICK ? ' (--quick)' : ''}. Date: ${new Date().toISOString().slice(0, 10)}.`,
    '',
  ].join('\n');
  process.stdout.write(report);
  if (WRITE) {
    const suffix = CUSTOM_SIZES ? `-${CUSTOM_SIZES.map(sizeLabel).join('-')}` : '';
    writeResultsSection(
      `<!-- growth${suffix} -->`,
      `Store queries as the data grows (\`npm run bench:growth\`${suffix ? `, ${suffix.slice(1)}` : ''})`,
      report,
    );
    const plans = [
      '# Query plans of the growing tables',
      '',
      `Generated by \`npm run bench:growth -- --write${CUSTOM_SIZES ? ` --sizes ${CUSTOM_SIZES.join(',')}` : ''}\` (bench/growth.ts) at ${sizeLabel(largest)} evaluation rows on ${new Date().toISOString().slice(0, 10)}; timings in bench/RESULTS.md ("Store queries as the data grows"), the study in docs/operations.md ("Growth"). SQLite: EXPLAIN QUERY PLAN (no ANALYZE statistics, as in production). PostgreSQL: EXPLAIN (ANALYZE) for reads, EXPLAIN for writes, after VACUUM ANALYZE.`,
      '',
    ];
    for (const dialect of dialects) {
      plans.push(`## ${dialect}`, '');
      for (const query of GROWTH_QUERIES) {
        const explained = results.get(`${dialect}:${largest}`)?.plans.get(query.name) ?? [];
        plans.push(`### ${query.name}`, '');
        if (explained.length === 0) plans.push('(no statement to explain: an insert on the primary key)', '');
        for (const plan of explained) plans.push('```', ...plan, '```', '');
      }
    }
    writeFileSync(path.join(__dirname, '..', 'docs', `growth-plans${suffix}.md`), plans.join('\n'));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
