import { createQueryStringHash, encodeSymmetric, fromMethodAndUrl, SymmetricAlgorithm } from 'atlassian-jwt';

/**
 * How a request to the Bitbucket API is authenticated. Called once per request actually sent (every
 * attempt and every redirect hop), so a strategy bound to the URL (Connect JWT's qsh) stays correct.
 */
export interface BitbucketAuth {
  /** The `Authorization` header value for `method` on `url`. `apiPath` is the path+query relative to the API base. */
  authorizationFor(request: { method: string; url: URL; apiPath: string }): string | Promise<string>;
}

export interface ConnectJwtCredentials {
  /** The app descriptor's `key` (JWT `iss`). */
  appKey: string;
  /** The installation's clientKey (JWT `sub` — Bitbucket-specific; Jira/Confluence use `aud`). */
  clientKey: string;
  sharedSecret: string;
  /** Clock in ms since the epoch; injectable for tests. */
  now?: () => number;
}

/** Lifetime of an outbound token: ACE's default (3 min), Estafette's 180 s. */
export const CONNECT_JWT_LIFETIME_SECONDS = 180;
/** Back-date `iat` so a Bitbucket clock slightly behind ours never sees a token from the future. */
export const CONNECT_JWT_BACKDATE_SECONDS = 30;

/** Atlassian Connect query-string hash of `method` + API-relative path and query (Atlassian's Connect JWT docs, qsh). */
export function connectQueryStringHash(method: string, apiPath: string): string {
  return createQueryStringHash(fromMethodAndUrl(method.toUpperCase(), apiPath));
}

/**
 * Connect app → Bitbucket: a fresh HS256 JWT per request, `{iss: appKey, sub: clientKey, iat, exp, qsh}`,
 * sent as `Authorization: JWT <token>` (the `?jwt=` form is not accepted by the API).
 */
export function connectJwtAuth(credentials: ConnectJwtCredentials): BitbucketAuth {
  const { appKey, clientKey, sharedSecret } = credentials;
  if (!appKey || !clientKey || !sharedSecret)
    throw new TypeError('connectJwtAuth needs appKey, clientKey and sharedSecret');
  const now = credentials.now ?? Date.now;
  return {
    authorizationFor({ method, apiPath }) {
      const iat = Math.floor(now() / 1000) - CONNECT_JWT_BACKDATE_SECONDS;
      const token = encodeSymmetric(
        {
          iss: appKey,
          sub: clientKey,
          iat,
          exp: iat + CONNECT_JWT_LIFETIME_SECONDS,
          qsh: connectQueryStringHash(method, apiPath),
        },
        sharedSecret,
        SymmetricAlgorithm.HS256,
      );
      return `JWT ${token}`;
    },
  };
}

/**
 * Access token (repository/workspace access token, or the OAuth token of a JWT grant). A function lets
 * the caller refresh an expiring token without rebuilding the client.
 */
export function bearerAuth(token: string | (() => string | Promise<string>)): BitbucketAuth {
  if (typeof token === 'string' && token === '') throw new TypeError('bearerAuth needs a token');
  return {
    async authorizationFor() {
      const value = typeof token === 'string' ? token : await token();
      if (!value) throw new TypeError('bearerAuth token provider returned an empty token');
      return `Bearer ${value}`;
    },
  };
}
