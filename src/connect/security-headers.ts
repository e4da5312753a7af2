import type { RequestHandler } from 'express';

/**
 * Response headers required of cloud apps (docs/operations.md, Atlassian's Marketplace security baseline):
 * HSTS for a year, no MIME sniffing, no referrer (iframe URLs carry `?jwt=`), and a CSP that lets
 * only Bitbucket and the configured hosts frame the pages and only the host's `all.js` run beside
 * our own scripts. No X-Frame-Options: the pages exist to be framed (CSP frame-ancestors decides).
 */

const BITBUCKET_ORIGIN = 'https://bitbucket.org';

/** `host[:port]` entries as CSP host-sources: without a scheme they match the page's own scheme (https in production). */
function hostSources(allowedHosts: readonly string[]): string[] {
  return allowedHosts.filter((host) => /^[a-z0-9.[\]:-]+$/i.test(host));
}

function scriptOrigin(hostScriptUrl: string): string {
  try {
    return new URL(hostScriptUrl).origin;
  } catch {
    // A relative script URL is served by us.
    return "'self'";
  }
}

export function contentSecurityPolicy(options: { hostScriptUrl: string; allowedHosts: readonly string[] }): string {
  const ancestors = [...new Set(["'self'", BITBUCKET_ORIGIN, ...hostSources(options.allowedHosts)])];
  const scripts = [...new Set(["'self'", scriptOrigin(options.hostScriptUrl)])];
  return [
    "default-src 'self'",
    `script-src ${scripts.join(' ')}`,
    // Atlaskit styles are injected at runtime (emotion).
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: https:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${ancestors.join(' ')}`,
  ].join('; ');
}

export function securityHeaders(options: { hostScriptUrl: string; allowedHosts: readonly string[] }): RequestHandler {
  const csp = contentSecurityPolicy(options);
  return (_req, res, next) => {
    res.setHeader('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Content-Security-Policy', csp);
    next();
  };
}
