import type { ReasonCode } from '../reason-codes';
import { decodeB64u, isB64u } from './base64url';
import { verifyEd25519ForDid } from './ed25519';
import type { EventChainResult } from './event-chain';
import { stringifyHashB64u } from './hashing';
import { isJsonObject, stringOrUndefined, type JsonObject } from './json';
import { parseTimestamp } from './rfc3339';
import { checkDisclosure } from './selective-disclosure';

export interface ToolReceiptFacts {
  index: number;
  receiptId?: string;
  toolName?: string;
  version: '1' | '2' | 'unknown';
  signed: boolean;
  signerDid?: string;
  coSigners: { did: string; role: string }[];
  timestamp?: string;
  latencyMs?: number;
  spanId?: string;
}

export interface ToolReceiptOutcome {
  facts: ToolReceiptFacts;
  failure?: { code: ReasonCode; path: string };
}

/**
 * Tool receipts, as the reference core checks them. The bundle schema has already accepted the entry as one of: v2 envelope, v1
 * envelope, v2 payload, v1 payload; an envelope is recognised by its `payload` + `signature_b64u`.
 */
export function verifyToolReceipt(
  index: number,
  entry: unknown,
  agentDid: string,
  chain: EventChainResult,
  nowMs: number,
): ToolReceiptOutcome {
  const base = `payload.tool_receipts[${index}]`;
  const isEnvelope = isJsonObject(entry) && isJsonObject(entry.payload) && 'signature_b64u' in entry;
  const envelope: JsonObject | undefined = isEnvelope && isJsonObject(entry) ? entry : undefined;
  const payload: JsonObject =
    envelope && isJsonObject(envelope.payload) ? envelope.payload : isJsonObject(entry) ? entry : {};
  const payloadPath = envelope ? `${base}.payload` : base;
  const version = payload.receipt_version === '2' ? '2' : payload.receipt_version === '1' ? '1' : 'unknown';
  const binding = isJsonObject(payload.binding) ? payload.binding : undefined;
  const coSignatures =
    envelope && Array.isArray(envelope.co_signatures) ? envelope.co_signatures.filter(isJsonObject) : [];
  const facts: ToolReceiptFacts = {
    index,
    receiptId: stringOrUndefined(payload.receipt_id),
    toolName: stringOrUndefined(payload.tool_name),
    version,
    signed: envelope !== undefined,
    signerDid: envelope ? stringOrUndefined(envelope.signer_did) : undefined,
    coSigners: coSignatures.map((c) => ({ did: String(c.signer_did), role: String(c.role) })),
    timestamp: stringOrUndefined(payload.timestamp),
    latencyMs: typeof payload.latency_ms === 'number' ? payload.latency_ms : undefined,
    spanId: binding ? (stringOrUndefined(binding.span_id) ?? stringOrUndefined(binding.tool_span_id)) : undefined,
  };
  const fail = (code: ReasonCode, path: string): ToolReceiptOutcome => ({ facts, failure: { code, path } });

  if (version === 'unknown')
    return fail(
      payload.receipt_version === undefined ? 'SCHEMA_VALIDATION_FAILED' : 'UNKNOWN_VERSION',
      `${payloadPath}.receipt_version`,
    );
  if (payload.agent_did !== agentDid) return fail('PROOF_BUNDLE_AGENT_MISMATCH', `${payloadPath}.agent_did`);

  if (binding && chain.valid) {
    if (typeof binding.run_id === 'string' && binding.run_id.length > 0 && binding.run_id !== chain.runId) {
      return fail('RECEIPT_BINDING_MISMATCH', `${payloadPath}.binding.run_id`);
    }
    if (binding.event_hash_b64u !== undefined) {
      if (!isB64u(binding.event_hash_b64u))
        return fail('SCHEMA_VALIDATION_FAILED', `${payloadPath}.binding.event_hash_b64u`);
      if (!chain.eventHashes.has(binding.event_hash_b64u))
        return fail('RECEIPT_BINDING_MISMATCH', `${payloadPath}.binding.event_hash_b64u`);
    }
  }

  if (envelope) {
    if (envelope.expires_at !== undefined) {
      const expires = parseTimestamp(envelope.expires_at);
      if (expires === null || nowMs > expires) return fail('EXPIRED_TTL', `${base}.expires_at`);
    }
    if (envelope.hash_algorithm !== 'SHA-256') return fail('UNKNOWN_HASH_ALGORITHM', `${base}.hash_algorithm`);
    const hash = envelope.payload_hash_b64u;
    if (stringifyHashB64u(envelope.payload) !== hash || typeof hash !== 'string')
      return fail('HASH_MISMATCH', `${base}.payload_hash_b64u`);
    if (!verifySignatureOver(hash, envelope.signer_did, envelope.signature_b64u))
      return fail('SIGNATURE_INVALID', `${base}.signature_b64u`);
    if (version === '2') {
      for (let i = 0; i < coSignatures.length; i++) {
        const co = coSignatures[i];
        if (!co || co.algorithm !== 'Ed25519' || !verifySignatureOver(hash, co.signer_did, co.signature_b64u)) {
          return fail('CO_SIGNATURE_INVALID', `${base}.co_signatures[${i}]`);
        }
      }
    }
  }

  if (version === '2') {
    for (const [field, committed] of [
      ['args_disclosure', payload.args_hash_b64u],
      ['result_disclosure', payload.result_hash_b64u],
    ] as const) {
      if (payload[field] === undefined) continue;
      const code = checkDisclosure(payload[field], committed);
      if (code) return fail(code, `${payloadPath}.${field}`);
    }
  }
  return { facts };
}

/** Ed25519 over the UTF-8 hash string with an exactly-64-byte signature (tool receipts, co-signatures). */
function verifySignatureOver(hash: string, signerDid: unknown, signatureB64u: unknown): boolean {
  if (typeof signerDid !== 'string' || typeof signatureB64u !== 'string') return false;
  const signature = decodeB64u(signatureB64u);
  return signature !== null && signature.length === 64 && verifyEd25519ForDid(signerDid, hash, signature) === true;
}
