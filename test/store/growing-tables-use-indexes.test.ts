/**
 * Growth (issue 15): every store query whose cost could grow with stored evaluations, audit events,
 * deliveries, jobs, commit pushes and incidents reads through an index, never the whole table. The
 * queries are called through the real store on seeded data and the SQL they send is explained
 * (bench/growth-workload.ts; bench/growth.ts times the same queries at 10k–1M rows).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Sequelize } from 'sequelize';
import { openStore, type Store } from '../../src/store';
import { explainStatement, fullScans, GROWTH_QUERIES, seedGrowth, statementsOf } from '../../bench/growth-workload';
import { createTestDatabase, type TestDatabase } from './support/postgres';
import { TEST_SECRET_KEY } from './support/store-fixture';

const ROWS = 20_000;

/**
 * The index each query's statements use on SQLite (statement by statement), as planned with 0014; a
 * query that sends more statements than listed (one per PR) uses the last index for the rest.
 */
const SQLITE_INDEX: Record<string, string[]> = {
  'evaluations.get': ['sqlite_autoindex_evaluations_1'],
  'evaluations.listForPullRequest': ['evaluations_workspace_pr_created'],
  'evaluations.listForRepository': ['evaluations_workspace_repo_created'],
  'evaluations.listRecent': ['evaluations_workspace_created'],
  'evaluations.listRecent (before)': ['evaluations_workspace_created'],
  'evaluations.latestForHead': ['evaluations_workspace_repo_head_created'],
  'evaluations.latestPerPullRequestForHead': [
    'evaluations_workspace_repo_head_created',
    'evaluations_workspace_pr_created',
  ],
  'evaluations.latestPerPullRequest': ['evaluations_workspace_created'],
  'evaluations.repositories': ['evaluations_workspace_repo_created'],
  'evaluations.repositoriesUsing (bundle)': ['evaluations_workspace_bundle_repo'],
  'evaluations.repositoriesUsing (policy)': ['evaluations_workspace_policy_repo'],
  'audit.query (workspace, first page)': ['audit_events_workspace_id'],
  'audit.query (workspace, cursor)': ['audit_events_workspace_id'],
  'audit.query (pull request)': ['audit_events_workspace_pr'],
  'audit.query (since)': ['audit_events_workspace_at'],
  'audit.purgeOlderThan': ['audit_events_at'],
  'incidents.latestWithStatusOnCommit': ['incidents_workspace_repo_commit'],
  'incidents.findRecorded': ['incidents_workspace_repo_delivery'],
  'incidents.purgeOlderThan': ['incidents_created_at'],
  'deliveries.recordDelivery (a redelivery)': [],
  'deliveries.purgeOlderThan': ['webhook_deliveries_received_at'],
  'jobs.claimNext (none runnable)': ['jobs_live_name_run_after'],
  'jobs.purgeFinishedBefore': ['jobs_state_finished_at'],
  'commitPushes.forCommits': ['commit_pushes_commit'],
  'commitPushes.purgeOlderThan': ['commit_pushes_pushed_at'],
};

/**
 * Queries allowed to sort what their index found, and why that stays small: the rows of one commit,
 * or the workspace's events since a date the caller chose (the API pages through them by id).
 */
const MAY_SORT = new Set(['commitPushes.forCommits', 'audit.query (since)']);

async function plansOf(store: Store, raw: Sequelize, dialect: 'sqlite' | 'postgres'): Promise<Map<string, string[][]>> {
  const plans = new Map<string, string[][]>();
  for (const query of GROWTH_QUERIES) {
    const statements = await statementsOf(store, query, ROWS);
    plans.set(query.name, await Promise.all(statements.map((sql) => explainStatement(raw, dialect, sql))));
  }
  return plans;
}

