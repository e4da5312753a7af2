import type { Request } from 'express';
import { parse as parseCookies } from 'cookie';
import { decodeSymmetric, encodeSymmetric, SymmetricAlgorithm } from 'atlassian-jwt';
import { z } from 'zod';
import type { SignInRepository, SignInSession } from '../store';

/**
 * Sessions of people who signed in with Bitbucket (docs/sign-in.md), as the HTTP surfaces see them:
 * - the session cookie (`clawgate_session`, HttpOnly, SameSite=Lax): `<session id>.<secret>`, proven
 *   against the stored hash (store/sign-in.ts); it opens the pages;
 * - the page token the shell hands the page for its `/api/v1` calls (`Authorization: JWT …`, the
 *   pages' usual header): HS256 with the session's own random signing key, `iss` =
 *   `clawgate-signin:<session id>`, `aud` = the workspace, `sub` = the person's `{uuid}`, `exp` = the
 *   session's end. The session ends no later than the Bitbucket token it came from, is checked live
 *   on every request (sign-out or a removed consumer ends it at once), and no Connect tenant can
 *   accept it (its `iss` names no client key).
 */

export const SIGN_IN_SESSION_COOKIE = 'clawgate_session';
export const SIGN_IN_BINDING_COOKIE = 'clawgate_signin';
export const SIGN_IN_ISSUER_PREFIX = 'clawgate-signin:';
/** A page token is a few hundred bytes. */
const MAX_TOKEN_LENGTH = 4096;

/** One cookie of the request (the `cookie` package parses the header); undefined when absent. */
export function requestCookie(request: Pick<Request, 'headers'>, name: string): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string' || header.length === 0 || header.length > 8192) return undefined;
  return parseCookies(header)[name];
}

export function createSignInPageToken(session: SignInSession, now: Date): string {
  const iat = Math.floor(now.getTime() / 1000);
  const exp = Math.floor(session.expiresAt.getTime() / 1000);
  return encodeSymmetric(
    { iss: `${SIGN_IN_ISSUER_PREFIX}${session.id}`, aud: session.workspaceId, sub: session.accountUuid, iat, exp },
    session.signingKey.reveal(),
    SymmetricAlgorithm.HS256,
  );
}

function segment(value: string | undefined): unknown {
  if (value === undefined || !/^[A-Za-z0-9_-]*$/.test(value)) return undefined;
  try {
    return JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

const claimsSchema = z.looseObject({
  iss: z.string().startsWith(SIGN_IN_ISSUER_PREFIX).max(100),
  aud: z.string().max(64),
  sub: z.string().max(64),
  exp: z.number().finite(),
});

/** Does this token claim to be a sign-in page token? (unverified: only to choose the verifier) */
export function isSignInToken(token: string): boolean {
  if (token.length > MAX_TOKEN_LENGTH) return false;
  const payload = segment(token.split('.')[1]);
  return (
    typeof payload === 'object' &&
    payload !== null &&
    'iss' in payload &&
    typeof payload.iss === 'string' &&
    payload.iss.startsWith(SIGN_IN_ISSUER_PREFIX)
  );
}

/** The live session a page token proves, or null (bad signature, expired, ended, or claims that disagree with the session). */
export async function verifySignInToken(
  token: string,
  signIns: Pick<SignInRepository, 'liveSession'>,
  now: Date,
): Promise<SignInSession | null> {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const header = segment(parts[0]);
  // HS256 only, decided before any key is used.
  if (typeof header !== 'object' || header === null || !('alg' in header) || header.alg !== 'HS256') return null;
  const claims = claimsSchema.safeParse(segment(parts[1]));
  if (!claims.success) return null;
  const session = await signIns.liveSession(claims.data.iss.slice(SIGN_IN_ISSUER_PREFIX.length), now);
  if (session === null) return null;
  try {
    decodeSymmetric(token, session.signingKey.reveal(), SymmetricAlgorithm.HS256);
  } catch {
    return null;
  }
  if (
    claims.data.exp * 1000 <= now.getTime() ||
    claims.data.aud !== session.workspaceId ||
    claims.data.sub !== session.accountUuid
  )
    return null;
  return session;
}
