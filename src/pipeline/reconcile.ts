import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import { BitbucketError } from '../bitbucket';
import type { AppConfig } from '../config/app-config';
import type { JobQueue } from '../queue/job-queue';
import { pullRequestJobKey } from '../queue/pull-request-job-key';
import type { Store, Tenant } from '../store';
import { bitbucketClientFor } from './bitbucket-for-tenant';
import type { ApiBudget } from './api-budget';
import { clawgateVerdictForCommit } from './commit-verdict';
import { STATUS_KEY } from './publish';
import { EVALUATION_JOB, type EvaluationJob } from './webhook-events';

/**
 * The periodic reconciliation (issue 9, "a status first, always"): webhooks get lost and jobs fail
 * for good while Bitbucket is down, so every interval one replica (a lease in the store decides
 * which) lists the open PRs of the workspace's registered repositories and queues an evaluation for
 * each whose head has no `clawgate` status, a status that disagrees with what the store says, or no
 * evaluation of that head at all. Registered repositories: those clawgate has evaluated before and
 * those an assignment names literally (a glob cannot be listed without reading every repository).
 * Bounded: at most `maxPullRequests` PRs and 2 pages of open PRs per repository per run.
 */

export const RECONCILE_LEASE = 'reconcile-open-pull-requests';
export const DEFAULT_RECONCILE_INTERVAL_MS = 5 * 60_000;
const OPEN_PR_PAGES = 2;
const MAX_PULL_REQUESTS_PER_RUN = 200;

const openPullRequestSchema = z.looseObject({
  id: z.number().int().positive(),
  source: z.looseObject({ commit: z.looseObject({ hash: z.string().regex(/^[0-9a-f]{7,40}$/i) }).nullish() }),
});

export interface ReconcileResult {
  claimed: boolean;
  pullRequests: number;
  queued: number;
  errors: number;
}

export interface ReconcileDeps {
  store: Store;
  queue: JobQueue;
  config: AppConfig;
  logger: Logger;
  fetch?: typeof fetch;
  /** Its reads count against each installation's API budget (api-budget.ts). */
  apiBudget?: ApiBudget;
}

