/**
 * The growth study's workload (issue 15, "Growth"), shared by bench/growth.ts (timings and plans at
 * 10k–1M rows) and test/store/growth-query-plans.test.ts (the plans use the indexes):
 *
 * - `seedGrowth`: N evaluation rows spread over 10 workspaces × 20 repositories (3 evaluations per
 *   PR, 2 per head), N audit events, N/10 deliveries, finished jobs and commit pushes, N/100
 *   incidents; generated inside the database (a recursive CTE on SQLite, generate_series on
 *   PostgreSQL), so 1M rows take seconds, not a million round trips; on SQLite the seed connection
 *   also bulk-loads (see `bulkLoadSqlite`), which took 1M rows from over 25 minutes to under a minute;
 * - `GROWTH_QUERIES`: every store query whose cost could grow with those tables, called through the
 *   real store (so the SQL explained is the SQL the store sends, captured with `traceQueries`);
 * - `explainStatement`: SQLite's EXPLAIN QUERY PLAN or PostgreSQL's EXPLAIN (ANALYZE) of one statement.
 */
import { QueryTypes, type Sequelize } from 'sequelize';
import type { Dialect, Store } from '../src/store';

export const GROWTH_WORKSPACES = 10;
export const GROWTH_REPOS_PER_WORKSPACE = 20;
/** Seconds since the epoch of row 0; row i is created i seconds later. */
const BASE_EPOCH_S = 1_767_225_600; // 2026-01-01T00:00:00Z

/** The generated values of row `i` (the SQL below computes the same in the database). */
export function growthRow(i: number): {
  workspace: string;
  repo: string;
  prId: number;
  headSha: string;
  bundleId: string;
  policyHash: string;
  at: Date;
} {
  const w = i % GROWTH_WORKSPACES;
  const r = Math.floor(i / GROWTH_WORKSPACES) % GROWTH_REPOS_PER_WORKSPACE;
  const k = Math.floor(i / (GROWTH_WORKSPACES * GROWTH_REPOS_PER_WORKSPACE));
  const head = Math.floor(i / 400) * 200 + (i % 200);
  return {
    workspace: `{00000000-0000-4000-8000-${w.toString(16).padStart(12, '0')}}`,
    repo: `ws${w}/repo-${r}`,
    prId: Math.floor(k / 3) + 1,
    headSha: head.toString(16).padStart(40, '0'),
    bundleId: `b-${head}`,
    policyHash: `policy-${i % 50}`,
    at: new Date((BASE_EPOCH_S + i) * 1000),
  };
}

/** SQL expressions (over an integer `i`) computing `growthRow(i)` in each dialect. */
function expressions(dialect: Dialect) {
  const hex = (e: string, width: number) =>
    dialect === 'sqlite' ? `printf('%0${width}x', ${e})` : `lpad(to_hex(${e}), ${width}, '0')`;
  const div = (a: string, b: number) => (dialect === 'sqlite' ? `(${a} / ${b})` : `(${a} / ${b})`); // integer division in both
  const at =
    dialect === 'sqlite'
      ? `strftime('%Y-%m-%d %H:%M:%f', ${BASE_EPOCH_S} + i, 'unixepoch') || ' +00:00'`
      : `to_timestamp(${BASE_EPOCH_S} + i)`;
  const uuid = (prefix: string) =>
    dialect === 'sqlite'
      ? `'${prefix}-0000-4000-8000-' || ${hex('i', 12)}`
      : `('${prefix}-0000-4000-8000-' || ${hex('i', 12)})::uuid`;
  const json = (text: string) => (dialect === 'sqlite' ? `'${text}'` : `'${text}'::jsonb`);
  return {
    workspace: `'{00000000-0000-4000-8000-' || ${hex(`(i % ${GROWTH_WORKSPACES})`, 12)} || '}'`,
    repo: `'ws' || (i % ${GROWTH_WORKSPACES}) || '/repo-' || (${div('i', GROWTH_WORKSPACES)} % ${GROWTH_REPOS_PER_WORKSPACE})`,
    prId: `(${div(div('i', GROWTH_WORKSPACES * GROWTH_REPOS_PER_WORKSPACE), 3)} + 1)`,
    headSha: hex(`(${div('i', 400)} * 200 + i % 200)`, 40),
    bundleId: `'b-' || (${div('i', 400)} * 200 + i % 200)`,
    policyHash: `'policy-' || (i % 50)`,
    at,
    uuid,
    json,
  };
}

