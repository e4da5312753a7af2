/**
 * Human-approval receipts. Two official shapes that disagree:
 * - `poh/human_approval_receipt.v1.json` (+ envelope), draft-07, strict, requiring
 *   `approver_subject`, `scope_hash_b64u` and `hash_algorithm`;
 * - the inline item of `proof_bundle.v1#/properties/human_approval_receipts`, loose, requiring
 *   only version, id, type, agent and timestamp. This is what a bundle is validated against.
 */
import { z } from 'zod';
import { anyObject, dateTime, didPrefixed, jsonArray, jsonNumber, jsonString, nonEmpty } from './keywords';
import { minimalSignedEnvelopeV1, openReceiptBinding } from './signed-envelope';

export const APPROVAL_TYPES = ['explicit_approve', 'explicit_deny', 'auto_approve', 'timeout_deny'] as const;

export const humanApprovalReceiptV1Schema = z.strictObject({
  receipt_version: z.literal('1'),
  receipt_id: nonEmpty(),
  approval_type: z.enum(APPROVAL_TYPES),
  approver_subject: nonEmpty(),
  approver_method: z.enum(['ui_click', 'cli_confirm', 'api_call', 'policy_auto', 'timeout']).optional(),
  agent_did: nonEmpty(),
  scope_hash_b64u: nonEmpty(),
  scope_summary: jsonString({ maxLength: 1024 }).optional(),
  policy_hash_b64u: z.string().optional(),
  minted_capability_id: z.string().optional(),
  minted_capability_ttl_seconds: jsonNumber({ minimum: 0 }).optional(),
  plan_hash_b64u: z.string().optional(),
  evidence_required: jsonArray(z.string()).optional(),
  hash_algorithm: z.enum(['SHA-256']),
  timestamp: dateTime(),
  binding: openReceiptBinding().optional(),
});
export type HumanApprovalReceiptV1 = z.infer<typeof humanApprovalReceiptV1Schema>;

export const humanApprovalReceiptEnvelopeV1Schema = minimalSignedEnvelopeV1(
  'human_approval_receipt',
  humanApprovalReceiptV1Schema,
);
export type HumanApprovalReceiptEnvelopeV1 = z.infer<typeof humanApprovalReceiptEnvelopeV1Schema>;

/** `proof_bundle.v1#/properties/human_approval_receipts/items` (unsigned, loose). */
export const proofBundleHumanApprovalReceiptSchema = z.looseObject({
  receipt_version: z.literal('1'),
  receipt_id: nonEmpty(),
  approval_type: z.enum(APPROVAL_TYPES),
  scope_hash_b64u: z.string().optional(),
  plan_hash_b64u: z.string().optional(),
  approver_subject: z.string().optional(),
  capability_minted: z.boolean().optional(),
  policy_hash_b64u: z.string().optional(),
  agent_did: didPrefixed(),
  timestamp: dateTime(),
  binding: anyObject().optional(),
});
export type ProofBundleHumanApprovalReceipt = z.infer<typeof proofBundleHumanApprovalReceiptSchema>;
