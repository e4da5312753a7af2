import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { encodeB64u } from './base64url';
import { publicKeyFromDidKey } from './did-key';

/**
 * Ed25519 (RFC 8032, pure) verification with Node's crypto. KeyObjects are memoized (bounded), by
 * did:key string on the hot path: a bundle carries hundreds of receipts from one gateway key, and
 * base58 decoding plus key import on every receipt cost a measurable share of a verification
 * (bench/RESULTS.md).
 */
const KEY_CACHE_LIMIT = 256;
const keyObjects = new Map<string, KeyObject>();

function remember(cacheKey: string, create: () => KeyObject | null): KeyObject | null {
  const cached = keyObjects.get(cacheKey);
  if (cached) return cached;
  const key = create();
  if (!key) return null;
  if (keyObjects.size >= KEY_CACHE_LIMIT) keyObjects.delete(keyObjects.keys().next().value ?? '');
  keyObjects.set(cacheKey, key);
  return key;
}

function importRawKey(publicKey: Uint8Array): KeyObject | null {
  if (publicKey.length !== 32) return null;
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: encodeB64u(publicKey) }, format: 'jwk' });
  } catch {
    return null;
  }
}

export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array | string, signature: Uint8Array): boolean {
  return verifyWithKeyObject(
    remember(`raw:${encodeB64u(publicKey)}`, () => importRawKey(publicKey)),
    message,
    signature,
  );
}

/** Verification by did:key; null when the DID is not an Ed25519 did:key (INVALID_DID_FORMAT to callers). */
export function verifyEd25519ForDid(did: string, message: Uint8Array | string, signature: Uint8Array): boolean | null {
  const key = remember(`did:${did}`, () => {
    const raw = publicKeyFromDidKey(did);
    return raw ? importRawKey(raw) : null;
  });
  return key ? verifyWithKeyObject(key, message, signature) : null;
}

function verifyWithKeyObject(key: KeyObject | null, message: Uint8Array | string, signature: Uint8Array): boolean {
  if (!key) return false;
  const data = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  try {
    return verify(null, data, key, signature);
  } catch {
    return false;
  }
}
