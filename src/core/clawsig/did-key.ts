import bs58 from 'bs58';

/** Format check only (the reference's DID regex): did:web passes here and fails at key extraction. */
export const DID_PATTERN = /^did:(key|web):[a-zA-Z0-9._%-]+$/;

const ED25519_MULTICODEC = [0xed, 0x01] as const;

export function isDidFormat(value: unknown): value is string {
  return typeof value === 'string' && DID_PATTERN.test(value);
}

/**
 * did:key (base58btc multibase, ed25519-pub multicodec) → raw 32-byte public key, or null.
 * Unlike the reference, the decoded length is checked: exactly 2 + 32 bytes.
 */
export function publicKeyFromDidKey(did: string): Uint8Array | null {
  if (!did.startsWith('did:key:z')) return null;
  let decoded: Uint8Array;
  try {
    decoded = bs58.decode(did.slice('did:key:z'.length));
  } catch {
    return null;
  }
  if (decoded.length !== 34) return null;
  if (decoded[0] !== ED25519_MULTICODEC[0] || decoded[1] !== ED25519_MULTICODEC[1]) return null;
  return decoded.slice(2);
}

export function didKeyFromPublicKey(publicKey: Uint8Array): string {
  if (publicKey.length !== 32) throw new RangeError('an Ed25519 public key is 32 bytes');
  const bytes = new Uint8Array(34);
  bytes.set(ED25519_MULTICODEC, 0);
  bytes.set(publicKey, 2);
  return `did:key:z${bs58.encode(bytes)}`;
}
