import type { ApiPrincipal } from '../http/authenticate';

/**
 * A repository named in a request (`?repo=` or a `{repo}` path segment), as the slug (`widgets`) or
 * the full name (`acme/widgets`, or `%2F`-encoded in a path): the workspace is already in the path,
 * so both name the same repository. Returns the slug, the full name (a slug is put under the
 * workspace's slug; a full name naming the caller's workspace by slug or uuid is normalised to its
 * slug) and whether it names the caller's workspace; null when malformed. Reads stay scoped to the
 * caller's workspace whatever the name says; actions on a repository need `own`.
 */

const SLUG = /^[A-Za-z0-9._-]{1,100}$/;

function isSlug(value: string): boolean {
  return SLUG.test(value) && value !== '.' && value !== '..';
}

export interface RepositoryName {
  readonly slug: string;
  readonly fullName: string;
  readonly own: boolean;
}

export function repositoryName(
  value: unknown,
  principal: Pick<ApiPrincipal, 'workspaceId' | 'workspaceSlug'>,
): RepositoryName | null {
  if (typeof value !== 'string') return null;
  const parts = value.split('/');
  const workspace = principal.workspaceSlug ?? principal.workspaceId;
  if (parts.length === 1) return isSlug(value) ? { slug: value, fullName: `${workspace}/${value}`, own: true } : null;
  const [owner, slug] = parts;
  if (
    parts.length !== 2 ||
    owner === undefined ||
    slug === undefined ||
    !isSlug(slug) ||
    !(isSlug(owner) || /^\{[0-9a-f-]{36}\}$/i.test(owner))
  )
    return null;
  const own =
    owner.toLowerCase() === principal.workspaceId.toLowerCase() ||
    (principal.workspaceSlug !== null && owner.toLowerCase() === principal.workspaceSlug.toLowerCase());
  return { slug, fullName: own ? `${workspace}/${slug}` : value, own };
}

export const REPOSITORY_NAME_MESSAGE =
  'must be a repository of this workspace: its slug ("widgets") or full name ("workspace/widgets")';
