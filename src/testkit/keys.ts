import { createPrivateKey, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { didKeyFromPublicKey } from '../core/clawsig/did-key';
import { encodeB64u } from '../core/clawsig/base64url';

/** An Ed25519 identity for producing test evidence: did:key, raw public key, and a signer. */
export interface TestKey {
  did: string;
  publicKey: Uint8Array;
  publicKeyB64u: string;
  privateKey: KeyObject;
  sign(message: string | Uint8Array): Uint8Array;
  signB64u(message: string | Uint8Array): string;
}

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** A key from a 32-byte seed (deterministic) or from fresh randomness. */
export function createTestKey(seed?: Uint8Array | string): TestKey {
  const seedBytes = typeof seed === 'string' ? Buffer.from(seed, 'hex') : seed ? Buffer.from(seed) : randomBytes(32);
  if (seedBytes.length !== 32) throw new RangeError('an Ed25519 seed is 32 bytes');
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seedBytes]),
    format: 'der',
    type: 'pkcs8',
  });
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const publicKey = new Uint8Array(Buffer.from(String(jwk.x), 'base64url'));
  const signBytes = (message: string | Uint8Array) =>
    new Uint8Array(sign(null, typeof message === 'string' ? Buffer.from(message, 'utf8') : message, privateKey));
  return {
    did: didKeyFromPublicKey(publicKey),
    publicKey,
    publicKeyB64u: encodeB64u(publicKey),
    privateKey,
    sign: signBytes,
    signB64u: (message) => encodeB64u(signBytes(message)),
  };
}
