import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createQueryStringHash, decodeSymmetric, fromMethodAndUrl, SymmetricAlgorithm } from 'atlassian-jwt';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Tenant, Tenants } from '../store';
import { sendError } from './error-response';

/**
 * Inbound Connect JWTs (Bitbucket → clawgate), as Atlassian's Connect JWT docs describe them:
 * HS256 only, `exp` required, ±60 s leeway on exp/iat/nbf (see below), tenant found by `iss`
 * (= clientKey; the doc gives no case for falling back to `aud`, so we don't), signature checked with
 * the tenant's decrypted shared secret, qsh recomputed from the actual request with atlassian-jwt.
 * Only active (not uninstalled), proven Connect tenants authenticate. Nothing here writes anything.
 */

/** What the qsh claim must be: the request's hash; that or `context-qsh` (AP.context.getToken); not checked. */
export type QshPolicy = 'required' | 'context' | 'skip';

/** Accepted clock difference between Bitbucket and us: Bitbucket documents no leeway, and its tokens have been seen with `iat` slightly in the future. */
export const CONNECT_JWT_LEEWAY_SECONDS = 60;
/**
 * The longest a token may live (exp − iat). Bitbucket's own tokens are observed with exp = iat + 3600
 * (in captured webhook and lifecycle tokens), so an hour is the observed behaviour; clawgate's session tokens and page links
 * live 15 and 10 minutes. A token without `iat` is measured from now. A token "valid for ten years"
 * is refused however it was signed.
 */
export const CONNECT_JWT_MAX_LIFETIME_SECONDS = 60 * 60;
/** The qsh value of tokens minted by AP.context.getToken() for the app's own AJAX calls. */
export const CONTEXT_QSH = 'context-qsh';
/** A JWT is a few hundred bytes; anything huge is not one and is not parsed. */
const MAX_TOKEN_LENGTH = 8192;

export type ConnectJwtFailureCode =
  | 'MISSING_TOKEN'
  | 'MALFORMED_TOKEN'
  | 'UNSUPPORTED_ALGORITHM'
  | 'INVALID_CLAIMS'
  | 'UNKNOWN_TENANT'
  | 'TENANT_UNINSTALLED'
  | 'BAD_SIGNATURE'
  | 'EXPIRED'
  | 'NOT_YET_VALID'
  | 'LIFETIME_TOO_LONG'
  | 'AUDIENCE_MISMATCH'
  | 'QSH_MISMATCH';

export interface ConnectJwtFailure {
  readonly ok: false;
  readonly code: ConnectJwtFailureCode;
  /** For logs: says what failed, never contains the token or a secret. */
  readonly message: string;
  /** The unverified `iss`, when the token could be decoded (for logs; it is not a secret). */
  readonly issuer?: string;
}

const claimsSchema = z.looseObject({
  iss: z.string().min(1).max(255),
  exp: z.number().finite(),
  iat: z.number().finite().optional(),
  nbf: z.number().finite().optional(),
  qsh: z.string().min(1).max(128).optional(),
  sub: z.string().min(1).max(255).optional(),
  // atlassian-jwt normalises a string aud to an array.
  aud: z.array(z.string()).optional(),
});

export type ConnectJwtClaims = z.infer<typeof claimsSchema>;

export interface ConnectJwtSuccess {
  readonly ok: true;
  readonly tenant: Tenant;
  /**
   * The `sub` claim of user-context tokens (iframe loads, AP.context tokens), as sent: Bitbucket's
   * format (account_id or `{uuid}`) is UNCONFIRMED. Absent on webhooks/lifecycle.
   */
  readonly accountId?: string;
  readonly claims: ConnectJwtClaims;
}

export type ConnectJwtVerification = ConnectJwtSuccess | ConnectJwtFailure;

export interface VerifyConnectJwtOptions {
  /** The request's method and URL as received (`req.method`, `req.originalUrl`) — what the qsh covers. */
  readonly method: string;
  readonly originalUrl: string;
  /** The app's baseUrl: its path prefix (if any) is not part of the canonical path (qsh rule). */
  readonly appBaseUrl: string;
  readonly tenants: Pick<Tenants, 'findByClientKey'>;
  readonly qsh: QshPolicy;
  /** Verification time; default the system clock. */
  readonly now?: Date;
  /**
   * Lifecycle only: an uninstalled tenant's stored secret still signs its re-install
   * (Bitbucket signs an install after an uninstall with the secret of the last `installed`). Everything else rejects uninstalled tenants.
   */
  readonly acceptUninstalled?: boolean;
}

function fail(code: ConnectJwtFailureCode, message: string, issuer?: string): ConnectJwtFailure {
  return issuer === undefined ? { ok: false, code, message } : { ok: false, code, message, issuer };
}

