import type { ReasonCode } from '../reason-codes';
import { isJsonObject } from './json';
import { parseTimestamp } from './rfc3339';

const TOKEN_PAIRS = [
  ['max_tokens_input', 'observed_tokens_input'],
  ['max_tokens_output', 'observed_tokens_output'],
] as const;

/** The reference's rate_limit_claims rules, in its order; returns the first failure. */
export function verifyRateLimitClaims(
  claims: unknown,
  runId: string | undefined,
): { code: ReasonCode; path: string } | null {
  if (!Array.isArray(claims)) return null;
  for (let i = 0; i < claims.length; i++) {
    const claim = claims[i];
    const at = (field: string) => `payload.rate_limit_claims[${i}].${field}`;
    if (!isJsonObject(claim)) return { code: 'RATE_LIMIT_CLAIM_INCONSISTENT', path: at('') };
    const start = parseTimestamp(claim.window_start);
    const end = parseTimestamp(claim.window_end);
    if (start === null || end === null) return { code: 'RATE_LIMIT_CLAIM_INCONSISTENT', path: at('window_start') };
    if (start > end) return { code: 'RATE_LIMIT_WINDOW_INVALID', path: at('window_end') };
    if (Number(claim.observed_requests) > Number(claim.max_requests))
      return { code: 'RATE_LIMIT_EXCEEDED', path: at('observed_requests') };
    for (const [maxKey, observedKey] of TOKEN_PAIRS) {
      if ((claim[maxKey] === undefined) !== (claim[observedKey] === undefined)) {
        return { code: 'RATE_LIMIT_CLAIM_INCONSISTENT', path: at(claim[maxKey] === undefined ? maxKey : observedKey) };
      }
    }
    for (const [maxKey, observedKey] of TOKEN_PAIRS) {
      if (claim[maxKey] !== undefined && Number(claim[observedKey]) > Number(claim[maxKey]))
        return { code: 'RATE_LIMIT_EXCEEDED', path: at(observedKey) };
    }
    if (claim.run_id !== undefined && claim.run_id !== runId)
      return { code: 'RATE_LIMIT_CLAIM_INCONSISTENT', path: at('run_id') };
  }
  return null;
}
