import { randomInt } from 'node:crypto';
import { Client } from 'pg';
import { startSandbox, type BitbucketSandbox } from '../../../src/sandbox';
import {
  clawgateStatus,
  openAgentPullRequest,
  prepareWorkspace,
  TEST_SECRET_KEY,
  type Workspace,
} from '../../e2e/harness';
import {
  startLoopbackProxy,
  type LoopbackProxy,
  type ProxiedRequest,
  type ProxyPlan,
} from '../../support/cluster/loopback-proxy';
import { ReplicaSet } from '../../support/cluster/replica-set';

/**
 * The replica tests' world: the sandbox (Bitbucket) in the test process, N clawgate processes on one
 * PostgreSQL database, and a loopback proxy as their public URL that hands each webhook delivery to
 * a random replica, sends some deliveries twice (to two replicas at once: Bitbucket delivering a
 * webhook twice) and answers some first attempts with 500 after a replica took them, so the
 * sandbox retries them as Bitbucket does (same X-Request-UUID, X-Attempt-Number 2, 3).
 */

export interface WorldOptions {
  readonly databaseUrl: string;
  readonly replicas: number;
  readonly queue: 'table' | 'pg-boss';
  /** Extra environment of every replica. */
  readonly env?: Readonly<Record<string, string>>;
  /** Share of deliveries also sent to a second replica (default 0.25). */
  readonly duplicateShare?: number;
  /** Share of first attempts answered 500 after a replica took them (default 0.15). */
  readonly retryShare?: number;
}

export interface DeliveryStats {
  webhooks: number;
  duplicates: number;
  forcedRetries: number;
  byReplica: Map<string, number>;
}

export interface OpenedPullRequest {
  readonly prId: number;
  readonly head: string;
  readonly expected: 'SUCCESSFUL' | 'FAILED';
}

export interface ReplicaWorld {
  readonly sandbox: BitbucketSandbox;
  readonly proxy: LoopbackProxy;
  readonly replicas: ReplicaSet;
  readonly workspace: Workspace;
  readonly stats: DeliveryStats;
  /** Opens `count` agent PRs at once, alternately compliant (SUCCESSFUL) and with a model the WPC refuses (FAILED). */
  openPullRequests(count: number, prefix: string): OpenedPullRequest[];
  /** Waits until every head has a final clawgate status; returns the heads still without one on timeout. */
  waitForFinalStatuses(prs: readonly OpenedPullRequest[], timeoutMs: number): Promise<OpenedPullRequest[]>;
  close(): Promise<void>;
}

export async function startReplicaWorld(options: WorldOptions): Promise<ReplicaWorld> {
  const sandbox = await startSandbox();
  const stats: DeliveryStats = { webhooks: 0, duplicates: 0, forcedRetries: 0, byReplica: new Map() };
  const duplicateShare = options.duplicateShare ?? 0.25;
  const retryShare = options.retryShare ?? 0.15;
  let replicas: ReplicaSet | undefined;
  const pick = (live: readonly string[]): string => live[randomInt(live.length)] as string;
  const plan = (request: ProxiedRequest, live: readonly string[]): ProxyPlan | undefined => {
    if (request.method !== 'POST' || request.headers['x-request-uuid'] === undefined || live.length === 0)
      return undefined;
    stats.webhooks += 1;
    const target = pick(live);
    stats.byReplica.set(target, (stats.byReplica.get(target) ?? 0) + 1);
    const others = live.filter((url) => url !== target);
    const copies = others.length > 0 && Math.random() < duplicateShare ? [pick(others)] : [];
    stats.duplicates += copies.length;
    const retry = request.headers['x-attempt-number'] === '1' && Math.random() < retryShare;
    if (retry) stats.forcedRetries += 1;
    return { targets: [target], copies, ...(retry ? { answerStatus: 500 } : {}) };
  };
  const proxy = await startLoopbackProxy(
    () => replicas?.alive().map((replica) => replica.url) ?? [],
    (request, live) => plan(request, live) ?? { targets: [pick(live)] },
  );
  try {
    replicas = await ReplicaSet.start({
      count: options.replicas,
      env: {
        DATABASE_URL: options.databaseUrl,
        APP_BASE_URL: proxy.url,
        CLAWGATE_SECRET_KEY: TEST_SECRET_KEY,
        CLAWGATE_ALLOWED_HOSTS: new URL(sandbox.baseUrl).host,
        CLAWGATE_QUEUE: options.queue,
        CLAWGATE_QUEUE_POLL_MS: '500',
        // Two cores for three replicas, the sandbox and PostgreSQL: one verification thread each.
        CLAWGATE_VERIFY_THREADS: '1',
        LOG_LEVEL: 'warn',
        ...options.env,
      },
    });
  } catch (error) {
    await proxy.close();
    await sandbox.close();
    throw error;
  }
  const set = replicas;
  let workspace: Workspace;
  try {
    workspace = await prepareWorkspace(sandbox, proxy.url);
  } catch (error) {
    await set.stop();
    await proxy.close();
    await sandbox.close();
    throw error;
  }
  return {
    sandbox,
    proxy,
    replicas: set,
    workspace,
    stats,
    openPullRequests(count, prefix) {
      return Array.from({ length: count }, (_, n) => {
        const compliant = n % 2 === 0;
        const pr = openAgentPullRequest(
          sandbox,
          workspace,
          `agent/${prefix}-${n}`,
          { [`src/${prefix}-${n}.ts`]: `export const v = ${n};\n` },
          compliant ? {} : { provider: 'openai', model: 'gpt-4o' },
        );
        return { prId: pr.prId, head: pr.head, expected: compliant ? 'SUCCESSFUL' : 'FAILED' };
      });
    },
    async waitForFinalStatuses(prs, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const open = prs.filter((pr) => {
          const state = clawgateStatus(sandbox, pr.head)?.state;
          return state === undefined || state === 'INPROGRESS';
        });
        if (open.length === 0 || Date.now() > deadline) return open;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    async close() {
      await set.stop();
      await proxy.close();
      await sandbox.close();
    },
  };
}

/** Evaluation rows per (repository, PR, head) in the shared database. */
export async function evaluationCounts(databaseUrl: string): Promise<Map<string, number>> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ repo_full_name: string; pr_id: number; head_sha: string; n: string }>(
      'SELECT repo_full_name, pr_id, head_sha, count(*) AS n FROM evaluations GROUP BY repo_full_name, pr_id, head_sha',
    );
    return new Map(rows.map((row) => [`${row.repo_full_name}#${row.pr_id}@${row.head_sha}`, Number(row.n)]));
  } finally {
    await client.end();
  }
}

/** Which worker ran the evaluation jobs (table queue: `locked_by` of finished jobs). */
export async function evaluationJobsByWorker(databaseUrl: string): Promise<Map<string, number>> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ locked_by: string | null; n: string }>(
      "SELECT locked_by, count(*) AS n FROM jobs WHERE name = 'evaluate-pull-request' AND state = 'done' GROUP BY locked_by",
    );
    return new Map(rows.map((row) => [row.locked_by ?? '(cleared)', Number(row.n)]));
  } finally {
    await client.end();
  }
}

/** Final (not INPROGRESS) clawgate status writes the sandbox received for `head`. */
export function finalStatusWrites(sandbox: BitbucketSandbox, head: string): number {
  return sandbox.received.statuses.filter(
    (write) =>
      write.commit === head &&
      (write.body as { key?: string; state?: string }).key === 'clawgate' &&
      (write.body as { state?: string }).state !== 'INPROGRESS',
  ).length;
}
