import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { QueueBacklog } from '../queue/job-queue';

/** Prometheus metrics (docs/operations.md), one registry per server instance so tests can run several. */
export interface ClawgateMetrics {
  registry: Registry;
  webhooks: Counter<'surface' | 'event' | 'outcome'>;
  /** Time from a webhook request's arrival to its answer (the ack), by surface and status class. */
  webhookAckSeconds: Histogram<'surface' | 'status'>;
  evaluations: Counter<'state' | 'status'>;
  evaluationSeconds: Histogram;
  /** Database statements (round trips, BEGIN/COMMIT included) per evaluation job (issue 15, growth). */
  evaluationDbRoundTrips: Histogram;
  /** Bitbucket API calls under `/2.0/repositories/*` per installation's workspace: sent, refused by the budget, answered 429. */
  apiCalls: Counter<'workspace' | 'outcome'>;
  /** 429 answers from Bitbucket per workspace. */
  apiRateLimited: Counter<'workspace'>;
  /** Evaluations deferred until the API budget returns, per workspace and cause (`budget`, `rate_limited`). */
  apiDeferrals: Counter<'workspace' | 'cause'>;
}

/** The queue depth and age gauges read `backlog` on each scrape (one grouped query). */
export function createMetrics(options: { backlog?: () => Promise<readonly QueueBacklog[]> } = {}): ClawgateMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const backlog = options.backlog;
  if (backlog !== undefined) {
    // One query per scrape for all three gauges: the first gauge's collect fills a short-lived snapshot.
    let snapshot: { at: number; rows: readonly QueueBacklog[] } | null = null;
    // A job name once seen keeps its series (at 0) when nothing waits or runs.
    const seen = new Set<string>();
    const read = async (): Promise<readonly QueueBacklog[]> => {
      if (snapshot !== null && Date.now() - snapshot.at < 1000) return snapshot.rows;
      const found = await backlog().catch(() => [] as QueueBacklog[]);
      for (const row of found) seen.add(row.name);
      const rows = [
        ...found,
        ...[...seen]
          .filter((name) => !found.some((row) => row.name === name))
          .map((name) => ({ name, waiting: 0, running: 0, oldestWaitingAt: null })),
      ];
      snapshot = { at: Date.now(), rows };
      return rows;
    };
    new Gauge({
      name: 'clawgate_queue_waiting_jobs',
      help: 'Jobs enqueued and not yet started (queue depth), by job name',
      labelNames: ['job'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const row of await read()) this.set({ job: row.name }, row.waiting);
      },
    });
    new Gauge({
      name: 'clawgate_queue_running_jobs',
      help: 'Jobs running now (all processes sharing the database), by job name',
      labelNames: ['job'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const row of await read()) this.set({ job: row.name }, row.running);
      },
    });
    new Gauge({
      name: 'clawgate_queue_oldest_waiting_seconds',
      help: 'Age of the oldest job not yet started (queue age), by job name; 0 when none waits',
      labelNames: ['job'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const row of await read())
          this.set(
            { job: row.name },
            row.oldestWaitingAt === null ? 0 : Math.max(0, (Date.now() - row.oldestWaitingAt.getTime()) / 1000),
          );
      },
    });
  }
  return {
    registry,
    webhooks: new Counter({
      name: 'clawgate_webhooks_total',
      help: 'Webhook deliveries by surface, event and outcome',
      labelNames: ['surface', 'event', 'outcome'],
      registers: [registry],
    }),
    webhookAckSeconds: new Histogram({
      name: 'clawgate_webhook_ack_seconds',
      help: 'Webhook request → answer (the ack Bitbucket waits for, 10 s timeout), by surface and status class',
      labelNames: ['surface', 'status'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    evaluations: new Counter({
      name: 'clawgate_evaluations_total',
      help: 'Evaluations by verdict state and build status',
      labelNames: ['state', 'status'],
      registers: [registry],
    }),
    evaluationSeconds: new Histogram({
      name: 'clawgate_evaluation_seconds',
      help: 'Time from job start to published verdict',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers: [registry],
    }),
    evaluationDbRoundTrips: new Histogram({
      name: 'clawgate_evaluation_db_round_trips',
      help: 'Database statements sent by one evaluation job (transaction BEGIN/COMMIT included)',
      buckets: [5, 10, 20, 30, 40, 60, 100, 200],
      registers: [registry],
    }),
    apiCalls: new Counter({
      name: 'clawgate_bitbucket_api_calls_total',
      help: 'Bitbucket API calls under /2.0/repositories/* by workspace and outcome (sent, refused_evaluation, refused_installation)',
      labelNames: ['workspace', 'outcome'],
      registers: [registry],
    }),
    apiRateLimited: new Counter({
      name: 'clawgate_bitbucket_api_429_total',
      help: 'Bitbucket 429 (rate limited) answers by workspace',
      labelNames: ['workspace'],
      registers: [registry],
    }),
    apiDeferrals: new Counter({
      name: 'clawgate_evaluation_deferrals_total',
      help: 'Evaluations deferred until the Bitbucket API budget returns, by workspace and cause (budget, rate_limited)',
      labelNames: ['workspace', 'cause'],
      registers: [registry],
    }),
  };
}
