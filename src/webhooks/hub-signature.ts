import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Bitbucket repository-webhook signatures (Bitbucket's webhook security docs): `X-Hub-Signature: sha256=<hex>` where
 * hex is HMAC-SHA256 of the RAW request body keyed with the hook's secret. Verified over the exact
 * bytes received (never a re-serialisation of parsed JSON), in constant time.
 */

export const HUB_SIGNATURE_HEADER = 'x-hub-signature';

const SIGNATURE_PATTERN = /^sha256=([0-9a-fA-F]{64})$/;
const DIGEST_BYTES = 32;

/** The header value Bitbucket would send for `rawBody` signed with `secret`. */
export function hubSignature(rawBody: Uint8Array, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

/** True when the header is well-formed (`sha256=` and 64 hex digits); says nothing about validity. */
export function isWellFormedHubSignature(header: string | undefined): header is string {
  return typeof header === 'string' && SIGNATURE_PATTERN.test(header);
}

/**
 * True only when `header` is `sha256=<hex>` and the hex is the HMAC-SHA256 of `rawBody` under `secret`.
 * Both sides are 32-byte buffers when compared, so `timingSafeEqual` never throws on a length
 * mismatch and the comparison time does not depend on how many bytes match.
 */
export function verifyHubSignature(rawBody: Uint8Array, header: string | undefined, secret: string): boolean {
  if (secret.length === 0) return false;
  const match = typeof header === 'string' ? SIGNATURE_PATTERN.exec(header) : null;
  if (match === null) return false;
  const presented = Buffer.from(match[1] ?? '', 'hex');
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  if (presented.length !== DIGEST_BYTES || expected.length !== DIGEST_BYTES) return false;
  return timingSafeEqual(presented, expected);
}
