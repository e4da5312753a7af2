import type { ReasonCode } from '../reason-codes';
import { decodeB64u, isB64u } from './base64url';
import { isDidFormat, publicKeyFromDidKey } from './did-key';
import { verifyEd25519ForDid } from './ed25519';
import { stringifyHashB64u } from './hashing';
import { isJsonObject, type JsonObject } from './json';
import { parseTimestamp } from './rfc3339';

/** SignedEnvelope v1: these 9 keys plus an optional `expires_at`, nothing else. */
export const ENVELOPE_KEYS = [
  'envelope_version',
  'envelope_type',
  'payload',
  'payload_hash_b64u',
  'hash_algorithm',
  'signature_b64u',
  'algorithm',
  'signer_did',
  'issued_at',
] as const;

export const ENVELOPE_TYPE_ALLOWLIST: ReadonlySet<string> = new Set([
  'artifact_signature',
  'message_signature',
  'gateway_receipt',
  'web_receipt',
  'proof_bundle',
  'event_chain',
  'owner_attestation',
  'commit_proof',
  'execution_attestation',
  'derivation_attestation',
  'audit_result_attestation',
  'export_bundle',
  'aggregate_bundle',
  'compiled_evidence_report',
  'scoped_token',
  'policy_bundle',
]);

export const SIGNATURE_ALGORITHMS: ReadonlySet<string> = new Set(['Ed25519']);
/** BLAKE3 is on the allowlist (and in the schema) but not implemented: it fails at the hash check. */
export const HASH_ALGORITHMS: ReadonlySet<string> = new Set(['SHA-256', 'BLAKE3']);

export interface EnvelopeFailure {
  code: ReasonCode;
  path: string;
}

/** True when the value has the shape of an envelope at all (the `in` test on the 9 keys). */
export function hasAllEnvelopeKeys(value: unknown): value is JsonObject {
  return isJsonObject(value) && ENVELOPE_KEYS.every((key) => key in value);
}

/**
 * Steps 1–9 of the reference proof-bundle order (the envelope checks before the schema), shared by every envelope type.
 * `expectedType` is the type this verifier demands; `nowMs` is the verification time.
 */
export function checkEnvelopeStructure(
  value: unknown,
  expectedType: string,
  nowMs: number,
  skewMs = 0,
  options: { ignoreExpiry?: boolean } = {},
): EnvelopeFailure | null {
  if (!hasAllEnvelopeKeys(value)) return { code: 'MALFORMED_ENVELOPE', path: '' };
  if (value.envelope_version !== '1') return { code: 'UNKNOWN_ENVELOPE_VERSION', path: 'envelope_version' };
  if (
    typeof value.envelope_type !== 'string' ||
    !ENVELOPE_TYPE_ALLOWLIST.has(value.envelope_type) ||
    value.envelope_type !== expectedType
  ) {
    return { code: 'UNKNOWN_ENVELOPE_TYPE', path: 'envelope_type' };
  }
  if (typeof value.algorithm !== 'string' || !SIGNATURE_ALGORITHMS.has(value.algorithm))
    return { code: 'UNKNOWN_ALGORITHM', path: 'algorithm' };
  if (typeof value.hash_algorithm !== 'string' || !HASH_ALGORITHMS.has(value.hash_algorithm)) {
    return { code: 'UNKNOWN_HASH_ALGORITHM', path: 'hash_algorithm' };
  }
  if (!isDidFormat(value.signer_did)) return { code: 'INVALID_DID_FORMAT', path: 'signer_did' };
  if (parseTimestamp(value.issued_at) === null) return { code: 'MALFORMED_ENVELOPE', path: 'issued_at' };
  if (!options.ignoreExpiry && 'expires_at' in value && value.expires_at !== undefined) {
    const expires = parseTimestamp(value.expires_at);
    if (expires === null) return { code: 'MALFORMED_ENVELOPE', path: 'expires_at' };
    if (nowMs > expires + skewMs) return { code: 'EXPIRED_TTL', path: 'expires_at' };
  }
  if (!isB64u(value.payload_hash_b64u)) return { code: 'MALFORMED_ENVELOPE', path: 'payload_hash_b64u' };
  if (!isB64u(value.signature_b64u)) return { code: 'MALFORMED_ENVELOPE', path: 'signature_b64u' };
  return null;
}

/**
 * Answers true for an envelope whose `checkEnvelopeSignature` (default options) another thread is
 * computing at the same time over the very same value (src/verification splits a large bundle's
 * envelope checks across two workers, which parse the same text), so this thread takes it as passed.
 * Sound only because the caller throws its result away (and evaluates again, checking itself every
 * envelope the other thread did not find passing) unless that thread found every envelope taken
 * here passing.
 */
export type EnvelopeCheckDelegate = (envelope: JsonObject) => boolean;

let delegate: EnvelopeCheckDelegate | undefined;

/** Runs `run` (synchronous) with `checkEnvelopeSignature` asking `takenAsPassed` first. */
export function withEnvelopeChecksDelegated<T>(takenAsPassed: EnvelopeCheckDelegate, run: () => T): T {
  delegate = takenAsPassed;
  try {
    return run();
  } finally {
    delegate = undefined;
  }
}

/**
 * Steps 14–16: recompute the stringify-hash over the payload as received, extract the did:key, and
 * verify Ed25519 over the UTF-8 bytes of the hash string. `requireSignatureLength` applies the
 * tool-receipt rule (exactly 64 bytes); bundles and gateway receipts just fail verification.
 */
export function checkEnvelopeSignature(
  envelope: JsonObject,
  options: { requireSignatureLength?: boolean } = {},
): EnvelopeFailure | null {
  // Only the default check is ever delegated (the checker runs exactly that one); an option that
  // changes the outcome must be excluded here too.
  if (delegate !== undefined && options.requireSignatureLength !== true && delegate(envelope)) return null;
  if (envelope.hash_algorithm !== 'SHA-256') return { code: 'HASH_MISMATCH', path: 'hash_algorithm' };
  if (stringifyHashB64u(envelope.payload) !== envelope.payload_hash_b64u)
    return { code: 'HASH_MISMATCH', path: 'payload_hash_b64u' };
  const signerDid = envelope.signer_did;
  if (typeof signerDid !== 'string') return { code: 'INVALID_DID_FORMAT', path: 'signer_did' };
  const signature = typeof envelope.signature_b64u === 'string' ? decodeB64u(envelope.signature_b64u) : null;
  // Key extraction comes before the signature checks (step 15 before 16), whatever the signature holds.
  if (!signature || (options.requireSignatureLength && signature.length !== 64)) {
    return publicKeyFromDidKey(signerDid)
      ? { code: 'SIGNATURE_INVALID', path: 'signature_b64u' }
      : { code: 'INVALID_DID_FORMAT', path: 'signer_did' };
  }
  const verified = verifyEd25519ForDid(signerDid, String(envelope.payload_hash_b64u), signature);
  if (verified === null) return { code: 'INVALID_DID_FORMAT', path: 'signer_did' };
  if (!verified) return { code: 'SIGNATURE_INVALID', path: 'signature_b64u' };
  return null;
}
