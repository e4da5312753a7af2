import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics (docs/operations.md), one registry per server instance so tests can run several. */
export interface ClawgateMetrics {
  registry: Registry;
  webhooks: Counter<'surface' | 'event' | 'outcome'>;
  evaluations: Counter<'state' | 'status'>;
  evaluationSeconds: Histogram;
}

export function createMetrics(): ClawgateMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    webhooks: new Counter({ name: 'clawgate_webhooks_total', help: 'Webhook deliveries by surface, event and outcome', labelNames: ['surface', 'event', 'outcome'], registers: [registry] }),
    evaluations: new Counter({ name: 'clawgate_evaluations_total', help: 'Evaluations by verdict state and build status', labelNames: ['state', 'status'], registers: [registry] }),
    evaluationSeconds: new Histogram({ name: 'clawgate_evaluation_seconds', help: 'Time from job start to published verdict', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30], registers: [registry] }),
  };
}
