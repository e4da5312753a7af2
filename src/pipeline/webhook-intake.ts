import type { Tenant } from '../store';

/**
 * What a surface hands the pipeline once it has authenticated a webhook (docs/architecture.md §2): the surface only
 * authenticates; the pipeline dedupes, enqueues and answers fast.
 */
export interface WebhookDelivery {
  surface: 'connect' | 'repo_webhooks' | 'forge';
  tenant: Tenant;
  /** X-Event-Key, e.g. `pullrequest:created`. */
  eventKey: string;
  /** X-Request-UUID (the delivery id; retries keep it). */
  deliveryId: string;
  attempt: number;
  /** The event's data: for Connect the `data` of `{event, data}`; for repository webhooks the body. */
  payload: unknown;
}

export interface WebhookIntakeResult {
  /** false for a delivery already seen (dedupe by delivery id). */
  accepted: boolean;
  duplicate: boolean;
  /** Jobs enqueued for this delivery. */
  jobs: number;
}

export interface WebhookIntake {
  receive(delivery: WebhookDelivery): Promise<WebhookIntakeResult>;
}
