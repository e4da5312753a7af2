import { decodeJwt } from 'jose';

/** A compact JWT's claims WITHOUT verifying it (only to read `exp` of a token already judged). */
export function decodeJwtClaimsUnverified(token: string): { exp?: number } | null {
  try {
    const claims = decodeJwt(token);
    return typeof claims.exp === 'number' ? { exp: claims.exp } : {};
  } catch {
    return null;
  }
}
