import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics (design §8), one registry per server instance so tests can run several. */
export interface ClawgateMetrics {
  registry: Registry;
  webhooks: Counter<'surface' | 'event' | 'outcome'>;
  evaluations: Counter<'state' | 'status'>;
  evaluationSeconds: Histogram;
  /** Database statements (round trips, BEGIN/COMMIT included) per evaluation job (issue 15, growth). */
  evaluationDbRoundTrips: Histogram;
}

export function createMetrics(): ClawgateMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    webhooks: new Counter({ name: 'clawgate_webhooks_total', help: 'Webhook deliveries by surface, event and outcome', labelNames: ['surface', 'event', 'outcome'], registers: [registry] }),
    evaluations: new Counter({ name: 'clawgate_evaluations_total', help: 'Evaluations by verdict state and build status', labelNames: ['state', 'status'], registers: [registry] }),
    evaluationSeconds: new Histogram({ name: 'clawgate_evaluation_seconds', help: 'Time from job start to published verdict', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30], registers: [registry] }),
    evaluationDbRoundTrips: new Histogram({ name: 'clawgate_evaluation_db_round_trips', help: 'Database statements sent by one evaluation job (transaction BEGIN/COMMIT included)', buckets: [5, 10, 20, 30, 40, 60, 100, 200], registers: [registry] }),
  };
}
