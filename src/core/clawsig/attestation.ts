import { decodeB64u } from './base64url';
import { publicKeyFromDidKey } from './did-key';
import { verifyEd25519 } from './ed25519';
import { jcs } from './hashing';
import { isJsonObject } from './json';
import { parseTimestamp } from './rfc3339';

/**
 * Attestations (the reference core's rule): Ed25519 over JCS({...attestation, signature_b64u: ""}); counted only
 * when the signature holds, the attester is allowlisted, the subject is the agent and it has not
 * expired. Never fails a bundle; it only raises the tier.
 */
export function countValidAttestations(
  attestations: unknown,
  agentDid: string,
  trustedAttesters: ReadonlySet<string>,
  nowMs: number,
): number {
  if (!Array.isArray(attestations) || trustedAttesters.size === 0) return 0;
  let count = 0;
  for (const attestation of attestations) {
    if (!isJsonObject(attestation)) continue;
    if (typeof attestation.attester_did !== 'string' || !trustedAttesters.has(attestation.attester_did)) continue;
    if (attestation.subject_did !== agentDid) continue;
    if (attestation.expires_at !== undefined) {
      const expires = parseTimestamp(attestation.expires_at);
      if (expires === null || nowMs > expires) continue;
    }
    const key = publicKeyFromDidKey(attestation.attester_did);
    const signature = typeof attestation.signature_b64u === 'string' ? decodeB64u(attestation.signature_b64u) : null;
    if (!key || !signature) continue;
    let input: string;
    try {
      input = jcs({ ...attestation, signature_b64u: '' });
    } catch {
      continue;
    }
    if (verifyEd25519(key, input, signature)) count++;
  }
  return count;
}
