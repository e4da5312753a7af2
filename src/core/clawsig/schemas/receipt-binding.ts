/** `poh/receipt_binding.v1.json`: ties a receipt to a run, an event and an idempotency scope. */
import { z } from 'zod';
import { b64u, jsonNumber, nonEmpty } from './keywords';

export const CAUSAL_PHASES = [
  'setup',
  'planning',
  'reasoning',
  'execution',
  'observation',
  'reflection',
  'teardown',
] as const;

export const receiptBindingV1Schema = z.strictObject({
  run_id: nonEmpty().optional(),
  event_hash_b64u: b64u().optional(),
  nonce: nonEmpty().optional(),
  policy_hash: nonEmpty().optional(),
  token_scope_hash_b64u: b64u().optional(),
  span_id: nonEmpty().optional(),
  spanId: nonEmpty().optional(),
  parent_span_id: nonEmpty().optional(),
  parentSpanId: nonEmpty().optional(),
  tool_span_id: nonEmpty().optional(),
  toolSpanId: nonEmpty().optional(),
  phase: z.enum(CAUSAL_PHASES).optional(),
  // The schema has no bounds: the [0, 1] range is a verifier rule, not a schema rule.
  attribution_confidence: jsonNumber().optional(),
  attributionConfidence: jsonNumber().optional(),
});
export type ReceiptBindingV1 = z.infer<typeof receiptBindingV1Schema>;
