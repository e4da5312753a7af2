import type { MigrationContext } from './migration-context';

/**
 * Growth (issue 15): the indexes the queries that grow with stored evaluations and audit events were
 * missing. Each was found with EXPLAIN on 10k–1M seeded rows (bench/growth.ts, plans in
 * docs/operations.md "Growth"); without it the query scanned every row of the workspace (or of the
 * repository) and sorted them. Adds only indexes.
 *
 * - `evaluations (workspace_uuid, repo_full_name, head_sha, created_at)`: the newest evaluation of a
 *   head (`latestForHead`, `latestPerPullRequestForHead`), read by every publish, forged-status
 *   restore and API merge check;
 * - `evaluations (workspace_uuid, repo_full_name, created_at)`: a repository's evaluations newest
 *   first (`listForRepository`) without sorting all of them;
 * - `evaluations (workspace_uuid, bundle_id, repo_full_name)` and
 *   `evaluations (workspace_uuid, policy_hash_b64u, repo_full_name)`: who may read a bundle or a
 *   policy (`repositoriesUsing`), read on every bundle or policy page;
 * - `audit_events (workspace_uuid, id)`: a workspace's audit log in id order, the API's cursor
 *   (`AuditLog.query`), without sorting the whole workspace's log;
 * - `jobs (name, run_after, created_at) WHERE state IN ('pending', 'running')`: the live jobs only, in
 *   the order `JobRepository.claimNext` takes them. Every poll of every worker runs that query; it
 *   used to walk every job of the name, finished ones included, and sort them;
 * - `jobs (state, finished_at)`: retention's purge of finished jobs reads only the expired ones, not
 *   every finished job.
 */
export const name = '0014-growth-indexes';

const LIVE = ['pending', 'running'];

const INDEXES: readonly { table: string; fields: string[]; name: string; where?: Record<string, string[]> }[] = [
  {
    table: 'evaluations',
    fields: ['workspace_uuid', 'repo_full_name', 'head_sha', 'created_at'],
    name: 'evaluations_workspace_repo_head_created',
  },
  {
    table: 'evaluations',
    fields: ['workspace_uuid', 'repo_full_name', 'created_at'],
    name: 'evaluations_workspace_repo_created',
  },
  {
    table: 'evaluations',
    fields: ['workspace_uuid', 'bundle_id', 'repo_full_name'],
    name: 'evaluations_workspace_bundle_repo',
  },
  {
    table: 'evaluations',
    fields: ['workspace_uuid', 'policy_hash_b64u', 'repo_full_name'],
    name: 'evaluations_workspace_policy_repo',
  },
  { table: 'audit_events', fields: ['workspace_uuid', 'id'], name: 'audit_events_workspace_id' },
  {
    table: 'jobs',
    fields: ['name', 'run_after', 'created_at'],
    name: 'jobs_live_name_run_after',
    where: { state: LIVE },
  },
  { table: 'jobs', fields: ['state', 'finished_at'], name: 'jobs_state_finished_at' },
];

export async function up({ context }: { context: MigrationContext }): Promise<void> {
  const { queryInterface: qi } = context;
  for (const index of INDEXES)
    await qi.addIndex(index.table, index.fields, { name: index.name, ...(index.where ? { where: index.where } : {}) });
}

export async function down({ context }: { context: MigrationContext }): Promise<void> {
  const { queryInterface: qi } = context;
  for (const index of [...INDEXES].reverse()) await qi.removeIndex(index.table, index.name);
}
