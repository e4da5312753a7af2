/** `poh/event_chain.v1.json`, and the event item shape that `proof_bundle.v1.json` repeats inline. */
import { z } from 'zod';
import { anyObject, b64u, dateTime, jsonArray, nonEmpty } from './keywords';

/** One hash-chained event (`event_chain.v1#/properties/events/items`, identical to the bundle's inline items). */
export const eventChainEventSchema = z.strictObject({
  event_id: nonEmpty(),
  run_id: nonEmpty(),
  event_type: nonEmpty(),
  timestamp: dateTime(),
  payload_hash_b64u: b64u(),
  // `type: ["string","null"]`: null on the first event; an empty string fails minLength.
  prev_hash_b64u: b64u().nullable(),
  event_hash_b64u: b64u(),
});
export type EventChainEvent = z.infer<typeof eventChainEventSchema>;

export const eventChainV1Schema = z.strictObject({
  chain_version: z.literal('1'),
  chain_id: nonEmpty(),
  run_id: nonEmpty(),
  events: jsonArray(eventChainEventSchema, { minItems: 1 }),
  metadata: anyObject().optional(),
});
export type EventChainV1 = z.infer<typeof eventChainV1Schema>;