function isLiteralRepo(glob: string): boolean {
  return /^[^/*?[\]{}!]+\/[^/*?[\]{}!]+$/.test(glob);
}

async function reconcileTenant(
  deps: ReconcileDeps,
  tenant: Tenant,
  budget: { left: number },
  result: ReconcileResult,
): Promise<void> {
  const { store, queue, config } = deps;
  const workspaceId = tenant.workspaceId;
  const client = bitbucketClientFor(
    tenant,
    config,
    deps.logger,
    `reconcile:${randomUUID()}`,
    deps.fetch,
    deps.apiBudget?.meterFor({ workspaceId, clientKey: tenant.clientKey }),
  );
  const assignments = await store.assignments.list(workspaceId);
  const repos = new Set([
    ...(await store.evaluations.repositories(workspaceId)),
    ...assignments.map((a) => a.repoGlob).filter(isLiteralRepo),
  ]);
  for (const repoFullName of repos) {
    if (budget.left <= 0) return;
    const [workspace, repoSlug] = repoFullName.split('/') as [string, string];
    let open: z.infer<typeof openPullRequestSchema>[];
    try {
      open = await client.paginate(
        `/2.0/repositories/${encodeURIComponent(workspace)}/${encodeURIComponent(repoSlug)}/pullrequests`,
        openPullRequestSchema,
        { query: { state: 'OPEN', pagelen: 50 }, pageCap: OPEN_PR_PAGES },
      );
    } catch (error) {
      if (!(error instanceof BitbucketError)) throw error;
      result.errors += 1;
      deps.logger.warn({ repo: repoFullName, err: error.message }, 'reconciliation could not list open pull requests');
      continue;
    }
    for (const pr of open) {
      if (budget.left <= 0) return;
      const head = pr.source.commit?.hash.toLowerCase();
      if (!head) continue;
      budget.left -= 1;
      result.pullRequests += 1;
      try {
        const full = await client.resolveCommitHash(workspace, repoSlug, head);
        const [status, latest, recorded] = await Promise.all([
          client.getBuildStatus(workspace, repoSlug, full, STATUS_KEY),
          store.evaluations.latestForPullRequest(workspaceId, repoFullName, pr.id),
          clawgateVerdictForCommit(store, config, workspaceId, repoFullName, full),
        ]);
        const evaluatedHere = latest !== null && latest.headSha === full;
        const agrees = status !== null && recorded.basis !== 'none' && status.state === recorded.content.state;
        if (status !== null && evaluatedHere && agrees) continue;
        const job: EvaluationJob = {
          workspaceId,
          clientKey: tenant.clientKey,
          repoFullName,
          prId: pr.id,
          headHint: full,
          trigger: 'reconcile',
          deliveryId: `reconcile:${randomUUID()}`,
        };
        const key = pullRequestJobKey({ workspaceId, repoFullName, prId: pr.id, headSha: full.slice(0, 12) });
        await queue.enqueue(EVALUATION_JOB, job, { key: `${key.key}#reconcile`, supersedes: key.supersedes });
        result.queued += 1;
      } catch (error) {
        if (!(error instanceof BitbucketError)) throw error;
        result.errors += 1;
      }
    }
  }
}

/** One reconciliation pass, if this caller wins the interval's lease (`force` skips the lease: tests, CLI). */
export async function reconcileOpenPullRequests(
  deps: ReconcileDeps,
  options: { holder: string; intervalMs: number; force?: boolean },
): Promise<ReconcileResult> {
  const result: ReconcileResult = { claimed: false, pullRequests: 0, queued: 0, errors: 0 };
  if (!options.force && !(await deps.store.leases.claim(RECONCILE_LEASE, options.holder, options.intervalMs)))
    return result;
  result.claimed = true;
  const budget = { left: MAX_PULL_REQUESTS_PER_RUN };
  for (const tenant of await deps.store.tenants.listAll()) {
    if (tenant.uninstalledAt) continue;
    try {
      await reconcileTenant(deps, tenant, budget, result);
    } catch (error) {
      result.errors += 1;
      deps.logger.error(
        { workspace: tenant.workspaceId, err: error instanceof Error ? error.message : String(error) },
        'reconciliation failed for a workspace',
      );
    }
  }
  deps.logger.info({ ...result }, 'reconciliation done');
  return result;
}

export interface Reconciler {
  runOnce(force?: boolean): Promise<ReconcileResult>;
  stop(): Promise<void>;
}

/** The timer: every `intervalMs` (unref'd), one run at a time; `stop` waits for a run in flight. */
export function startReconciliation(
  deps: ReconcileDeps,
  options: { intervalMs?: number; holder?: string; firstRunDelayMs?: number } = {},
): Reconciler {
  const intervalMs = options.intervalMs ?? DEFAULT_RECONCILE_INTERVAL_MS;
  const holder = options.holder ?? randomUUID();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<ReconcileResult> | null = null;
  let stopped = false;
  const runOnce = async (force = false): Promise<ReconcileResult> => {
    while (running !== null) await running.catch(() => undefined);
    const current = reconcileOpenPullRequests(deps, { holder, intervalMs, force });
    running = current;
    try {
      return await current;
    } finally {
      running = null;
    }
  };
  const schedule = (delayMs: number): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = null;
      const tick =
        running === null
          ? runOnce().catch((error: unknown) =>
              deps.logger.error(
                { err: error instanceof Error ? error.message : String(error) },
                'reconciliation failed',
              ),
            )
          : Promise.resolve();
      void tick.finally(() => schedule(intervalMs));
    }, delayMs);
    timer.unref();
  };
  schedule(options.firstRunDelayMs ?? intervalMs);
  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      while (running !== null) await running.catch(() => undefined);
    },
  };
}
