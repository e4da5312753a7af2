import { isB64u } from './base64url';
import type { GatewayReceiptFacts } from './gateway-receipt';
import { isJsonObject, type JsonObject } from './json';

/**
 * x402 payment ↔ execution binding (the reference service's `x402-binding.ts`, its x402 conformance
 * suite; the receipt metadata may carry `x402_*`): a gateway receipt whose metadata claims an x402 payment must carry the
 * whole payment record, a well-formed payment-authorization hash, and a binding to this run, and
 * must itself verify and be bound; no payment authorization may be claimed twice in one bundle.
 * A failure fails the bundle with `EVIDENCE_MISMATCH` and one of these detail codes.
 */
export type X402ReasonCode =
  | 'X402_NOT_CLAIMED'
  | 'X402_BOUND'
  | 'X402_METADATA_PARTIAL'
  | 'X402_PAYMENT_AUTH_HASH_INVALID'
  | 'X402_BINDING_MISSING'
  | 'X402_BINDING_RUN_ID_MISSING'
  | 'X402_BINDING_EVENT_HASH_MISSING'
  | 'X402_BINDING_EVENT_HASH_INVALID'
  | 'X402_EXECUTION_BINDING_MISMATCH'
  | 'X402_PAYMENT_AUTH_REPLAY';

const X402_KEYS = [
  'x402_payment_ref',
  'x402_amount_minor',
  'x402_currency',
  'x402_network',
  'x402_payment_auth_hash_b64u',
] as const;

export interface X402Outcome {
  /** How many receipts claim an x402 payment. */
  claimed: number;
  reasonCode: X402ReasonCode;
  /** The receipt the failure is about. */
  receiptIndex?: number;
}

const trimmed = (value: unknown): string => (typeof value === 'string' ? value.trim() : '');

/** The metadata/binding rules for one claiming receipt, in the reference's order. */
function claimCode(payload: JsonObject, metadata: JsonObject): X402ReasonCode {
  if (trimmed(metadata.x402_payment_ref).length === 0) return 'X402_METADATA_PARTIAL';
  const amount = metadata.x402_amount_minor;
  if (typeof amount !== 'number' || !Number.isInteger(amount) || amount < 0) return 'X402_METADATA_PARTIAL';
  if (trimmed(metadata.x402_currency).length === 0) return 'X402_METADATA_PARTIAL';
  if (trimmed(metadata.x402_network).length === 0) return 'X402_METADATA_PARTIAL';
  if (!isB64u(trimmed(metadata.x402_payment_auth_hash_b64u), 8)) return 'X402_PAYMENT_AUTH_HASH_INVALID';
  const binding = payload.binding;
  if (!isJsonObject(binding)) return 'X402_BINDING_MISSING';
  if (trimmed(binding.run_id).length === 0) return 'X402_BINDING_RUN_ID_MISSING';
  const eventHash = trimmed(binding.event_hash_b64u);
  if (eventHash.length === 0) return 'X402_BINDING_EVENT_HASH_MISSING';
  if (!isB64u(eventHash, 8)) return 'X402_BINDING_EVENT_HASH_INVALID';
  return 'X402_BOUND';
}

/** Evaluates every gateway receipt's x402 claim; `facts[i]` is the verifier's outcome for `receipts[i]`. */
export function checkX402Bindings(receipts: readonly unknown[], facts: readonly GatewayReceiptFacts[]): X402Outcome {
  const claims: { index: number; code: X402ReasonCode; authHash: string }[] = [];
  for (let i = 0; i < receipts.length; i++) {
    const receipt = receipts[i];
    const payload = isJsonObject(receipt) && isJsonObject(receipt.payload) ? receipt.payload : undefined;
    const metadata = payload && isJsonObject(payload.metadata) ? payload.metadata : undefined;
    if (!payload || !metadata || !X402_KEYS.some((key) => metadata[key] !== undefined)) continue;
    let code = claimCode(payload, metadata);
    const fact = facts[i];
    // A complete claim still counts only on a receipt that verifies and is bound to this run.
    if (code === 'X402_BOUND' && !(fact?.signatureValid && fact.trusted && fact.bound))
      code = 'X402_EXECUTION_BINDING_MISMATCH';
    claims.push({ index: i, code, authHash: trimmed(metadata.x402_payment_auth_hash_b64u) });
  }
  if (claims.length === 0) return { claimed: 0, reasonCode: 'X402_NOT_CLAIMED' };
  const seen = new Set<string>();
  for (const claim of claims) {
    if (claim.authHash.length === 0) continue;
    if (seen.has(claim.authHash))
      return { claimed: claims.length, reasonCode: 'X402_PAYMENT_AUTH_REPLAY', receiptIndex: claim.index };
    seen.add(claim.authHash);
  }
  const failed = claims.find((claim) => claim.code !== 'X402_BOUND');
  return failed
    ? { claimed: claims.length, reasonCode: failed.code, receiptIndex: failed.index }
    : { claimed: claims.length, reasonCode: 'X402_BOUND' };
}
