/**
 * The webhook events clawgate subscribes to, on both surfaces: the Connect descriptor's `webhooks`
 * module and the repository webhooks created at registration. They are the events the engine reacts
 * to (docs/operations.md: PR lifecycle, approvals, comments, pushes, forged statuses; issue 4 §2–§4), so both
 * surfaces feed the pipeline the same deliveries.
 */
export const SUBSCRIBED_WEBHOOK_EVENTS = [
  'pullrequest:created',
  'pullrequest:updated',
  'pullrequest:approved',
  'pullrequest:unapproved',
  'pullrequest:fulfilled',
  'pullrequest:rejected',
  'pullrequest:comment_created',
  'repo:push',
  'repo:commit_status_created',
  'repo:commit_status_updated',
] as const;

export type SubscribedWebhookEvent = (typeof SUBSCRIBED_WEBHOOK_EVENTS)[number];
