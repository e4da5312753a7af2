import { createHash, hash as oneShotHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/**
 * Two hash rules coexist in Clawsig (docs/clawsig-profile.md):
 * - "stringify-hash" for envelopes, events and receipts: SHA-256 over ECMAScript JSON.stringify of the
 *   value as parsed (key order preserved). Not JCS.
 * - JCS (RFC 8785) for WPC hashes, CST scope hashes, commit signatures, selective disclosure.
 */

export function sha256(data: string | Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** One-shot hashing (no Hash object per call): measurably cheaper on bundles with 1,000 receipts. */
export function sha256B64u(data: string | Uint8Array): string {
  return oneShotHash(
    'sha256',
    typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    'base64url',
  );
}

/** b64u(SHA-256(UTF-8(JSON.stringify(value)))) — the envelope/event/receipt rule. */
export function stringifyHashB64u(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return sha256B64u(text);
}

/** RFC 8785 canonical JSON. Throws on values JSON cannot represent. */
export function jcs(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value has no canonical JSON form');
  return text;
}

/** b64u(SHA-256(UTF-8(JCS(value)))) — the WPC / scope-hash rule. Always 43 characters. */
export function jcsHashB64u(value: unknown): string {
  return sha256B64u(jcs(value));
}
