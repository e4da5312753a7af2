import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { encodeB64u } from './base64url';

/**
 * Ed25519 (RFC 8032, pure) verification with Node's crypto. KeyObjects are memoized by raw key:
 * a bundle typically carries hundreds of receipts from one gateway key, and building the KeyObject
 * costs a measurable share of a verification (see bench/RESULTS.md). The cache is bounded.
 */
const KEY_CACHE_LIMIT = 256;
const keyCache = new Map<string, KeyObject>();

function keyObjectFor(publicKey: Uint8Array): KeyObject | null {
  if (publicKey.length !== 32) return null;
  const x = encodeB64u(publicKey);
  let key = keyCache.get(x);
  if (key) return key;
  try {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
  } catch {
    return null;
  }
  if (keyCache.size >= KEY_CACHE_LIMIT) {
    const oldest = keyCache.keys().next().value;
    if (oldest !== undefined) keyCache.delete(oldest);
  }
  keyCache.set(x, key);
  return key;
}

export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array | string, signature: Uint8Array): boolean {
  return verifyWithKeyObject(keyObjectFor(publicKey), message, signature);
}

const didKeyObjects = new Map<string, KeyObject>();

/**
 * Verification by did:key with the KeyObject memoized per DID string: the hot path of a bundle with
 * many receipts from one gateway skips base58 decoding and key import on every receipt.
 */
export function verifyEd25519ForDid(did: string, decodeKey: (did: string) => Uint8Array | null, message: Uint8Array | string, signature: Uint8Array): boolean | null {
  let key = didKeyObjects.get(did);
  if (!key) {
    const raw = decodeKey(did);
    const created = raw ? keyObjectFor(raw) : null;
    if (!created) return null;
    if (didKeyObjects.size >= KEY_CACHE_LIMIT) didKeyObjects.delete(didKeyObjects.keys().next().value ?? '');
    didKeyObjects.set(did, created);
    key = created;
  }
  return verifyWithKeyObject(key, message, signature);
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
