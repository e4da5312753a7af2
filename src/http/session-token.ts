import { encodeSymmetric, SymmetricAlgorithm } from 'atlassian-jwt';
import type { Tenant } from '../store';
import { CONTEXT_QSH } from './connect-jwt';

/**
 * The page session token put in the iframe shell, so the page's scripts can call `/api/v1` before (or
 * without) AP.context.getToken(). Same shape as a Bitbucket context token — HS256 with the tenant's
 * shared secret, iss = aud = clientKey, qsh "context-qsh" — so `verifyConnectJwt(…, {qsh: 'context'})`
 * accepts both, and only where a caller allows context tokens (never webhooks, lifecycle or page loads).
 *
 * It never outlives the token it came from: `exp` is the origin's `exp` (the page's Bitbucket-signed
 * `?jwt=`, a page link's, or a sign-in session's) when that is sooner than 15 minutes from now, so a
 * session cannot be renewed without its origin being renewed. A session that descends from a page link
 * carries SESSION_LINK_CLAIM naming the one evaluation the link opened: the API lets it read that
 * evaluation (and its bundle) and nothing else, and it cannot mint another link.
 */
export const SESSION_TOKEN_LIFETIME_SECONDS = 15 * 60;
/** Claim naming the evaluation a page link (and the sessions it yields) may open. */
export const SESSION_LINK_CLAIM = 'clawgate_link';

export interface SessionTokenOptions {
  /** The `exp` (seconds) of the token this session comes from; the session ends no later. */
  readonly originExp?: number;
  /** The evaluation a page link named, when the session descends from one. */
  readonly linkEvaluationId?: string;
}

export function createSessionToken(
  tenant: Tenant,
  accountId: string | undefined,
  now: Date,
  options: SessionTokenOptions = {},
): string {
  if (tenant.sharedSecret === null) throw new Error('createSessionToken: the tenant has no shared secret');
  const iat = Math.floor(now.getTime() / 1000);
  const exp = Math.min(iat + SESSION_TOKEN_LIFETIME_SECONDS, options.originExp ?? Number.POSITIVE_INFINITY);
  const claims: Record<string, string | number> = {
    iss: tenant.clientKey,
    aud: tenant.clientKey,
    iat,
    exp: Math.floor(exp),
    qsh: CONTEXT_QSH,
  };
  if (accountId !== undefined) claims.sub = accountId;
  if (options.linkEvaluationId !== undefined) claims[SESSION_LINK_CLAIM] = options.linkEvaluationId;
  return encodeSymmetric(claims, tenant.sharedSecret.reveal(), SymmetricAlgorithm.HS256);
}
