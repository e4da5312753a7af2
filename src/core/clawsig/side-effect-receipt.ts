import type { ReasonCode } from '../reason-codes';
import { anchorSpanOf } from './causal-bindings';
import { isJsonObject, stringOrUndefined } from './json';

export type AnchoredReceiptKind = 'side_effect' | 'human_approval';

export interface AnchoredReceiptFacts {
  index: number;
  kind: AnchoredReceiptKind;
  receiptId?: string;
  /** effect_class for side effects, approval_type for approvals. */
  category?: string;
  timestamp?: string;
  /** target_hash_b64u or target_digest (the bundle schema and the standalone schema name it differently). */
  target?: string;
  approverSubject?: string;
  anchorSpanId?: string;
}

const EFFECT_CLASSES: ReadonlySet<string> = new Set(['network_egress', 'filesystem_write', 'external_api_write']);
const APPROVAL_TYPES: ReadonlySet<string> = new Set([
  'explicit_approve',
  'explicit_deny',
  'auto_approve',
  'timeout_deny',
]);

/**
 * Side-effect and human-approval receipts: unsigned payloads inside the bundle.
 * Post-schema checks in order. Causal anchoring to a gateway span runs later, after the causal graph
 * checks (`checkAnchoring` in causal-bindings.ts), as in the reference.
 */
export function verifyAnchoredReceipt(
  kind: AnchoredReceiptKind,
  index: number,
  entry: unknown,
  agentDid: string,
): { facts: AnchoredReceiptFacts; failure?: { code: ReasonCode; path: string } } {
  const field = kind === 'side_effect' ? 'side_effect_receipts' : 'human_approval_receipts';
  const path = `payload.${field}[${index}]`;
  const receipt = isJsonObject(entry) ? entry : {};
  const anchor = anchorSpanOf(receipt.binding);
  const facts: AnchoredReceiptFacts = {
    index,
    kind,
    receiptId: stringOrUndefined(receipt.receipt_id),
    category: stringOrUndefined(kind === 'side_effect' ? receipt.effect_class : receipt.approval_type),
    timestamp: stringOrUndefined(receipt.timestamp),
    target: stringOrUndefined(receipt.target_hash_b64u) ?? stringOrUndefined(receipt.target_digest),
    approverSubject: stringOrUndefined(receipt.approver_subject),
    anchorSpanId: anchor,
  };
  const fail = (code: ReasonCode, at: string) => ({ facts, failure: { code, path: `${path}.${at}` } });
  if (receipt.receipt_version !== '1') return fail('UNKNOWN_VERSION', 'receipt_version');
  if (kind === 'side_effect' && receipt.hash_algorithm !== 'SHA-256')
    return fail('UNKNOWN_HASH_ALGORITHM', 'hash_algorithm');
  const category = kind === 'side_effect' ? receipt.effect_class : receipt.approval_type;
  const allowed = kind === 'side_effect' ? EFFECT_CLASSES : APPROVAL_TYPES;
  if (typeof category !== 'string' || !allowed.has(category))
    return fail('SCHEMA_VALIDATION_FAILED', kind === 'side_effect' ? 'effect_class' : 'approval_type');
  if (receipt.agent_did !== agentDid) return fail('PROOF_BUNDLE_AGENT_MISMATCH', 'agent_did');
  return { facts };
}
