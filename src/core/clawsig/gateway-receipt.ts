import type { ReasonCode } from '../reason-codes';
import { isB64u } from './base64url';
import { checkEnvelopeSignature, checkEnvelopeStructure, hasAllEnvelopeKeys } from './envelope';
import type { EventChainResult } from './event-chain';
import { isJsonObject, stringOrUndefined, type JsonObject } from './json';
import { gatewayReceiptStandaloneMetadataSchema, validateWith } from './schemas';

/** What the verifier learned about one gateway receipt; the pages and the profile read this. */
export interface GatewayReceiptFacts {
  index: number;
  receiptId?: string;
  signerDid?: string;
  gatewayId?: string;
  provider?: string;
  model?: string;
  tokensInput?: number;
  tokensOutput?: number;
  latencyMs?: number;
  timestamp?: string;
  issuedAt?: string;
  binding?: {
    runId?: string;
    eventHash?: string;
    nonce?: string;
    policyHash?: string;
    tokenScopeHash?: string;
    spanId?: string;
  };
  /** Steps 1–15 held: well-formed, allowlisted signer, hash and signature valid. */
  signatureValid: boolean;
  /** Signed by a gateway on the allowlist. */
  trusted: boolean;
  /** Bound to this bundle's run and event chain. */
  bound: boolean;
  /** Why it does not count, when it does not. */
  code?: ReasonCode;
  /** Whether the protocol's strict layer considers it (has a non-empty binding.event_hash_b64u). */
  claimsBinding: boolean;
}

const MAX_TOKENS = 10_000_000;
const MAX_LATENCY_MS = 3_600_000;

function isIntegerIn(value: unknown, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max;
}

function readFacts(index: number, receipt: unknown): GatewayReceiptFacts {
  const envelope = isJsonObject(receipt) ? receipt : {};
  const payload: JsonObject = isJsonObject(envelope.payload) ? envelope.payload : {};
  const binding = isJsonObject(payload.binding) ? payload.binding : undefined;
  const eventHash = binding ? stringOrUndefined(binding.event_hash_b64u) : undefined;
  return {
    index,
    receiptId: stringOrUndefined(payload.receipt_id),
    signerDid: stringOrUndefined(envelope.signer_did),
    gatewayId: stringOrUndefined(payload.gateway_id),
    provider: stringOrUndefined(payload.provider),
    model: stringOrUndefined(payload.model),
    tokensInput: typeof payload.tokens_input === 'number' ? payload.tokens_input : undefined,
    tokensOutput: typeof payload.tokens_output === 'number' ? payload.tokens_output : undefined,
    latencyMs: typeof payload.latency_ms === 'number' ? payload.latency_ms : undefined,
    timestamp: stringOrUndefined(payload.timestamp),
    issuedAt: stringOrUndefined(envelope.issued_at),
    binding: binding && {
      runId: stringOrUndefined(binding.run_id),
      eventHash,
      nonce: stringOrUndefined(binding.nonce),
      policyHash: stringOrUndefined(binding.policy_hash),
      tokenScopeHash: stringOrUndefined(binding.token_scope_hash_b64u),
      spanId: stringOrUndefined(binding.span_id) ?? stringOrUndefined(binding.spanId),
    },
    signatureValid: false,
    trusted: false,
    bound: false,
    claimsBinding:
      envelope.envelope_type === 'gateway_receipt' && typeof eventHash === 'string' && eventHash.length > 0,
  };
}

/**
 * Per-receipt verification (the reference's `verify-receipt.ts` order). A failure never fails the
 * bundle here: it only marks the receipt as not counted, with the reason.
 * Step 6 holds the receipt to the standalone `gateway_receipt_envelope.v1` schema, which
 * knows more metadata than the bundle's inline copy (x402_*, log_inclusion_proof, kinematic
 * fingerprint, sentinel report): a receipt whose metadata breaks it is not counted.
 */
export function verifyGatewayReceipt(
  index: number,
  receipt: unknown,
  chain: EventChainResult,
  trustedGatewayDids: ReadonlySet<string>,
  nowMs: number,
): GatewayReceiptFacts {
  const facts = readFacts(index, receipt);
  const notCounted = (code: ReasonCode): GatewayReceiptFacts => ({ ...facts, code });
  if (!hasAllEnvelopeKeys(receipt)) return notCounted('MALFORMED_ENVELOPE');
  // Gateway receipts' expires_at is ignored by the reference verifier.
  const structure = checkEnvelopeStructure(receipt, 'gateway_receipt', nowMs, 0, { ignoreExpiry: true });
  if (structure) return notCounted(structure.code);
  // The bundle schema already validated the receipt with its inline copy, which differs from the
  // standalone schema only in `metadata`: checking that alone is the same verdict, at a fraction of the cost.
  const metadata = isJsonObject(receipt.payload) ? receipt.payload.metadata : undefined;
  if (metadata !== undefined && !validateWith(gatewayReceiptStandaloneMetadataSchema, metadata).ok)
    return notCounted('SCHEMA_VALIDATION_FAILED');
  if (trustedGatewayDids.size === 0) return notCounted('DEPENDENCY_NOT_CONFIGURED');
  const trusted = typeof receipt.signer_did === 'string' && trustedGatewayDids.has(receipt.signer_did);
  if (!trusted) return notCounted('CLAIM_NOT_FOUND');
  const payload = receipt.payload;
  if (
    !isJsonObject(payload) ||
    !isIntegerIn(payload.tokens_input, MAX_TOKENS) ||
    !isIntegerIn(payload.tokens_output, MAX_TOKENS) ||
    !isIntegerIn(payload.latency_ms, MAX_LATENCY_MS)
  ) {
    return { ...facts, trusted, code: 'MALFORMED_ENVELOPE' };
  }
  const signature = checkEnvelopeSignature(receipt);
  if (signature) return { ...facts, trusted, code: signature.code };
  const signed = { ...facts, trusted, signatureValid: true };
  if (!chain.valid) return { ...signed, code: 'RECEIPT_BINDING_MISMATCH' };
  const binding = facts.binding;
  if (!binding) return { ...signed, code: 'RECEIPT_BINDING_MISMATCH' };
  if (binding.runId !== chain.runId) return { ...signed, code: 'RECEIPT_BINDING_MISMATCH' };
  if (!isB64u(binding.eventHash, 8) || !chain.eventHashes.has(binding.eventHash))
    return { ...signed, code: 'RECEIPT_BINDING_MISMATCH' };
  return { ...signed, bound: true };
}
