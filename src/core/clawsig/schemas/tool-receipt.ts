/**
 * Tool receipts: `poh/tool_receipt.v1.json`, `poh/tool_receipt.v2.json`,
 * `poh/tool_receipt_envelope.v1.json`, `poh/tool_receipt_envelope.v2.json`, and the `oneOf` of
 * all four that `proof_bundle.v1.json` applies to each `tool_receipts[]` item.
 *
 * v1 is loose where v2 is strict: v1 hashes need only be non-empty (no base64url pattern), v1
 * `agent_did`/`signer_did` need only be non-empty (no `did:` prefix), v1 allows only SHA-256, and
 * v1's `binding` is an open object whose five known keys must be strings.
 */
import { z } from 'zod';
import { coSignatureV1Schema } from './co-signature';
import { b64u, dateTime, didPrefixed, field, jsonArray, jsonNumber, nonEmpty, oneOf } from './keywords';
import { receiptBindingV1Schema } from './receipt-binding';
import { selectiveDisclosureV1Schema } from './selective-disclosure';
import { HASH_ALGORITHMS, minimalSignedEnvelopeV1, openReceiptBinding } from './signed-envelope';

export const TOOL_RESULT_STATUSES = ['success', 'error', 'timeout'] as const;

export const toolReceiptV1Schema = z.strictObject({
  receipt_version: z.literal('1'),
  receipt_id: nonEmpty(),
  tool_name: nonEmpty(),
  tool_version: z.string().optional(),
  args_hash_b64u: nonEmpty(),
  result_hash_b64u: nonEmpty(),
  result_status: z.enum(TOOL_RESULT_STATUSES).optional(),
  hash_algorithm: z.enum(['SHA-256']),
  agent_did: nonEmpty(),
  timestamp: dateTime(),
  latency_ms: jsonNumber({ minimum: 0 }),
  binding: openReceiptBinding().optional(),
});
export type ToolReceiptV1 = z.infer<typeof toolReceiptV1Schema>;

export const toolReceiptEnvelopeV1Schema = minimalSignedEnvelopeV1('tool_receipt', toolReceiptV1Schema);
export type ToolReceiptEnvelopeV1 = z.infer<typeof toolReceiptEnvelopeV1Schema>;

export const toolReceiptV2Schema = z.strictObject({
  receipt_version: z.literal('2'),
  receipt_id: nonEmpty(),
  tool_name: nonEmpty(),
  tool_version: z.string().optional(),
  args_hash_b64u: b64u(),
  result_hash_b64u: b64u(),
  result_status: z.enum(TOOL_RESULT_STATUSES).optional(),
  hash_algorithm: z.enum(HASH_ALGORITHMS),
  agent_did: didPrefixed(),
  timestamp: dateTime(),
  latency_ms: jsonNumber({ minimum: 0 }),
  binding: receiptBindingV1Schema.optional(),
  args_salt_b64u: b64u(),
  result_salt_b64u: b64u(),
  args_disclosure: selectiveDisclosureV1Schema.optional(),
  result_disclosure: selectiveDisclosureV1Schema.optional(),
});
export type ToolReceiptV2 = z.infer<typeof toolReceiptV2Schema>;

export const toolReceiptEnvelopeV2Schema = z.strictObject({
  envelope_version: z.literal('2'),
  envelope_type: z.literal('tool_receipt'),
  payload: toolReceiptV2Schema,
  payload_hash_b64u: b64u(),
  hash_algorithm: z.enum(HASH_ALGORITHMS),
  signature_b64u: b64u(),
  algorithm: z.enum(['Ed25519']),
  signer_did: didPrefixed(),
  issued_at: dateTime(),
  expires_at: dateTime().optional(),
  co_signatures: jsonArray(coSignatureV1Schema, { maxItems: 16 }).optional(),
});
export type ToolReceiptEnvelopeV2 = z.infer<typeof toolReceiptEnvelopeV2Schema>;

/**
 * `proof_bundle.v1#/properties/tool_receipts/items`: exactly one of the four forms. Each form
 * requires a version key with a constant value, so a form can only match when that key has it.
 */
export const proofBundleToolReceiptSchema = oneOf([
  { name: 'tool_receipt.v1', schema: toolReceiptV1Schema, admits: (v) => field(v, 'receipt_version') === '1' },
  {
    name: 'tool_receipt_envelope.v1',
    schema: toolReceiptEnvelopeV1Schema,
    admits: (v) => field(v, 'envelope_version') === '1',
  },
  { name: 'tool_receipt.v2', schema: toolReceiptV2Schema, admits: (v) => field(v, 'receipt_version') === '2' },
  {
    name: 'tool_receipt_envelope.v2',
    schema: toolReceiptEnvelopeV2Schema,
    admits: (v) => field(v, 'envelope_version') === '2',
  },
]);
export type ProofBundleToolReceipt = z.infer<typeof proofBundleToolReceiptSchema>;
