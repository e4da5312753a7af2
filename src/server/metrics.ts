import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics (design §8), one registry per server instance so tests can run several. */
export interface ClawgateMetrics {
  registry: Registry;
  webhooks: Counter<'surface' | 'event' | 'outcome'>;
  evaluations: Counter<'state' | 'status'>;
  evaluationSeconds: Histogram;
  /** Bitbucket API calls under `/2.0/repositories/*` per installation's workspace: sent, refused by the budget, answered 429. */
  apiCalls: Counter<'workspace' | 'outcome'>;
  /** 429 answers from Bitbucket per workspace. */
  apiRateLimited: Counter<'workspace'>;
}

export function createMetrics(): ClawgateMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    webhooks: new Counter({ name: 'clawgate_webhooks_total', help: 'Webhook deliveries by surface, event and outcome', labelNames: ['surface', 'event', 'outcome'], registers: [registry] }),
    evaluations: new Counter({ name: 'clawgate_evaluations_total', help: 'Evaluations by verdict state and build status', labelNames: ['state', 'status'], registers: [registry] }),
    evaluationSeconds: new Histogram({ name: 'clawgate_evaluation_seconds', help: 'Time from job start to published verdict', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30], registers: [registry] }),
    apiCalls: new Counter({ name: 'clawgate_bitbucket_api_calls_total', help: 'Bitbucket API calls under /2.0/repositories/* by workspace and outcome (sent, refused_evaluation, refused_installation)', labelNames: ['workspace', 'outcome'], registers: [registry] }),
    apiRateLimited: new Counter({ name: 'clawgate_bitbucket_api_429_total', help: 'Bitbucket 429 (rate limited) answers by workspace', labelNames: ['workspace'], registers: [registry] }),
  };
}