/** Rows 0..count-1 of `select` (which reads `i`) inserted into `table (columns)`. */
async function insertGenerated(
  sequelize: Sequelize,
  dialect: Dialect,
  table: string,
  columns: string,
  select: string,
  count: number,
): Promise<void> {
  if (count <= 0) return;
  const sql =
    dialect === 'sqlite'
      ? `WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < ${count - 1}) INSERT INTO ${table} (${columns}) SELECT ${select} FROM seq`
      : `INSERT INTO ${table} (${columns}) SELECT ${select} FROM generate_series(0, ${count - 1}) AS seq(i)`;
  await sequelize.query(sql);
}

/**
 * One SQLite schema object as `sqlite_master` records it, the root page left out (it moves when an
 * index is rebuilt). The order matters: without ANALYZE statistics SQLite breaks ties between equally
 * good indexes by their order in the schema (rows in rowid order, per table), so a restore that
 * recreated indexes in another order changed plans (seen: `evaluations.repositories` switched from
 * `evaluations_workspace_repo_created` to `evaluations_workspace_repo_head_created`).
 */
interface SchemaObject {
  type: string;
  name: string;
  tbl_name: string;
  sql: string | null;
}

async function sqliteSchema(sequelize: Sequelize): Promise<SchemaObject[]> {
  return sequelize.query<SchemaObject>('SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY tbl_name, rowid', {
    type: QueryTypes.SELECT,
  });
}

/** The value of a per-connection PRAGMA (`PRAGMA synchronous` answers `{ synchronous: 2 }`). */
async function sqlitePragma(sequelize: Sequelize, name: string): Promise<number> {
  const [row] = await sequelize.query<Record<string, number>>(`PRAGMA ${name}`, { type: QueryTypes.SELECT });
  const value = row?.[name];
  if (typeof value !== 'number') throw new Error(`PRAGMA ${name} answered ${JSON.stringify(row)}`);
  return value;
}

/**
 * Runs `load` (the seed's INSERT … SELECTs) as a bulk load on SQLite, then puts the database back as
 * migrations left it. Why the plain inserts were slow (timed: 100k rows 4.6 s, 300k 26.7 s, 1M
 * past 25 minutes): every row updates 7 indexes of `evaluations` and 4 of `audit_events` (the
 * primary key's included) at scattered places, and once those B-trees outgrow SQLite's default
 * 2 MB page cache each row evicts and re-reads pages. At 300k rows the big cache alone brought the
 * seed from 26.7 s to 9.4 s, rebuilding the indexes after the load to 6.4 s (1M: about 30 s); a
 * journal mode other than WAL did not help (7.4 s). So, for the seed only and only on the seed's
 * own connection (sequelize keeps one connection for statements outside a transaction; these
 * PRAGMAs are per connection, so the store's connections keep their real settings):
 * - the growing tables' explicit indexes are dropped before the load and created again, in their
 *   original order, from the very SQL `sqlite_master` held (a sorted build instead of a million
 *   random inserts); the implicit ones (primary keys, UNIQUE constraints) cannot be dropped and stay
 *   (they were created with their table, so they still come first);
 * - `synchronous = OFF`, a 1 GB page cache and in-memory temporary sort files;
 * - afterwards the PRAGMAs are set back, the WAL is checkpointed and truncated (a long-running
 *   database is read from its main file, not from a 1 GB WAL), and the schema is compared with the
 *   one before: any difference (an index missing, changed or out of order) fails the seed.
 * The journal mode stays WAL (it is persistent in the file and other connections, the store's, are
 * open). No ANALYZE is run, as in production. What the real database has and this one has not:
 * indexes grown row by row (pages less full) instead of built sorted.
 */
