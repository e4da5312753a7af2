import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { createQueryStringHash, decodeSymmetric, fromMethodAndUrl, SymmetricAlgorithm } from 'atlassian-jwt';
import { z } from 'zod';
import { ApiError, sendApiError } from './api-errors';
import type { AccessToken, Installation, Principal } from './model';
import type { AuthFailure, WriteRecorder } from './write-recorder';

/**
 * Authenticates /2.0 calls the way Bitbucket does for the two kinds of callers clawgate can be:
 * - a Connect installation: `Authorization: JWT <token>`, HS256 with the installation's shared
 *   secret, `iss` = app key, `sub` = clientKey, `exp` required (small leeway), `qsh` over method +
 *   `/2.0/…` path + query (`sub` = clientKey is Bitbucket-specific). The `?jwt=` query form is not
 *   accepted (reported in Atlassian's community forum).
 * - an access token: `Authorization: Bearer <token>`.
 * Everything else is 401; each rejection is recorded with its reason.
 */

export interface AuthDirectory {
  /** The installed installation and, during an install callback, the pending one. */
  installationsByClientKey(clientKey: string): Installation[];
  accessTokenBySha256(hash: string): AccessToken | undefined;
  now(): number;
  jwtLeewaySeconds: number;
  recorder: WriteRecorder;
}

class AuthRejection extends Error {
  constructor(
    readonly reason: string,
    readonly claims?: { iss?: unknown; sub?: unknown },
  ) {
    super(reason);
  }
}

const jwtHeaderSchema = z.object({ alg: z.string() }).passthrough();
const jwtClaimsSchema = z
  .object({
    iss: z.string().min(1),
    sub: z.string().min(1),
    exp: z.number(),
    qsh: z.string().regex(/^[0-9a-f]{64}$/),
    iat: z.number().optional(),
    nbf: z.number().optional(),
  })
  .passthrough();

function decodeSegment(segment: string): unknown {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

function equalHex(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function verifyConnectJwt(dir: AuthDirectory, req: Request, token: string): Principal {
  const segments = token.split('.');
  if (segments.length !== 3) throw new AuthRejection('malformed JWT');
  const header = jwtHeaderSchema.safeParse(decodeSegment(segments[0] ?? ''));
  if (!header.success) throw new AuthRejection('malformed JWT header');
  const rawClaims = decodeSegment(segments[1] ?? '');
  const hint =
    typeof rawClaims === 'object' && rawClaims !== null
      ? { iss: (rawClaims as Record<string, unknown>).iss, sub: (rawClaims as Record<string, unknown>).sub }
      : undefined;
  // Reject anything but HS256 before touching the signature (no "none", no algorithm confusion).
  if (header.data.alg !== 'HS256') throw new AuthRejection(`unsupported alg ${JSON.stringify(header.data.alg)}`, hint);
  const claims = jwtClaimsSchema.safeParse(rawClaims);
  if (!claims.success) {
    const missing = claims.error.issues.map((i) => i.path.join('.')).join(', ');
    throw new AuthRejection(`invalid or missing claims: ${missing}`, hint);
  }
  const { iss, sub, exp, qsh, nbf } = claims.data;
  const candidates = dir.installationsByClientKey(sub).filter((i) => i.status === 'installed');
  if (candidates.length === 0) throw new AuthRejection('unknown or uninstalled clientKey (sub)', hint);
  if (!candidates.some((i) => i.key === iss))
    throw new AuthRejection('iss is not the app key of this installation', hint);
  const installation = candidates.find((i) => {
    try {
      decodeSymmetric(token, i.sharedSecret, SymmetricAlgorithm.HS256);
      return i.key === iss;
    } catch {
      return false;
    }
  });
  if (!installation) throw new AuthRejection('signature verification failed', hint);
  const nowSeconds = dir.now() / 1000;
  if (nowSeconds > exp + dir.jwtLeewaySeconds) throw new AuthRejection('token expired', hint);
  if (nbf !== undefined && nowSeconds + dir.jwtLeewaySeconds < nbf)
    throw new AuthRejection('token not yet valid (nbf)', hint);
  const expected = createQueryStringHash(fromMethodAndUrl(req.method, req.originalUrl), false);
  if (!equalHex(expected, qsh)) throw new AuthRejection('qsh does not match the request', hint);
  return { kind: 'connect', id: `connect:${installation.clientKey}`, installation };
}

function verifyBearer(dir: AuthDirectory, token: string): Principal {
  // Looked up by SHA-256 so the lookup time does not depend on how much of a token matches.
  const hash = createHash('sha256').update(token).digest('hex');
  const found = dir.accessTokenBySha256(hash);
  if (!found) throw new AuthRejection('unknown access token');
  return { kind: 'access-token', id: `token:${found.id}`, token: found };
}

function schemeOf(header: string | undefined): AuthFailure['scheme'] {
  if (!header) return 'none';
  const word = header.split(' ')[0] ?? '';
  if (word === 'JWT' || word === 'Bearer' || word === 'Basic') return word;
  return 'other';
}

export function authenticate(dir: AuthDirectory) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const header = req.headers.authorization;
    const scheme = schemeOf(header);
    try {
      if (scheme === 'JWT' && header) {
        res.locals.principal = verifyConnectJwt(dir, req, header.slice(4).trim());
      } else if (scheme === 'Bearer' && header) {
        res.locals.principal = verifyBearer(dir, header.slice(7).trim());
      } else {
        throw new AuthRejection(scheme === 'none' ? 'no credentials' : `unsupported authorization scheme ${scheme}`);
      }
      next();
    } catch (err) {
      if (!(err instanceof AuthRejection)) return next(err);
      const failure: AuthFailure = {
        method: req.method,
        path: req.originalUrl.split('?')[0] ?? req.path,
        scheme,
        reason: err.reason,
        at: dir.now(),
      };
      if (err.claims) failure.claims = err.claims;
      dir.recorder.authFailures.push(failure);
      res.setHeader('WWW-Authenticate', scheme === 'JWT' ? 'JWT realm="Bitbucket"' : 'Bearer realm="Bitbucket"');
      sendApiError(res, new ApiError(401, 'Access token expired or invalid. Authentication required.'));
    }
  };
}

export function principalOf(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw new ApiError(401, 'Authentication required.');
  return p;
}
