import { encodeSymmetric, SymmetricAlgorithm } from 'atlassian-jwt';
import type { Tenant } from '../store';
import { CONTEXT_QSH } from './connect-jwt';

/**
 * The page session token put in the iframe shell, so the page's scripts can call `/api/v1` before (or
 * without) AP.context.getToken(). Same shape as a Bitbucket context token — HS256 with the tenant's
 * shared secret, iss = aud = clientKey, qsh "context-qsh" — so `verifyConnectJwt(…, {qsh: 'context'})`
 * accepts both, and only where a caller allows context tokens (never webhooks, lifecycle or page loads).
 * Short-lived like ACE's session token (15 min).
 */
export const SESSION_TOKEN_LIFETIME_SECONDS = 15 * 60;

export function createSessionToken(tenant: Tenant, accountId: string | undefined, now: Date): string {
  if (tenant.sharedSecret === null) throw new Error('createSessionToken: the tenant has no shared secret');
  const iat = Math.floor(now.getTime() / 1000);
  const claims: Record<string, string | number> = { iss: tenant.clientKey, aud: tenant.clientKey, iat, exp: iat + SESSION_TOKEN_LIFETIME_SECONDS, qsh: CONTEXT_QSH };
  if (accountId !== undefined) claims.sub = accountId;
  return encodeSymmetric(claims, tenant.sharedSecret.reveal(), SymmetricAlgorithm.HS256);
}