async function bulkLoadSqlite(sequelize: Sequelize, load: () => Promise<void>): Promise<void> {
  const before = await sqliteSchema(sequelize);
  const growing = new Set<string>(GROWING_TABLES);
  const dropped = before.filter((o) => o.type === 'index' && o.sql !== null && growing.has(o.tbl_name));
  const saved = {
    synchronous: await sqlitePragma(sequelize, 'synchronous'),
    cache_size: await sqlitePragma(sequelize, 'cache_size'),
    temp_store: await sqlitePragma(sequelize, 'temp_store'),
  };
  await sequelize.query('PRAGMA synchronous = OFF');
  await sequelize.query('PRAGMA cache_size = -1000000'); // KiB: 1 GB
  await sequelize.query('PRAGMA temp_store = MEMORY');
  try {
    for (const index of dropped) await sequelize.query(`DROP INDEX "${index.name.replaceAll('"', '""')}"`);
    await load();
    for (const index of dropped) if (index.sql !== null) await sequelize.query(index.sql);
  } finally {
    for (const [name, value] of Object.entries(saved)) await sequelize.query(`PRAGMA ${name} = ${value}`);
  }
  const [checkpoint] = await sequelize.query<{ busy: number }>('PRAGMA wal_checkpoint(TRUNCATE)', {
    type: QueryTypes.SELECT,
  });
  if (checkpoint?.busy !== 0) throw new Error('the WAL checkpoint after the SQLite bulk seed could not finish');
  const after = await sqliteSchema(sequelize);
  if (JSON.stringify(after) !== JSON.stringify(before)) {
    throw new Error('the SQLite bulk seed did not restore the schema (sqlite_master differs from before the seed)');
  }
}

/** Seeds `n` evaluations and the proportional rows of the other growing tables (see the file comment). */
export async function seedGrowth(sequelize: Sequelize, dialect: Dialect, n: number): Promise<void> {
  if (dialect === 'sqlite') return bulkLoadSqlite(sequelize, () => insertGrowthRows(sequelize, dialect, n));
  await insertGrowthRows(sequelize, dialect, n);
  // VACUUM as well as ANALYZE: a long-running database has been autovacuumed (PostgreSQL 13+ also
  // vacuums insert-only tables), which sets the visibility map that index-only scans need. Without
  // it the result depended on whether autovacuum happened to run during the bench: at 1M,
  // `repositoriesUsing (policy)` read 20,000 heap rows (166 ms) in one run and none (18 ms) in another.
  await sequelize.query('VACUUM ANALYZE');
}

async function insertGrowthRows(sequelize: Sequelize, dialect: Dialect, n: number): Promise<void> {
  const e = expressions(dialect);
  await insertGenerated(
    sequelize,
    dialect,
    'evaluations',
    'id, workspace_uuid, repo_full_name, pr_id, head_sha, state, mode, status_state, verdict, bundle_id, bundle_sha256_b64u, bundle_source, policy_hash_b64u, pr_url, commits, created_at',
    `${e.uuid('00000000')}, ${e.workspace}, ${e.repo}, ${e.prId}, ${e.headSha}, 'PASS', 'enforce', 'SUCCESSFUL', ${e.json('{"state":"PASS"}')}, ${e.bundleId}, NULL, 'repository', ${e.policyHash}, NULL, ${e.json('[]')}, ${e.at}`,
    n,
  );
  await insertGenerated(
    sequelize,
    dialect,
    'audit_events',
    'workspace_uuid, at, actor, kind, subject, repo_full_name, pr_id',
    `${e.workspace}, ${e.at}, 'clawgate', 'evaluation.recorded', ${e.headSha}, ${e.repo}, ${e.prId}`,
    n,
  );
  const tenth = Math.floor(n / 10);
  await insertGenerated(
    sequelize,
    dialect,
    'webhook_deliveries',
    'workspace_uuid, request_uuid, event, received_at',
    `${e.workspace}, 'req-' || i, 'pullrequest:updated', ${e.at}`,
    tenth,
  );
  await insertGenerated(
    sequelize,
    dialect,
    'jobs',
    'id, name, key, supersedes, payload, state, attempts, max_attempts, run_after, created_at, updated_at, finished_at',
    `${e.uuid('11111111')}, 'evaluate-pull-request', 'job-' || i, 'pr-' || (i / 3), ${e.json('{}')}, 'done', 1, 5, ${e.at}, ${e.at}, ${e.at}, ${e.at}`,
    tenth,
  );
  await insertGenerated(
    sequelize,
    dialect,
    'commit_pushes',
    'workspace_uuid, repo_full_name, commit_sha, pusher_uuid, branch, delivery_id, pushed_at',
    `${e.workspace}, ${e.repo}, ${e.headSha}, NULL, 'main', 'req-' || i, ${e.at}`,
    tenth,
  );
  await insertGenerated(
    sequelize,
    dialect,
    'incidents',
    'workspace_uuid, repo_full_name, incident_id, action, branch, commit_sha, pr_id, delivery_id, status_state, created_at',
    `${e.workspace}, ${e.repo}, NULL, 'merge_pr', 'main', ${e.headSha}, ${e.prId}, 'req-' || i, 'SUCCESSFUL', ${e.at}`,
    Math.floor(n / 100),
  );
}