function decodeJsonSegment(segment: string): unknown {
  if (!/^[A-Za-z0-9_-]*$/.test(segment)) return undefined;
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function equalStrings(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The Atlassian qsh of a request as received, relative to the app's baseUrl (Atlassian's Connect JWT docs, qsh). */
export function requestQueryStringHash(method: string, originalUrl: string, appBaseUrl: string): string {
  return createQueryStringHash(fromMethodAndUrl(method.toUpperCase(), originalUrl), false, appBaseUrl);
}

/**
 * Verifies an inbound Connect JWT against the request it came with. Returns the tenant and claims,
 * or a typed failure. Reads the tenant; never writes.
 */
export async function verifyConnectJwt(
  token: string,
  options: VerifyConnectJwtOptions,
): Promise<ConnectJwtVerification> {
  if (typeof token !== 'string' || token.length === 0) return fail('MISSING_TOKEN', 'no token');
  if (token.length > MAX_TOKEN_LENGTH) return fail('MALFORMED_TOKEN', 'token too long');
  const segments = token.split('.');
  if (segments.length !== 3) return fail('MALFORMED_TOKEN', 'not a three-part JWT');
  const [headerSegment = '', payloadSegment = ''] = segments;
  const header = decodeJsonSegment(headerSegment);
  const rawClaims = decodeJsonSegment(payloadSegment);
  if (typeof header !== 'object' || header === null || typeof rawClaims !== 'object' || rawClaims === null) {
    return fail('MALFORMED_TOKEN', 'JWT header or payload is not JSON');
  }
  const hintedIssuer =
    'iss' in rawClaims && typeof rawClaims.iss === 'string' ? rawClaims.iss.slice(0, 255) : undefined;
  // Only HS256, decided from the header before any key is used: no "none", no HS384/512, no RS256
  // algorithm confusion.
  const alg = 'alg' in header ? header.alg : undefined;
  if (alg !== 'HS256')
    return fail('UNSUPPORTED_ALGORITHM', `alg ${JSON.stringify(alg ?? null)} is not HS256`, hintedIssuer);
  const normalised = {
    ...rawClaims,
    ...('aud' in rawClaims && typeof rawClaims.aud === 'string' ? { aud: [rawClaims.aud] } : {}),
  };
  const parsed = claimsSchema.safeParse(normalised);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(root)'))].join(', ');
    return fail('INVALID_CLAIMS', `missing or invalid claims: ${fields}`, hintedIssuer);
  }
  const claims = parsed.data;
  if (options.qsh !== 'skip' && claims.qsh === undefined)
    return fail('INVALID_CLAIMS', 'missing or invalid claims: qsh', claims.iss);

  const tenant = await options.tenants.findByClientKey(claims.iss);
  // A repository-webhook tenant's shared secret is an HMAC key, not a Connect JWT secret: it must
  // never authenticate a JWT. An unproven first install is never stored; the check is defence in depth.
  if (
    tenant === null ||
    tenant.surface !== 'connect' ||
    tenant.sharedSecret === null ||
    tenant.installVerifiedAt === null
  ) {
    return fail('UNKNOWN_TENANT', 'no Connect installation for this iss', claims.iss);
  }
  if (tenant.uninstalledAt !== null && options.acceptUninstalled !== true) {
    return fail('TENANT_UNINSTALLED', 'the installation is uninstalled', claims.iss);
  }
  try {
    decodeSymmetric(token, tenant.sharedSecret.reveal(), SymmetricAlgorithm.HS256);
  } catch {
    return fail('BAD_SIGNATURE', 'signature does not verify with the installation secret', claims.iss);
  }

  const nowSeconds = (options.now ?? new Date()).getTime() / 1000;
  if (nowSeconds > claims.exp + CONNECT_JWT_LEEWAY_SECONDS) return fail('EXPIRED', 'token expired', claims.iss);
  if (claims.iat !== undefined && claims.iat > nowSeconds + CONNECT_JWT_LEEWAY_SECONDS)
    return fail('NOT_YET_VALID', 'token issued in the future (iat)', claims.iss);
  if (claims.nbf !== undefined && claims.nbf > nowSeconds + CONNECT_JWT_LEEWAY_SECONDS)
    return fail('NOT_YET_VALID', 'token not valid yet (nbf)', claims.iss);
  if (claims.exp - (claims.iat ?? nowSeconds) > CONNECT_JWT_MAX_LIFETIME_SECONDS + CONNECT_JWT_LEEWAY_SECONDS) {
    return fail(
      'LIFETIME_TOO_LONG',
      `token lives longer than ${CONNECT_JWT_MAX_LIFETIME_SECONDS} s (exp - iat)`,
      claims.iss,
    );
  }
  // Bitbucket sets aud = clientKey (in captured tokens); where a token names an audience it must be this
  // installation (never the app's baseUrl, which Bitbucket does not use).
  if (claims.aud !== undefined && !claims.aud.includes(tenant.clientKey))
    return fail('AUDIENCE_MISMATCH', 'aud does not name this installation', claims.iss);

  if (options.qsh !== 'skip') {
    const presented = claims.qsh ?? '';
    const contextTokenAccepted = options.qsh === 'context' && presented === CONTEXT_QSH;
    if (!contextTokenAccepted) {
      const expected = requestQueryStringHash(options.method, options.originalUrl, options.appBaseUrl);
      if (!equalStrings(expected, presented)) return fail('QSH_MISMATCH', 'qsh does not match the request', claims.iss);
    }
  }
  return claims.sub === undefined ? { ok: true, tenant, claims } : { ok: true, tenant, accountId: claims.sub, claims };
}

