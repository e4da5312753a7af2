/**
 * The SignedEnvelope v1 fields shared by most `*_envelope.v1.json` schemas (proof bundle, gateway,
 * web, coverage, VIR, binary semantic evidence). Envelopes whose official schema deviates (tool,
 * side-effect and approval v1 envelopes, tool v2, WPC) spell their fields out in their own files.
 */
import { z } from 'zod';
import { b64u, dateTime, didPrefixed } from './keywords';

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
export function standardEnvelopeWithoutExpiry<const T extends string, P extends z.ZodType>(envelopeType: T, payload: P) {
  return z.strictObject(standardEnvelopeFields(envelopeType, payload));
}
