import { compactVerify, importJWK, type CryptoKey } from 'jose';
import { decodeB64u, encodeB64u } from './base64url';
import { isJsonObject } from './json';
import type { CstIssuerKey } from './scoped-token';

/**
 * The CST's signature, verified with `jose` (compact JWS, EdDSA over Ed25519) before the engine runs.
 *
 * jose verifies asynchronously (WebCrypto) and the engine (`evaluate` in ../verdict.ts) is
 * synchronous, so the signature is checked here, first, and its result is handed to the engine as an
 * input field (`EvaluationInput.cstSignatures`). The engine matches a result to the exact compact
 * token it parsed; a token without a result fails `profile.cst_signature` (fail closed), so a caller
 * that forgets this step can never pass a signed token. Every claim check stays in the engine
 * (src/core/profile.ts), in the same order and with the same codes.
 *
 * Only the signature is jose's job: `compactVerify` reads no clock (jwtVerify would check exp/nbf
 * against the machine's time; the engine checks the claims against `nowMs`).
 */
export interface CstSignatureResult {
  /** The compact JWS as the engine parses it (trimmed). */
  compact: string;
  /** True when one of the configured issuer keys verified it. */
  verified: boolean;
}

/** The most tokens one evaluation verifies: the --cst / API token and the bundle metadata's two fields. */
const MAX_CANDIDATES = 4;
/** A CST is a few hundred bytes; anything far larger is not verified (it fails as unverified). */
const MAX_COMPACT_CHARS = 64 * 1024;

/** Imported issuer keys, bounded, by raw key: one import per key rather than one per evaluation. */
const KEY_CACHE_LIMIT = 256;
const importedKeys = new Map<string, Promise<CryptoKey | null>>();

function issuerKey(publicKeyB64u: string): Promise<CryptoKey | null> {
  const raw = decodeB64u(publicKeyB64u);
  // An Ed25519 public key is 32 bytes; anything else is not a key of this issuer (never an error).
  if (raw === null || raw.length !== 32) return Promise.resolve(null);
  const x = encodeB64u(raw);
  const cached = importedKeys.get(x);
  if (cached) return cached;
  const imported = importJWK({ kty: 'OKP', crv: 'Ed25519', x }, 'EdDSA').then(
    (key) => (key instanceof Uint8Array ? null : key),
    () => null,
  );
  if (importedKeys.size >= KEY_CACHE_LIMIT) importedKeys.delete(importedKeys.keys().next().value ?? '');
  importedKeys.set(x, imported);
  return imported;
}

/** The header's `kid`, read without trusting anything else in it (jose checks the header itself). */
function headerKid(compact: string): string | undefined {
  const header = decodeB64u(compact.slice(0, compact.indexOf('.')));
  if (!header) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(header).toString('utf8'));
    return isJsonObject(value) && typeof value.kid === 'string' ? value.kid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True when one of `issuers` signed `compact` (EdDSA only: `alg: none`, HS256 and every other
 * algorithm are refused by jose's `algorithms` allow-list before any key is used; unknown `crit`
 * parameters by jose, `b64: false` here). A `kid` in the
 * header narrows the candidate keys to those with that kid or with none (a key configured without a
 * kid may sign under any kid, as before).
 */
export async function verifyCstSignature(compact: string, issuers: readonly CstIssuerKey[]): Promise<boolean> {
  if (compact.length === 0 || compact.length > MAX_COMPACT_CHARS) return false;
  const kid = headerKid(compact);
  const candidates = issuers.filter((key) => kid === undefined || key.kid === undefined || key.kid === kid);
  for (const candidate of candidates) {
    const key = await issuerKey(candidate.publicKeyB64u);
    if (!key) continue;
    try {
      const { protectedHeader } = await compactVerify(compact, key, { algorithms: ['EdDSA'] });
      // RFC 7797 unencoded payloads (`b64: false`) are not a CST: the engine reads the payload
      // segment as base64url JSON, so only the ordinary form is accepted.
      return protectedHeader.b64 === undefined || protectedHeader.b64 === true;
    } catch {
      // Not this key (or not a valid JWS at all): try the next one.
    }
  }
  return false;
}

/** What the engine may read as the CST: the caller's token, else the bundle's signed metadata. */
function tokenCandidates(scopedToken: unknown, bundle: unknown): string[] {
  const found: unknown[] = [scopedToken];
  const payload = isJsonObject(bundle) && isJsonObject(bundle.payload) ? bundle.payload : bundle;
  const metadata = isJsonObject(payload) && isJsonObject(payload.metadata) ? payload.metadata : undefined;
  if (metadata) found.push(metadata.scoped_token, metadata.scoped_token_claims);
  const compact = found.filter((value): value is string => typeof value === 'string').map((value) => value.trim());
  return [...new Set(compact)].slice(0, MAX_CANDIDATES);
}

/**
 * Verifies every compact CST the engine could read for this input (none without issuer keys: the
 * engine then skips the signature rule). Pass the result as `EvaluationInput.cstSignatures`.
 */
export async function verifyCstSignatures(input: {
  scopedToken?: unknown;
  bundle?: unknown;
  settings: { cstIssuers: readonly CstIssuerKey[] };
}): Promise<CstSignatureResult[]> {
  const issuers = input.settings.cstIssuers;
  if (issuers.length === 0) return [];
  return Promise.all(
    tokenCandidates(input.scopedToken, input.bundle).map(async (compact) => ({
      compact,
      verified: await verifyCstSignature(compact, issuers),
    })),
  );
}