describe('growing tables are read through indexes (SQLite, no ANALYZE statistics, as in production)', () => {
  let dir: string;
  let store: Store;
  let raw: Sequelize;
  let plans: Map<string, string[][]>;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawgate-growth-'));
    const file = path.join(dir, 'growth.sqlite');
    store = await openStore(`sqlite:${file}`, { secretKey: TEST_SECRET_KEY });
    raw = new Sequelize({ dialect: 'sqlite', storage: file, logging: false });
    await seedGrowth(raw, 'sqlite', ROWS);
    plans = await plansOf(store, raw, 'sqlite');
  }, 60_000);

  afterAll(async () => {
    await raw?.close();
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists every growth query with its expected index', () => {
    expect(GROWTH_QUERIES.map((q) => q.name).sort()).toEqual(Object.keys(SQLITE_INDEX).sort());
  });

  it.each(GROWTH_QUERIES.map((q) => q.name))(
    '%s: no full scan, the expected index, no sort of a growing set',
    (name) => {
      const explained = plans.get(name) ?? [];
      const expected = SQLITE_INDEX[name] ?? [];
      expect(explained.length).toBeGreaterThanOrEqual(expected.length);
      if (expected.length === 0) expect(explained).toEqual([]);
      explained.forEach((plan, i) => {
        expect(fullScans(plan)).toEqual([]);
        expect(plan.join('\n')).toContain(`INDEX ${expected[Math.min(i, expected.length - 1)]} (`);
        if (!MAY_SORT.has(name)) expect(plan.join('\n')).not.toContain('TEMP B-TREE');
      });
    },
  );

  it('finds the scans and sorts that migration 0014 removes (the check can fail)', async () => {
    for (const index of [
      'evaluations_workspace_bundle_repo',
      'evaluations_workspace_policy_repo',
      'evaluations_workspace_repo_created',
      'audit_events_workspace_id',
      'jobs_live_name_run_after',
    ]) {
      await raw.query(`DROP INDEX ${index}`);
    }
    const without = await plansOf(store, raw, 'sqlite');
    const text = (name: string) => (without.get(name) ?? []).flat().join('\n');
    expect(text('evaluations.repositoriesUsing (bundle)')).not.toContain('evaluations_workspace_bundle_repo');
    expect(text('evaluations.listForRepository')).not.toContain('repo_full_name=?'); // walks the whole workspace's rows
    expect(text('audit.query (workspace, first page)')).toMatch(/TEMP B-TREE|^SCAN AuditEvent/m);
    expect(text('jobs.claimNext (none runnable)')).toContain('TEMP B-TREE');
  });
});

describe('the hot-path queries are read through indexes on PostgreSQL (after ANALYZE)', () => {
  const HOT = [
    'evaluations.listForRepository',
    'evaluations.latestForHead',
    'evaluations.latestPerPullRequestForHead',
    'evaluations.repositoriesUsing (bundle)',
    'audit.query (workspace, first page)',
    'audit.query (workspace, cursor)',
    'jobs.claimNext (none runnable)',
  ];
  let database: TestDatabase;
  let store: Store;
  let raw: Sequelize;

  beforeAll(async () => {
    database = await createTestDatabase('growth-plans');
    store = await openStore(database.url, { secretKey: TEST_SECRET_KEY });
    raw = new Sequelize(database.url, { dialect: 'postgres', logging: false });
    await seedGrowth(raw, 'postgres', ROWS);
  }, 60_000);

  afterAll(async () => {
    await raw?.close();
    await store?.close();
    await database?.drop();
  });

  it.each(HOT)('%s: no sequential scan of a growing table', async (name) => {
    const query = GROWTH_QUERIES.find((q) => q.name === name);
    if (query === undefined) throw new Error(name);
    const statements = await statementsOf(store, query, ROWS);
    expect(statements.length).toBeGreaterThan(0);
    for (const sql of statements) {
      const plan = (await explainStatement(raw, 'postgres', sql)).join('\n');
      expect(plan).not.toMatch(
        /Seq Scan on (evaluations|audit_events|jobs|incidents|webhook_deliveries|commit_pushes)\b/,
      );
    }
  });
});
