/**
 * The SignedEnvelope v1 fields shared by most `*_envelope.v1.json` schemas (proof bundle, gateway,
 * web, coverage, VIR, binary semantic evidence). Envelopes whose official schema deviates (tool,
 * side-effect and approval v1 envelopes, tool v2, WPC) spell their fields out in their own files.
 */
import { z } from 'zod';
import { b64u, dateTime, didPrefixed, nonEmpty } from './keywords';

export const HASH_ALGORITHMS = ['SHA-256', 'BLAKE3'] as const;

/** All fields except `payload`, `envelope_type` and `expires_at`, in the official property order. */
export function standardEnvelopeFields<const T extends string, P extends z.ZodType>(envelopeType: T, payload: P) {
  return {
    envelope_version: z.literal('1'),
    envelope_type: z.literal(envelopeType),
    payload,
    payload_hash_b64u: b64u(),
    hash_algorithm: z.enum(HASH_ALGORITHMS),
    signature_b64u: b64u(),
    algorithm: z.enum(['Ed25519']),
    signer_did: didPrefixed(),
    issued_at: dateTime(),
  };
}

/** Envelope with an optional `expires_at` (proof bundle, gateway, web, coverage). */
export function standardEnvelope<const T extends string, P extends z.ZodType>(envelopeType: T, payload: P) {
  return z.strictObject({ ...standardEnvelopeFields(envelopeType, payload), expires_at: dateTime().optional() });
}

/** Envelope without `expires_at` (VIR v1/v2, binary semantic evidence): the key is an unknown key there. */
export function standardEnvelopeWithoutExpiry<const T extends string, P extends z.ZodType>(
  envelopeType: T,
  payload: P,
) {
  return z.strictObject(standardEnvelopeFields(envelopeType, payload));
}

/**
 * The looser v1 envelope of the standalone tool, side-effect and human-approval receipt schemas:
 * SHA-256 only and plain non-empty strings where the standard envelope has patterns.
 */
export function minimalSignedEnvelopeV1<const T extends string, P extends z.ZodType>(envelopeType: T, payload: P) {
  return z.strictObject({
    envelope_version: z.literal('1'),
    envelope_type: z.literal(envelopeType),
    payload,
    payload_hash_b64u: nonEmpty(),
    hash_algorithm: z.enum(['SHA-256']),
    signature_b64u: nonEmpty(),
    algorithm: z.enum(['Ed25519']),
    signer_did: nonEmpty(),
    issued_at: dateTime(),
    expires_at: dateTime().optional(),
  });
}

/** The open `binding` of those receipts: any keys, the five known ones must be strings. */
export function openReceiptBinding<E extends z.ZodRawShape = Record<never, never>>(extra?: E) {
  return z.looseObject({
    run_id: z.string().optional(),
    event_hash_b64u: z.string().optional(),
    nonce: z.string().optional(),
    policy_hash: z.string().optional(),
    token_scope_hash_b64u: z.string().optional(),
    ...(extra ?? ({} as E)),
  });
}
