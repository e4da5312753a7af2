import type { ReasonCode } from '../reason-codes';
import { decodeB64u } from './base64url';
import { jcsHashB64u, sha256 } from './hashing';
import { isJsonObject, type JsonObject } from './json';
import { scopedTokenClaimsV1Schema, validateWith, type ScopedTokenClaimsV1 } from './schemas';

/** A CST issuer key as the workspace configures it: raw Ed25519 public key, optional kid. */
export interface CstIssuerKey {
  kid?: string;
  publicKeyB64u: string;
}

export interface ParsedScopedToken {
  claims: ScopedTokenClaimsV1;
  /** The compact JWS when the token came as a JWT; undefined for bare claims. */
  compact?: string;
  header?: JsonObject;
  /** b64u(SHA-256(JCS(scope-hash input))) recomputed from the claims (normalised aud/scope plus the optional claims that are set). */
  scopeHash: string;
}

export type ScopedTokenParse = { ok: true; token: ParsedScopedToken } | { ok: false; code: ReasonCode; path: string };

const OPTIONAL_STRING_CLAIMS = [
  'owner_ref',
  'owner_did',
  'controller_did',
  'agent_did',
  'policy_hash_b64u',
  'control_plane_policy_hash_b64u',
  'payment_account_did',
  'mission_id',
  'delegation_id',
  'delegator_did',
  'delegate_did',
  'delegation_policy_hash_b64u',
] as const;

function normalizeList(value: unknown): string[] {
  const items = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
  const trimmed = items
    .filter((v): v is string => typeof v === 'string')
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
  return [...new Set(trimmed)].sort();
}

/** token_scope_hash_b64u (JCS of the normalised claims): excludes iat, exp, jti, nonce, token_lane and itself. */
export function computeTokenScopeHash(claims: JsonObject): string {
  const input: JsonObject = {
    token_version: '1',
    sub: typeof claims.sub === 'string' ? claims.sub.trim() : '',
    aud: normalizeList(claims.aud),
    scope: normalizeList(claims.scope),
  };
  for (const key of OPTIONAL_STRING_CLAIMS) {
    const value = claims[key];
    if (typeof value === 'string' && value.trim().length > 0) input[key] = value.trim();
  }
  if (typeof claims.spend_cap === 'number' && Number.isFinite(claims.spend_cap) && claims.spend_cap >= 0)
    input.spend_cap = claims.spend_cap;
  if (typeof claims.delegation_spend_cap_minor === 'string' && /^\d+$/.test(claims.delegation_spend_cap_minor)) {
    input.delegation_spend_cap_minor = claims.delegation_spend_cap_minor;
  }
  if (typeof claims.delegation_expires_at === 'number' && claims.delegation_expires_at > 0)
    input.delegation_expires_at = Math.floor(claims.delegation_expires_at);
  return jcsHashB64u(input);
}

/** kid = first 16 hex chars of SHA-256(raw public key), as the issuer computes it. */
export function cstKeyId(publicKey: Uint8Array): string {
  return sha256(publicKey).toString('hex').slice(0, 16);
}

function parseJsonSegment(segment: string): JsonObject | null {
  const bytes = decodeB64u(segment);
  if (!bytes) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
    return isJsonObject(value) ? value : null;
  } catch {
    return null;
  }
}

/** Accepts a compact JWS (EdDSA) or a claims object; validates the claims against the CST schema. */
export function parseScopedToken(input: unknown): ScopedTokenParse {
  let claimsValue: unknown = input;
  let compact: string | undefined;
  let header: JsonObject | undefined;
  if (typeof input === 'string') {
    const parts = input.trim().split('.');
    if (parts.length !== 3 || parts.some((p) => p.length === 0))
      return { ok: false, code: 'CST_MALFORMED', path: 'scoped_token' };
    const parsedHeader = parseJsonSegment(parts[0] ?? '');
    const parsedClaims = parseJsonSegment(parts[1] ?? '');
    if (!parsedHeader || !parsedClaims) return { ok: false, code: 'CST_MALFORMED', path: 'scoped_token' };
    if (parsedHeader.alg !== 'EdDSA')
      return { ok: false, code: 'CST_UNSUPPORTED_ALG', path: 'scoped_token.header.alg' };
    compact = input.trim();
    header = parsedHeader;
    claimsValue = parsedClaims;
  }
  const checked = validateWith(scopedTokenClaimsV1Schema, claimsValue);
  if (!checked.ok)
    return { ok: false, code: 'CST_MALFORMED', path: `scoped_token.claims.${checked.issues[0]?.path.join('.') ?? ''}` };
  return {
    ok: true,
    token: { claims: checked.value, compact, header, scopeHash: computeTokenScopeHash(checked.value as JsonObject) },
  };
}