/** The tables that grow without bound with use (a plan must never SCAN them). */
export const GROWING_TABLES = [
  'evaluations',
  'audit_events',
  'incidents',
  'webhook_deliveries',
  'jobs',
  'commit_pushes',
] as const;

export interface GrowthQuery {
  readonly name: string;
  /** One call of the real store method (on the row in the middle of the seeded data). */
  run(store: Store, n: number): Promise<unknown>;
}

/** A row near the middle of the data, of workspace 3. */
function middle(n: number): ReturnType<typeof growthRow> & { i: number } {
  let i = Math.floor(n / 2);
  i -= i % GROWTH_WORKSPACES;
  i += 3;
  return { ...growthRow(i), i };
}

const LONG_AGO = new Date(Date.UTC(2000, 0, 1));

export const GROWTH_QUERIES: readonly GrowthQuery[] = [
  {
    name: 'evaluations.get',
    run: (s, n) =>
      s.evaluations.get(middle(n).workspace, `00000000-0000-4000-8000-${middle(n).i.toString(16).padStart(12, '0')}`),
  },
  {
    name: 'evaluations.listForPullRequest',
    run: (s, n) => s.evaluations.listForPullRequest(middle(n).workspace, middle(n).repo, middle(n).prId),
  },
  {
    name: 'evaluations.listForRepository',
    run: (s, n) => s.evaluations.listForRepository(middle(n).workspace, middle(n).repo),
  },
  { name: 'evaluations.listRecent', run: (s, n) => s.evaluations.listRecent(middle(n).workspace) },
  {
    name: 'evaluations.listRecent (before)',
    run: (s, n) => s.evaluations.listRecent(middle(n).workspace, { before: middle(n).at }),
  },
  {
    name: 'evaluations.latestForHead',
    run: (s, n) => s.evaluations.latestForHead(middle(n).workspace, middle(n).repo, middle(n).headSha),
  },
  {
    name: 'evaluations.latestPerPullRequestForHead',
    run: (s, n) => s.evaluations.latestPerPullRequestForHead(middle(n).workspace, middle(n).repo, middle(n).headSha),
  },
  {
    name: 'evaluations.latestPerPullRequest',
    run: (s, n) =>
      s.evaluations.latestPerPullRequest(middle(n).workspace, {
        since: new Date(growthRow(n).at.getTime() - 3_600_000),
        limit: 100,
      }),
  },
  { name: 'evaluations.repositories', run: (s, n) => s.evaluations.repositories(middle(n).workspace) },
  {
    name: 'evaluations.repositoriesUsing (bundle)',
    run: (s, n) => s.evaluations.repositoriesUsing(middle(n).workspace, { bundleId: middle(n).bundleId }),
  },
  {
    name: 'evaluations.repositoriesUsing (policy)',
    run: (s, n) => s.evaluations.repositoriesUsing(middle(n).workspace, { policyHashB64u: middle(n).policyHash }),
  },
  { name: 'audit.query (workspace, first page)', run: (s, n) => s.audit.query(middle(n).workspace, { limit: 100 }) },
  {
    name: 'audit.query (workspace, cursor)',
    run: (s, n) => s.audit.query(middle(n).workspace, { afterId: Math.floor(n / 2), limit: 100 }),
  },
  {
    name: 'audit.query (pull request)',
    run: (s, n) => s.audit.query(middle(n).workspace, { repo: middle(n).repo, prId: middle(n).prId }),
  },
  {
    name: 'audit.query (since)',
    run: (s, n) => s.audit.query(middle(n).workspace, { since: middle(n).at, limit: 100 }),
  },
  { name: 'audit.purgeOlderThan', run: (s) => s.audit.purgeOlderThan(LONG_AGO) },
  {
    name: 'incidents.latestWithStatusOnCommit',
    run: (s, n) => s.incidents.latestWithStatusOnCommit(middle(n).workspace, middle(n).repo, middle(n).headSha),
  },
  {
    name: 'incidents.findRecorded',
    run: (s, n) =>
      s.incidents.findRecorded(middle(n).workspace, middle(n).repo, {
        deliveryId: 'req-1',
        action: 'merge_pr',
        commit: middle(n).headSha,
        branch: 'main',
      }),
  },
  { name: 'incidents.purgeOlderThan', run: (s) => s.incidents.purgeOlderThan(LONG_AGO) },
  {
    name: 'deliveries.recordDelivery (a redelivery)',
    run: (s, n) =>
      s.deliveries.recordDelivery(
        middle(Math.floor(n / 10)).workspace,
        `req-${middle(Math.floor(n / 10)).i}`,
        'pullrequest:updated',
      ),
  },
  { name: 'deliveries.purgeOlderThan', run: (s) => s.deliveries.purgeOlderThan(LONG_AGO) },
  {
    name: 'jobs.claimNext (none runnable)',
    run: (s) => s.jobs.claimNext(['evaluate-pull-request'], 'growth-bench', 60_000),
  },
  { name: 'jobs.purgeFinishedBefore', run: (s) => s.jobs.purgeFinishedBefore(LONG_AGO) },
  {
    name: 'commitPushes.forCommits',
    run: (s, n) => s.commitPushes.forCommits(middle(n).workspace, middle(n).repo, [middle(n).headSha]),
  },
  { name: 'commitPushes.purgeOlderThan', run: (s) => s.commitPushes.purgeOlderThan(LONG_AGO) },
];

