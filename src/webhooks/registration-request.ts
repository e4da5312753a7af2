import { z } from 'zod';
import { egressRefusal } from '../bitbucket';

/**
 * The body of `POST /api/v1/workspaces` (and what `clawgate workspace add` builds from its flags):
 * `{workspace, access_token, repositories?, base_api_url?}`, validated before anything is called.
 * Field paths in errors are the body's snake_case names.
 */

export const DEFAULT_BASE_API_URL = 'https://api.bitbucket.org';
/** Each hook is one API call from the workspace's 1,000/hour budget; more than this is a mistake. */
export const MAX_REPOSITORIES = 250;

/** Bitbucket workspace and repository slugs: letters, digits, `-`, `_`, `.`; never `.` or `..`. */
const slug = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_.-]+$/, 'must be a slug (letters, digits, - _ .)')
  .refine((value) => value !== '.' && value !== '..', 'must be a slug');

/** The token goes into an Authorization header: printable ASCII without spaces, bounded. */
const accessToken = z
  .string()
  .min(1)
  .max(4096)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

export const registrationRequestSchema = z.strictObject({
  workspace: slug,
  access_token: accessToken,
  repositories: z
    .array(slug)
    .min(1)
    .max(MAX_REPOSITORIES)
    .refine((list) => new Set(list.map((s) => s.toLowerCase())).size === list.length, 'must not repeat a repository')
    .optional(),
  base_api_url: z.string().max(2048).optional(),
});

export type RegistrationRequest = z.infer<typeof registrationRequestSchema>;

export interface RegistrationFieldError {
  readonly path: string;
  readonly message: string;
}

/**
 * The API base as an origin (`https://api.bitbucket.org`), or the reason it is refused: not a URL, a
 * path/query/fragment, or a host outside `allowedHosts` (no SSRF, no token sent to a stranger).
 */
export function checkBaseApiUrl(
  value: string | undefined,
  allowedHosts: readonly string[],
): { origin: string } | { refusal: string } {
  let url: URL;
  try {
    url = new URL(value ?? DEFAULT_BASE_API_URL);
  } catch {
    return { refusal: 'must be a URL' };
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '')
    return { refusal: 'must be an origin (scheme, host and port only)' };
  const refusal = egressRefusal(url, allowedHosts);
  if (refusal !== undefined) return { refusal: `${refusal} (CLAWGATE_ALLOWED_HOSTS)` };
  return { origin: url.origin };
}
