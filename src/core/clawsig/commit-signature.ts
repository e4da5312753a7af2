import type { ReasonCode } from '../reason-codes';
import { decodeBase64Std } from './base64url';
import { publicKeyFromDidKey } from './did-key';
import { verifyEd25519 } from './ed25519';
import { jcs } from './hashing';
import { isJsonObject } from './json';

export interface CommitSignatureResult {
  valid: boolean;
  reasonCode: ReasonCode;
  failurePath?: string;
  did?: string;
  commitSha?: string;
  createdAt?: string;
}

const MESSAGE_PATTERN = /^commit:([0-9a-fA-F]{7,64})$/;

/** True when the value looks like a Protocol-M commit.sig.json rather than an envelope. */
export function looksLikeCommitSignature(value: unknown): boolean {
  return (
    isJsonObject(value) &&
    'version' in value &&
    'message' in value &&
    'signature' in value &&
    !('envelope_version' in value)
  );
}

/**
 * Protocol-M `commit.sig.json`: standard base64 signature over
 * UTF-8 JCS({...obj, signature: ""}); checks in the reference order.
 */
export function verifyCommitSignature(input: unknown): CommitSignatureResult {
  const fail = (reasonCode: ReasonCode, failurePath: string): CommitSignatureResult => ({
    valid: false,
    reasonCode,
    failurePath,
  });
  if (!isJsonObject(input)) return fail('MALFORMED_ENVELOPE', '');
  if (input.version !== 'm1') return fail('UNKNOWN_VERSION', 'version');
  if (input.type !== 'message_signature') return fail('UNKNOWN_TYPE', 'type');
  if (input.algo !== 'ed25519') return fail('UNKNOWN_ALGO', 'algo');
  const message = typeof input.message === 'string' ? MESSAGE_PATTERN.exec(input.message) : null;
  if (!message) return fail('COMMIT_MESSAGE_INVALID', 'message');
  const key = typeof input.did === 'string' ? publicKeyFromDidKey(input.did) : null;
  if (!key) return fail('INVALID_DID_FORMAT', 'did');
  const signature = typeof input.signature === 'string' ? decodeBase64Std(input.signature) : null;
  if (!signature || signature.length !== 64) return fail('MALFORMED_ENVELOPE', 'signature');
  let signingInput: string;
  try {
    signingInput = jcs({ ...input, signature: '' });
  } catch {
    return fail('MALFORMED_ENVELOPE', '');
  }
  if (!verifyEd25519(key, signingInput, signature)) return fail('SIGNATURE_INVALID', 'signature');
  return {
    valid: true,
    reasonCode: 'OK',
    did: String(input.did),
    commitSha: (message[1] ?? '').toLowerCase(),
    createdAt: typeof input.createdAt === 'string' ? input.createdAt : undefined,
  };
}
