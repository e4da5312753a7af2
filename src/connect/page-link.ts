import { encodeSymmetric, SymmetricAlgorithm } from 'atlassian-jwt';
import type { Tenant } from '../store';
import { requestQueryStringHash } from '../http/connect-jwt';
import { SESSION_LINK_CLAIM } from '../http/session-token';

/**
 * A link that opens one of the app's pages outside the Bitbucket iframe (the panel's "Details" link
 * opens in a new tab, where there is no AP and no Bitbucket-signed `?jwt=`). The token is shaped like
 * Bitbucket's own iframe tokens — HS256 with the tenant's shared secret, iss = aud = clientKey, the
 * viewing user as `sub` — and its qsh is bound to `GET <path>`, so it opens that page and nothing
 * else: the API refuses it (its qsh is neither `context-qsh` nor the API request's). Short-lived: the
 * panel asks for a new one before it expires. It names the one evaluation it opens (SESSION_LINK_CLAIM),
 * so the session the page gets from it reads that evaluation only and cannot mint another link: a link
 * pasted in chat is worth one verdict for ten minutes, not the workspace's data for ever.
 */
export const PAGE_LINK_LIFETIME_SECONDS = 10 * 60;

export function createPageLink(input: {
  tenant: Tenant;
  accountId: string;
  baseUrl: string;
  path: string;
  evaluationId: string;
  now: Date;
}): { url: string; expiresAt: Date } {
  const { tenant } = input;
  if (tenant.sharedSecret === null) throw new Error('createPageLink: the tenant has no shared secret');
  if (!input.path.startsWith('/') || input.path.includes('?'))
    throw new Error('createPageLink: path must be absolute and carry no query');
  const iat = Math.floor(input.now.getTime() / 1000);
  const exp = iat + PAGE_LINK_LIFETIME_SECONDS;
  const qsh = requestQueryStringHash('GET', input.path, input.baseUrl);
  const token = encodeSymmetric(
    {
      iss: tenant.clientKey,
      aud: tenant.clientKey,
      sub: input.accountId,
      iat,
      exp,
      qsh,
      [SESSION_LINK_CLAIM]: input.evaluationId,
    },
    tenant.sharedSecret.reveal(),
    SymmetricAlgorithm.HS256,
  );
  return { url: `${input.baseUrl}${input.path}?jwt=${encodeURIComponent(token)}`, expiresAt: new Date(exp * 1000) };
}
