import { z } from 'zod';
import { decodeB64u, isB64u } from '../core/clawsig/base64url';
import { publicKeyFromDidKey } from '../core/clawsig/did-key';
import { verifyEd25519 } from '../core/clawsig/ed25519';
import { isRfc3339DateTime } from '../core/clawsig/rfc3339';
import { parseBitbucketWpc } from '../core/policy';
import { ApiError, validationFailed } from '../http/http-error';
import { prefixFieldPath, zodIssuesToFields } from '../http/zod-fields';

/**
 * A signed WPC envelope (clawsig.md §5.1, `work_policy_contract_envelope.v1.json`) checked in the
 * reference verifier's order, against the workspace's `wpc_issuers`:
 * shape → payload is a valid Bitbucket WPC → `payload_hash_b64u` = JCS hash of the payload
 * (WPC_HASH_INVALID) → issuer_did, when given, is the signer (WPC_ISSUER_MISMATCH) → signer is a
 * configured WPC issuer (WPC_SIGNER_NOT_ALLOWED) → signer is an Ed25519 did:key
 * (WPC_SIGNER_DID_UNSUPPORTED) → Ed25519 signature over UTF-8 of the hash string
 * (WPC_SIGNATURE_INVALID). No `expires_at`: the schema has none and the store keeps the policy.
 */

export const WPC_ENVELOPE_TYPE = 'work_policy_contract';

const b64u8 = z.string().refine((value) => isB64u(value, 8), 'must be base64url, at least 8 characters');

const wpcEnvelopeSchema = z.strictObject({
  envelope_version: z.literal('1'),
  envelope_type: z.literal(WPC_ENVELOPE_TYPE),
  payload: z.record(z.string(), z.unknown()),
  payload_hash_b64u: b64u8,
  hash_algorithm: z.literal('SHA-256'),
  signature_b64u: b64u8,
  algorithm: z.literal('Ed25519'),
  signer_did: z.string().min(4).max(512).regex(/^did:/, 'must start with "did:"'),
  issued_at: z.string().refine((value) => isRfc3339DateTime(value), 'must be an RFC 3339 date-time'),
});

/** True when a policy upload is (or claims to be) an envelope rather than a bare WPC. */
export function looksLikeWpcEnvelope(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return 'envelope_type' in value || ('payload' in value && 'signature_b64u' in value);
}

export interface VerifiedWpcEnvelope {
  readonly policyHashB64u: string;
  readonly payload: Record<string, unknown>;
}

function refused(code: string, path: string, message: string): ApiError {
  return validationFailed([{ path, message }], message, code);
}

export function verifyWpcEnvelope(value: unknown, wpcIssuers: readonly string[]): VerifiedWpcEnvelope {
  const shape = wpcEnvelopeSchema.safeParse(value);
  if (!shape.success) throw validationFailed(zodIssuesToFields(shape.error.issues), 'the signed WPC envelope is malformed');
  const envelope = shape.data;
  const parsed = parseBitbucketWpc(envelope.payload);
  if (!parsed.ok) {
    throw validationFailed(
      parsed.issues.map((issue) => ({ path: prefixFieldPath('payload', issue.path), message: issue.message })),
      'the envelope payload is not a valid Bitbucket WPC',
      'INVALID_POLICY',
    );
  }
  if (envelope.payload_hash_b64u !== parsed.policyHashB64u) {
    throw refused('WPC_HASH_INVALID', 'payload_hash_b64u', 'payload_hash_b64u is not the JCS SHA-256 hash of the payload');
  }
  if (parsed.wpc.issuer_did !== undefined && parsed.wpc.issuer_did !== envelope.signer_did) {
    throw refused('WPC_ISSUER_MISMATCH', 'payload.issuer_did', 'payload.issuer_did is not the envelope signer');
  }
  if (!wpcIssuers.includes(envelope.signer_did)) {
    throw refused('WPC_SIGNER_NOT_ALLOWED', 'signer_did', 'the signer is not one of this workspace\'s wpc_issuers');
  }
  const publicKey = publicKeyFromDidKey(envelope.signer_did);
  if (publicKey === null) throw refused('WPC_SIGNER_DID_UNSUPPORTED', 'signer_did', 'the signer must be an Ed25519 did:key');
  const signature = decodeB64u(envelope.signature_b64u);
  if (signature === null || signature.length !== 64 || !verifyEd25519(publicKey, envelope.payload_hash_b64u, signature)) {
    throw refused('WPC_SIGNATURE_INVALID', 'signature_b64u', 'the signature does not verify with the signer key');
  }
  return { policyHashB64u: parsed.policyHashB64u, payload: envelope.payload };
}
