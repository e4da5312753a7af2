/**
 * Side-effect receipts. Two official shapes that disagree:
 * - `poh/side_effect_receipt.v1.json` (+ envelope), draft-07, strict, with `*_hash_b64u` digests and
 *   a required `latency_ms`;
 * - the inline item of `proof_bundle.v1#/properties/side_effect_receipts`, loose (extra keys
 *   allowed), with optional `*_digest` strings. This is what a bundle is validated against.
 */
import { z } from 'zod';
import { anyObject, dateTime, didPrefixed, jsonNumber, nonEmpty } from './keywords';
import { HASH_ALGORITHMS, minimalSignedEnvelopeV1, openReceiptBinding } from './signed-envelope';

export const SIDE_EFFECT_CLASSES = ['network_egress', 'filesystem_write', 'external_api_write'] as const;

export const sideEffectReceiptV1Schema = z.strictObject({
  receipt_version: z.literal('1'),
  receipt_id: nonEmpty(),
  effect_class: z.enum(SIDE_EFFECT_CLASSES),
  target_hash_b64u: nonEmpty(),
  vendor_id: z.string().optional(),
  request_hash_b64u: nonEmpty(),
  response_hash_b64u: nonEmpty(),
  response_status: z.enum(['success', 'error', 'timeout', 'denied']).optional(),
  hash_algorithm: z.enum(['SHA-256']),
  agent_did: nonEmpty(),
  timestamp: dateTime(),
  latency_ms: jsonNumber({ minimum: 0 }),
  bytes_written: jsonNumber({ minimum: 0 }).optional(),
  binding: openReceiptBinding({ capability_id: z.string().optional() }).optional(),
});
export type SideEffectReceiptV1 = z.infer<typeof sideEffectReceiptV1Schema>;

export const sideEffectReceiptEnvelopeV1Schema = minimalSignedEnvelopeV1(
  'side_effect_receipt',
  sideEffectReceiptV1Schema,
);
export type SideEffectReceiptEnvelopeV1 = z.infer<typeof sideEffectReceiptEnvelopeV1Schema>;

/** `proof_bundle.v1#/properties/side_effect_receipts/items` (unsigned, loose). */
export const proofBundleSideEffectReceiptSchema = z.looseObject({
  receipt_version: z.literal('1'),
  receipt_id: nonEmpty(),
  effect_class: z.enum(SIDE_EFFECT_CLASSES),
  target_digest: z.string().optional(),
  request_digest: z.string().optional(),
  response_digest: z.string().optional(),
  hash_algorithm: z.enum(HASH_ALGORITHMS),
  vendor_id: z.string().optional(),
  bytes_written: jsonNumber({ minimum: 0 }).optional(),
  agent_did: didPrefixed(),
  timestamp: dateTime(),
  binding: anyObject().optional(),
});
export type ProofBundleSideEffectReceipt = z.infer<typeof proofBundleSideEffectReceiptSchema>;
