import { EgressDeniedError, type RequestContext } from './errors';

/** Hosts a tenant's `baseApiUrl` may name when `CLAWGATE_ALLOWED_HOSTS` is unset (docs/api.md). */
export const DEFAULT_ALLOWED_HOSTS: readonly string[] = ['bitbucket.org', 'api.bitbucket.org'];

const LOOPBACK_HOSTNAMES = new Set(['127.0.0.1', '[::1]', 'localhost']);
const HOST_ENTRY =
  /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/;

/**
 * Parses `CLAWGATE_ALLOWED_HOSTS` (comma-separated `host[:port]`). Unset or blank → the default.
 * A malformed entry is a configuration error and throws, rather than silently narrowing or widening.
 */
export function parseAllowedHosts(value: string | undefined): readonly string[] {
  if (value === undefined || value.trim() === '') return DEFAULT_ALLOWED_HOSTS;
  const entries = value
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .filter((entry) => entry !== '');
  for (const entry of entries) {
    if (!HOST_ENTRY.test(entry)) throw new Error(`CLAWGATE_ALLOWED_HOSTS: "${entry}" is not host[:port]`);
  }
  return entries;
}

/**
 * Why a URL may not be called, or undefined when it may. An entry `host` matches only the scheme's
 * default port; `host:port` matches that port exactly (URL.host omits default ports, so comparing
 * `url.host` does both). Plain `http:` is allowed only to loopback (the sandbox), so a credential is
 * never sent in clear over a network.
 */
export function egressRefusal(url: URL, allowedHosts: readonly string[]): string | undefined {
  const host = url.host.toLowerCase();
  if (url.protocol === 'http:') {
    if (!LOOPBACK_HOSTNAMES.has(url.hostname.toLowerCase())) return `plain http to ${host} is not allowed`;
  } else if (url.protocol !== 'https:') {
    return `scheme ${url.protocol} is not allowed`;
  }
  if (url.username !== '' || url.password !== '') return 'URLs with credentials are not allowed';
  if (!allowedHosts.includes(host)) return `host ${host} is not in the egress allowlist`;
  return undefined;
}

/** Throws EgressDeniedError unless `url` may be called. */
export function assertEgressAllowed(url: URL, allowedHosts: readonly string[], context?: RequestContext): void {
  const refusal = egressRefusal(url, allowedHosts);
  if (refusal !== undefined)
    throw new EgressDeniedError(`egress denied: ${refusal}`, `${url.origin}${url.pathname}`, context);
}
