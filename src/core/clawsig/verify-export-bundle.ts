import type { ReasonCode } from '../reason-codes';
import { decodeB64u } from './base64url';
import { publicKeyFromDidKey } from './did-key';
import { verifyEd25519 } from './ed25519';
import { checkEnvelopeSignature, checkEnvelopeStructure } from './envelope';
import { jcsHashB64u } from './hashing';
import { isJsonObject, type JsonObject } from './json';
import { verifyProofBundle } from './verify-proof-bundle';

export interface ExportBundleResult {
  valid: boolean;
  reasonCode: ReasonCode;
  failurePath?: string;
  exportId?: string;
  issuerDid?: string;
  /** What was checked (so a reader knows what was not). */
  verified: { manifestEntries: number; derivationAttestations: number; proofBundle: boolean };
}

const SEALED_FIELDS = new Set(['bundle_hash_b64u', 'hash_algorithm', 'signature_b64u', 'algorithm']);

/** `artifacts/<name>.json` or `artifacts/<name>/<index>.json` → the artifact it names. */
function artifactAt(artifacts: JsonObject, path: string): unknown {
  const match = /^artifacts\/([A-Za-z0-9_]+)(?:\/(\d{1,4}))?\.json$/.exec(path);
  if (!match?.[1] || !Object.prototype.hasOwnProperty.call(artifacts, match[1])) return undefined;
  const value = artifacts[match[1]];
  if (match[2] === undefined) return value;
  return Array.isArray(value) ? value[Number(match[2])] : undefined;
}

/** True when the value looks like an export bundle (`export_version` + `manifest` + `artifacts`). */
export function looksLikeExportBundle(value: unknown): boolean {
  return isJsonObject(value) && 'export_version' in value && 'manifest' in value && 'artifacts' in value;
}

/**
 * Export bundles (the reference's two export_bundle conformance vectors): every manifest entry's `sha256_b64u` is
 * b64u(SHA-256(JCS(artifact))); `bundle_hash_b64u` is b64u(SHA-256(JCS(the bundle without
 * bundle_hash_b64u, hash_algorithm, signature_b64u, algorithm))) — derived from the golden vector;
 * the issuer signs the UTF-8 hash string with Ed25519; the nested proof bundle verifies under the
 * protocol profile; derivation attestations are SignedEnvelopes from an allowlisted signer.
 * Not verified: the transparency-log inclusion proofs inside derivation attestations.
 */
export function verifyExportBundle(
  input: unknown,
  options: { nowMs: number; trustedGatewayDids: readonly string[]; derivationSignerDids: readonly string[] },
): ExportBundleResult {
  const verified = { manifestEntries: 0, derivationAttestations: 0, proofBundle: false };
  const fail = (reasonCode: ReasonCode, failurePath: string): ExportBundleResult => ({
    valid: false,
    reasonCode,
    failurePath,
    verified,
  });
  if (!isJsonObject(input)) return fail('MALFORMED_ENVELOPE', '');
  if (input.export_version !== '1') return fail('UNKNOWN_VERSION', 'export_version');
  const manifest = input.manifest;
  const artifacts = input.artifacts;
  if (!isJsonObject(manifest) || !Array.isArray(manifest.entries) || !isJsonObject(artifacts))
    return fail('MALFORMED_ENVELOPE', 'manifest');
  if (input.hash_algorithm !== 'SHA-256') return fail('UNKNOWN_HASH_ALGORITHM', 'hash_algorithm');
  if (input.algorithm !== 'Ed25519') return fail('UNKNOWN_ALGORITHM', 'algorithm');
  if (typeof input.issuer_did !== 'string') return fail('INVALID_DID_FORMAT', 'issuer_did');

  for (let i = 0; i < manifest.entries.length; i++) {
    const entry: unknown = manifest.entries[i];
    if (!isJsonObject(entry) || typeof entry.path !== 'string' || typeof entry.sha256_b64u !== 'string')
      return fail('MALFORMED_ENVELOPE', `manifest.entries[${i}]`);
    const artifact = artifactAt(artifacts, entry.path);
    if (artifact === undefined) return fail('MALFORMED_ENVELOPE', `manifest.entries[${i}].path`);
    if (jcsHashB64u(artifact) !== entry.sha256_b64u) return fail('HASH_MISMATCH', `manifest.entries[${i}].sha256_b64u`);
    verified.manifestEntries++;
  }

  const sealed: JsonObject = {};
  for (const [key, value] of Object.entries(input)) if (!SEALED_FIELDS.has(key)) sealed[key] = value;
  const bundleHash = jcsHashB64u(sealed);
  if (bundleHash !== input.bundle_hash_b64u) return fail('HASH_MISMATCH', 'bundle_hash_b64u');
  const key = publicKeyFromDidKey(input.issuer_did);
  if (!key) return fail('INVALID_DID_FORMAT', 'issuer_did');
  const signature = typeof input.signature_b64u === 'string' ? decodeB64u(input.signature_b64u) : null;
  if (!signature || !verifyEd25519(key, bundleHash, signature)) return fail('SIGNATURE_INVALID', 'signature_b64u');

  if (artifacts.proof_bundle_envelope !== undefined) {
    const proof = verifyProofBundle(artifacts.proof_bundle_envelope, {
      nowMs: options.nowMs,
      trustedGatewayDids: options.trustedGatewayDids,
      strict: true,
    });
    if (!proof.valid)
      return fail(
        proof.reasonCode,
        `artifacts.proof_bundle_envelope${proof.failurePath ? `.${proof.failurePath}` : ''}`,
      );
    verified.proofBundle = true;
  }
  const derivations = Array.isArray(artifacts.derivation_attestation_envelopes)
    ? artifacts.derivation_attestation_envelopes
    : [];
  const allowed = new Set(options.derivationSignerDids);
  for (let i = 0; i < derivations.length; i++) {
    const envelope: unknown = derivations[i];
    const at = `artifacts.derivation_attestation_envelopes[${i}]`;
    const structure = checkEnvelopeStructure(envelope, 'derivation_attestation', options.nowMs);
    if (structure || !isJsonObject(envelope))
      return fail(structure?.code ?? 'MALFORMED_ENVELOPE', `${at}.${structure?.path ?? ''}`);
    if (typeof envelope.signer_did !== 'string' || !allowed.has(envelope.signer_did))
      return fail('CLAIM_NOT_FOUND', `${at}.signer_did`);
    const signed = checkEnvelopeSignature(envelope);
    if (signed) return fail(signed.code, `${at}.${signed.path}`);
    verified.derivationAttestations++;
  }
  return {
    valid: true,
    reasonCode: 'OK',
    exportId: typeof input.export_id === 'string' ? input.export_id : undefined,
    issuerDid: input.issuer_did,
    verified,
  };
}