/** The statements one query sends (transaction control and inserts left out: they have no plan to read). */
export async function statementsOf(store: Store, query: GrowthQuery, n: number): Promise<string[]> {
  const trace = { roundTrips: 0, statements: [] as string[] };
  await store.traceQueries(trace, () => query.run(store, n));
  return trace.statements.filter((sql) => /^\s*(SELECT|DELETE|UPDATE)\b/i.test(sql));
}

/** The plan of one statement: SQLite's EXPLAIN QUERY PLAN lines, or PostgreSQL's EXPLAIN (ANALYZE for reads). */
export async function explainStatement(sequelize: Sequelize, dialect: Dialect, sql: string): Promise<string[]> {
  const statement = sql.replace(/;\s*$/, '');
  if (dialect === 'sqlite') {
    const rows = await sequelize.query<{ id: number; parent: number; detail: string }>(
      `EXPLAIN QUERY PLAN ${statement}`,
      { type: QueryTypes.SELECT },
    );
    const depth = new Map<number, number>();
    return rows.map((row) => {
      const d = (depth.get(row.parent) ?? -1) + 1;
      depth.set(row.id, d);
      return `${'  '.repeat(d)}${row.detail}`;
    });
  }
  // Reads are run (ANALYZE: real row counts); writes only planned (their rows would change).
  const analyze = /^\s*SELECT\b/i.test(statement) && !/\bFOR UPDATE\b/i.test(statement);
  const rows = await sequelize.query<{ 'QUERY PLAN': string }>(
    `EXPLAIN (${analyze ? 'ANALYZE, TIMING OFF, ' : ''}COSTS OFF) ${statement}`,
    { type: QueryTypes.SELECT },
  );
  return rows.map((row) => row['QUERY PLAN']);
}

/** The growing tables and the aliases sequelize gives them in SELECTs (`FROM evaluations AS Evaluation`). */
const GROWING_NAMES = [...GROWING_TABLES, 'Evaluation', 'AuditEvent', 'Incident', 'Delivery', 'Job', 'CommitPush'];

/** The SQLite plan lines that read a growing table (or one of its indexes) from end to end. */
export function fullScans(plan: readonly string[]): string[] {
  return plan.filter((line) => new RegExp(`^SCAN (${GROWING_NAMES.join('|')})\\b`).test(line.trim()));
}
