import { z } from 'zod';

/**
 * The headers Bitbucket sends with every webhook delivery, Connect or repository webhook
 * (X-Event-Key, X-Request-UUID, X-Attempt-Number): the event key, the delivery's id (what the intake dedupes on) and the attempt.
 */

export const DELIVERY_UUID = /^\{?[0-9a-fA-F-]{8,64}\}?$/;

export const deliveryHeadersSchema = z.object({
  'x-event-key': z
    .string()
    .max(64)
    .regex(/^[a-z_]+:[a-z_]+$/, 'must look like pullrequest:created'),
  'x-request-uuid': z.string().regex(DELIVERY_UUID, 'must be a UUID'),
  'x-attempt-number': z.string().regex(/^[1-9][0-9]?$/, 'must be an attempt number'),
});
