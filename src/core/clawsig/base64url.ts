/** base64url without padding (RFC 4648 §5), as Clawsig uses it everywhere. */

/** The charset the protocol accepts for every `*_b64u` field. */
export const B64U_PATTERN = /^[A-Za-z0-9_-]+$/;

export function isB64u(value: unknown, minLength = 1): value is string {
  return typeof value === 'string' && value.length >= minLength && B64U_PATTERN.test(value);
}

export function encodeB64u(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/**
 * Decodes leniently, as the reference does (non-zero trailing bits are ignored), after checking the
 * charset. Returns null for anything outside the charset.
 */
export function decodeB64u(value: string): Uint8Array | null {
  if (!B64U_PATTERN.test(value)) return null;
  if (value.length % 4 === 1) return null;
  return new Uint8Array(Buffer.from(value, 'base64url'));
}

/** Standard base64 with padding, strict: used by Protocol-M commit signatures. */
export function decodeBase64Std(value: string): Uint8Array | null {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(value)) return null;
  return new Uint8Array(Buffer.from(value, 'base64'));
}

export function encodeBase64Std(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
