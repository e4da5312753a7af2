/**
 * Growth study (issue 15): how the store's queries cost as evaluations, audit events, deliveries,
 * jobs, commit pushes and incidents accumulate. For each dialect (SQLite file, PostgreSQL) and each
 * size (10k, 100k, 1M evaluation rows, plus proportional rows of the other tables; see
 * bench/growth-workload.ts), a fresh database is migrated, seeded inside the database, and every
 * query of GROWTH_QUERIES is called through the real store: median of 11 calls after one warm-up,
 * then the same with migration 0014's indexes dropped ("without 0014"), to show what they buy.
 *
 *   npm run bench:growth -- [--quick] [--write] [--sqlite-only | --postgres-only] [--sizes N,N] [--pg-url URL]
 *
 * --quick: 10k and 100k only. --write: the timings into bench/RESULTS.md (`<!-- growth -->`) and the
 * plans (at the largest size) into docs/growth-plans.md. PostgreSQL: CLAWGATE_TEST_PG_URL or
 * --pg-url (a server on loopback; the bench creates and drops its own database).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { Sequelize } from 'sequelize';
import { openStore, type Dialect, type Store } from '../src/store';
import { explainStatement, GROWTH_QUERIES, seedGrowth, statementsOf } from './growth-workload';
import { writeResultsSection } from './results-file';

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
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
  plans: Map<string, string[][]>;
  seedSeconds: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function timeQueries(store: Store, n: number): Promise<Map<string, number>> {
  const result = new Map<string, number>();
  for (const query of GROWTH_QUERIES) {
    await query.run(store, n);
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

async function measure(dialect: Dialect, n: number, withPlans: boolean): Promise<Measured> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clawgate-growth-'));
  const pg = dialect === 'postgres' ? await createPgDatabase() : undefined;
  const url = pg ? pg.url : `sqlite:${path.join(dir, 'growth.sqlite')}`;
  const store = await openStore(url, { secretKey: Buffer.alloc(32, 7) });
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
    const medianMs = await timeQueries(store, n);
    for (const [table, index] of INDEXES_0014) await raw.getQueryInterface().removeIndex(table, index);
    if (dialect === 'postgres') await raw.query('ANALYZE');
    const withoutMs = await timeQueries(store, n);
    return { medianMs, withoutMs, plans, seedSeconds };
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
    lines.push(`| ${query.name} | ${cells.join(' | ')} |`);
  }
  const seeds = dialects
    .map(
      (d) =>
        `${d}: ${SIZES.map((n) => `${sizeLabel(n)} in ${results.get(`${d}:${n}`)?.seedSeconds.toFixed(1)} s`).join(', ')}`,
    )
    .join('; ');
  const report = [
    'Median of 11 calls through the store (ms), after one warm-up. Sizes are evaluation rows (10 workspaces × 20 repositories), with as many audit events, a tenth as many deliveries, finished jobs and commit pushes, a hundredth as many incidents. "without 0014": the same database with migration 0014\'s indexes dropped.',
    '',
    ...lines,
    '',
    `Seeding (inside the database): ${seeds}. Plans at ${sizeLabel(largest)}: docs/growth-plans${CUSTOM_SIZES ? `-${CUSTOM_SIZES.map(sizeLabel).join('-')}` : ''}.md.`,
    `Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length}, Node ${process.version}, SQLite file (WAL) and PostgreSQL on loopback, shared with other work while measured${QUICK ? ' (--quick)' : ''}. Date: ${new Date().toISOString().slice(0, 10)}.`,
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
      `Generated by \`npm run bench:growth -- --write\` (bench/growth.ts) at ${sizeLabel(largest)} evaluation rows on ${new Date().toISOString().slice(0, 10)}; timings in bench/RESULTS.md ("Store queries as the data grows"), the study in docs/operations.md ("Growth"). SQLite: EXPLAIN QUERY PLAN (no ANALYZE statistics, as in production). PostgreSQL: EXPLAIN (ANALYZE) for reads, EXPLAIN for writes, after ANALYZE.`,
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