/**
 * The token of a request: `Authorization: JWT <token>` or `?jwt=<token>` (iframe loads). Both
 * present and different, or `jwt` given twice, is ambiguous and yields an empty string (rejected).
 */
export function connectTokenFrom(req: Pick<Request, 'headers' | 'originalUrl'>): string {
  const header = req.headers.authorization;
  let fromHeader: string | undefined;
  if (typeof header === 'string' && header.length > 0) {
    const match = /^JWT\s+(\S+)\s*$/i.exec(header);
    if (match === null) return '';
    fromHeader = match[1];
  }
  const queryStart = req.originalUrl.indexOf('?');
  const values = queryStart === -1 ? [] : new URLSearchParams(req.originalUrl.slice(queryStart + 1)).getAll('jwt');
  if (values.length > 1) return '';
  const fromQuery = values[0];
  if (fromHeader !== undefined && fromQuery !== undefined && fromHeader !== fromQuery) return '';
  return fromHeader ?? fromQuery ?? '';
}

/** Public 401 messages: unknown, uninstalled and wrongly signed look the same from outside. */
function publicMessage(code: ConnectJwtFailureCode): string {
  switch (code) {
    case 'MISSING_TOKEN':
      return 'A Connect JWT is required (Authorization: JWT <token> or ?jwt=).';
    case 'MALFORMED_TOKEN':
    case 'INVALID_CLAIMS':
      return 'The Connect JWT is malformed or lacks required claims.';
    case 'UNSUPPORTED_ALGORITHM':
      return 'The Connect JWT must be signed with HS256.';
    case 'EXPIRED':
    case 'NOT_YET_VALID':
      return 'The Connect JWT is expired or not yet valid.';
    case 'LIFETIME_TOO_LONG':
      return 'The Connect JWT lives longer than allowed.';
    case 'AUDIENCE_MISMATCH':
      return 'The Connect JWT was issued for another audience.';
    case 'QSH_MISMATCH':
      return 'The Connect JWT was not issued for this request.';
    case 'UNKNOWN_TENANT':
    case 'TENANT_UNINSTALLED':
    case 'BAD_SIGNATURE':
      return 'The Connect JWT is not valid for an installation of this app.';
  }
}

/** What the middleware leaves in `res.locals.connect`. */
export type ConnectAuth = Omit<ConnectJwtSuccess, 'ok'>;

export interface ConnectJwtMiddlewareOptions {
  readonly tenants: Pick<Tenants, 'findByClientKey'>;
  readonly appBaseUrl: string;
  readonly qsh: QshPolicy;
  readonly clock?: () => Date;
  readonly logger?: Logger;
}

/**
 * Express middleware: 401 `{"error": {"code": "UNAUTHENTICATED", "message"}}` on any failure (the
 * specific failure code goes to the log, with the unverified iss, never the token); on success
 * `res.locals.connect` holds the ConnectAuth (read it with `connectAuthOf(res)`).
 */
export function connectJwtMiddleware(options: ConnectJwtMiddlewareOptions): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    const token = connectTokenFrom(req);
    verifyConnectJwt(token, {
      method: req.method,
      originalUrl: req.originalUrl,
      appBaseUrl: options.appBaseUrl,
      tenants: options.tenants,
      qsh: options.qsh,
      now: options.clock?.() ?? new Date(),
    }).then(
      (result) => {
        if (!result.ok) {
          options.logger?.warn(
            { reason: result.code, detail: result.message, iss: result.issuer, method: req.method, path: req.path },
            'connect: JWT rejected',
          );
          res.setHeader('WWW-Authenticate', 'JWT realm="clawgate"');
          sendError(res, 401, 'UNAUTHENTICATED', publicMessage(result.code));
          return;
        }
        const auth: ConnectAuth =
          result.accountId === undefined
            ? { tenant: result.tenant, claims: result.claims }
            : { tenant: result.tenant, accountId: result.accountId, claims: result.claims };
        res.locals.connect = auth;
        next();
      },
      (error: unknown) => next(error),
    );
  };
}

/** The authenticated Connect context set by connectJwtMiddleware; throws if the middleware did not run. */
export function connectAuthOf(res: Response): ConnectAuth {
  const auth = res.locals.connect as ConnectAuth | undefined;
  if (auth === undefined) throw new Error('connectAuthOf: connectJwtMiddleware did not authenticate this request');
  return auth;
}

export { publicMessage as connectJwtFailureMessage };
