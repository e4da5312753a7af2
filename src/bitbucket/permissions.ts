import { z } from 'zod';
import { BitbucketInputError } from './errors';

/**
 * Who may do what in a workspace or repository (Bitbucket Cloud OpenAPI):
 * - `GET /2.0/workspaces/{workspace}/permissions?q=user.uuid="{…}"` → `paginated_workspace_memberships`,
 *   `permission` ∈ owner | collaborator | member (scope `account`);
 * - `GET /2.0/workspaces/{workspace}/permissions/repositories/{repo_slug}?q=user.uuid="{…}"` →
 *   `paginated_repository_permissions`, `permission` ∈ admin | write | read | none (scope
 *   `repository`; the spec says only repository admins may read it — whether a Connect app's JWT
 *   counts is UNCONFIRMED, so a refusal is a "permission unknown", which callers treat as no access).
 * Both are filtered with BBQL; the account reference is validated before it goes into the query so a
 * crafted id cannot widen the filter.
 */

export const REPOSITORY_PERMISSIONS = ['admin', 'write', 'read', 'none'] as const;
export type RepositoryPermission = (typeof REPOSITORY_PERMISSIONS)[number];

export const WORKSPACE_PERMISSIONS = ['owner', 'collaborator', 'member'] as const;
export type WorkspacePermission = (typeof WORKSPACE_PERMISSIONS)[number];

const permissionUserSchema = z.looseObject({ uuid: z.string().optional(), account_id: z.string().optional() });

/** An item of `paginated_repository_permissions`. Unknown permission words read as `none` (fail closed). */
export const repositoryPermissionSchema = z.looseObject({
  permission: z
    .string()
    .transform((value): RepositoryPermission =>
      (REPOSITORY_PERMISSIONS as readonly string[]).includes(value) ? (value as RepositoryPermission) : 'none',
    ),
  user: permissionUserSchema.optional(),
});

/** An item of `paginated_workspace_memberships`. Unknown permission words read as `member`. */
export const workspaceMembershipSchema = z.looseObject({
  permission: z
    .string()
    .transform((value): WorkspacePermission =>
      (WORKSPACE_PERMISSIONS as readonly string[]).includes(value) ? (value as WorkspacePermission) : 'member',
    ),
  user: permissionUserSchema.optional(),
});

/** `GET /2.0/user/workspaces/{ws}/permission` (the caller's own role). */
export const ownWorkspacePermissionSchema = z.looseObject({
  permission: z
    .string()
    .transform((value): WorkspacePermission =>
      (WORKSPACE_PERMISSIONS as readonly string[]).includes(value) ? (value as WorkspacePermission) : 'member',
    ),
});

/** An item of the caller's own `paginated_repository_permissions`: which repository it names matters. */
export const ownRepositoryPermissionSchema = z.looseObject({
  permission: z
    .string()
    .transform((value): RepositoryPermission =>
      (REPOSITORY_PERMISSIONS as readonly string[]).includes(value) ? (value as RepositoryPermission) : 'none',
    ),
  repository: z.looseObject({ full_name: z.string().max(300).optional() }).optional(),
});

const BRACED_UUID = /^\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}$/;
/** Atlassian account ids: `557058:<uuid>` or 24 hex (and similar): no quotes, spaces or operators. */
const ACCOUNT_ID = /^[A-Za-z0-9:_-]{1,128}$/;

/** How an account is referred to: its `{uuid}` (webhook actors) or its Atlassian account id (JWT `sub`). */
export type AccountRef = { uuid: string } | { accountId: string };

/** `{uuid}` → by uuid; anything that looks like an account id → by account id; else an input error. */
export function accountRefFrom(value: string): AccountRef {
  const trimmed = value.trim();
  if (BRACED_UUID.test(trimmed)) return { uuid: trimmed.toLowerCase() };
  if (/^[0-9a-fA-F-]{36}$/.test(trimmed)) return { uuid: `{${trimmed.toLowerCase()}}` };
  if (ACCOUNT_ID.test(trimmed)) return { accountId: trimmed };
  throw new BitbucketInputError('account reference is neither a {uuid} nor an account id');
}

/** The BBQL filter for one account: `user.uuid="{…}"` or `user.account_id="…"`. */
export function accountFilter(account: AccountRef): string {
  if ('uuid' in account) {
    if (!BRACED_UUID.test(account.uuid)) throw new BitbucketInputError('account uuid must be a {uuid}');
    return `user.uuid="${account.uuid}"`;
  }
  if (!ACCOUNT_ID.test(account.accountId))
    throw new BitbucketInputError('account id has characters an account id never has');
  return `user.account_id="${account.accountId}"`;
}

/** True when the listed user is the account asked about (the server's filter is not trusted alone). */
export function isSameAccount(
  user: { uuid?: string | undefined; account_id?: string | undefined } | undefined,
  account: AccountRef,
): boolean {
  if (user === undefined) return false;
  if ('uuid' in account) return user.uuid !== undefined && user.uuid.toLowerCase() === account.uuid.toLowerCase();
  return user.account_id !== undefined && user.account_id === account.accountId;
}

const REPOSITORY_RANK: Record<RepositoryPermission, number> = { none: 0, read: 1, write: 2, admin: 3 };

/** The highest of several listed permissions (effective permission), `none` for an empty list. */
export function highestRepositoryPermission(permissions: readonly RepositoryPermission[]): RepositoryPermission {
  return permissions.reduce<RepositoryPermission>(
    (best, p) => (REPOSITORY_RANK[p] > REPOSITORY_RANK[best] ? p : best),
    'none',
  );
}

/** write or admin: may push, merge, and (for clawgate) ask for a re-check. */
export function canWrite(permission: RepositoryPermission): boolean {
  return REPOSITORY_RANK[permission] >= REPOSITORY_RANK.write;
}
