import { BitbucketInputError } from './errors';

/**
 * Building and describing request URLs: path segments encoded so caller data can never change the
 * shape of the path, the API-relative path the Connect qsh is computed over, and a loggable form.
 */

export type QueryValue = string | number | boolean | readonly string[];
export type Query = Readonly<Record<string, QueryValue | undefined>>;

/**
 * One path segment (workspace, repo slug, report id…), percent-encoded. `''`, `.` and `..` are refused
 * because the URL parser would resolve them (even as `%2e%2e`) and move the request to another path.
 */
export function pathSegment(value: string, what: string): string {
  if (
    value === '' ||
    value === '.' ||
    value === '..' ||
    value.toLowerCase() === '%2e' ||
    value.toLowerCase() === '%2e%2e'
  ) {
    throw new BitbucketInputError(`${what} "${value}" is not a usable path segment`);
  }
  return encodeURIComponent(value);
}

/** A repository file path: every segment encoded, the `/` between segments kept. */
export function filePathSegments(path: string): string {
  if (path.length === 0) throw new BitbucketInputError('file path is empty');
  return path
    .split('/')
    .map((segment) => pathSegment(segment, 'file path segment'))
    .join('/');
}

const FULL_COMMIT_HASH = /^[0-9a-f]{40}$/;
const COMMIT_HASH_PREFIX = /^[0-9a-f]{7,40}$/i;

export function isFullCommitHash(value: string): boolean {
  return FULL_COMMIT_HASH.test(value);
}

/** Writes (statuses, reports) are keyed on full SHAs only; a 12-char PR hash must be resolved first. */
export function requireFullCommitHash(value: string): string {
  if (!FULL_COMMIT_HASH.test(value)) throw new BitbucketInputError(`"${value}" is not a full 40-hex commit hash`);
  return value;
}

export function requireCommitHashPrefix(value: string): string {
  if (!COMMIT_HASH_PREFIX.test(value)) throw new BitbucketInputError(`"${value}" is not a commit hash (7–40 hex)`);
  return value.toLowerCase();
}

/** The API base: its origin and its path prefix (`''` for `https://api.bitbucket.org`, never a trailing `/`). */
export interface ApiBase {
  url: URL;
  origin: string;
  basePath: string;
}

/** The API base as given in the install payload (`https://api.bitbucket.org`), normalised. */
export function parseApiBase(baseApiUrl: string): ApiBase {
  let url: URL;
  try {
    url = new URL(baseApiUrl);
  } catch {
    throw new BitbucketInputError(`baseApiUrl "${baseApiUrl}" is not a URL`);
  }
  if (url.search !== '' || url.hash !== '')
    throw new BitbucketInputError('baseApiUrl must not carry a query or fragment');
  return { url, origin: url.origin, basePath: url.pathname.replace(/\/+$/, '') };
}

/** `path` (starting with `/`, e.g. `/2.0/user`) under the API base, with `query` appended. */
export function apiUrl(apiBase: ApiBase, path: string, query?: Query): URL {
  if (!path.startsWith('/')) throw new BitbucketInputError(`API path "${path}" must start with /`);
  const url = new URL(`${apiBase.origin}${apiBase.basePath}${path}`);
  if (query) {
    for (const [name, value] of Object.entries(query)) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const item of value as readonly string[]) url.searchParams.append(name, item);
      else url.searchParams.append(name, String(value));
    }
  }
  return url;
}

/** True when `url` is on the API origin and under its base path — the only URLs we send credentials to. */
export function isUnderApiBase(url: URL, apiBase: ApiBase): boolean {
  if (url.origin !== apiBase.origin) return false;
  return (
    apiBase.basePath === '' || url.pathname === apiBase.basePath || url.pathname.startsWith(`${apiBase.basePath}/`)
  );
}

/** Path + query relative to the API base (`/2.0/...?...`): what a Connect qsh is computed over. */
export function apiRelativePath(url: URL, apiBase: ApiBase): string {
  const path =
    apiBase.basePath !== '' && url.pathname.startsWith(apiBase.basePath)
      ? url.pathname.slice(apiBase.basePath.length)
      : url.pathname;
  return `${path || '/'}${url.search}`;
}

/** Path and query for logs and error messages, with any `jwt` parameter removed. */
export function loggablePath(url: URL): string {
  if (!url.searchParams.has('jwt')) return `${url.pathname}${url.search}`;
  const params = new URLSearchParams(url.search);
  params.delete('jwt');
  const search = params.toString();
  return `${url.pathname}${search ? `?${search}` : ''}`;
}
