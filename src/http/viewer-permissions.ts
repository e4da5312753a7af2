import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import {
  accountRefFrom,
  type BitbucketClient,
  type RepositoryPermission,
  type WorkspacePermission,
} from '../bitbucket';

/**
 * What a person (a page viewer: Connect page JWT, a later Forge page or an OAuth session) may see or
 * do, asked of Bitbucket — a page token only proves that someone saw one of the app's pages in the
 * workspace, which every reader of any repository can. Not tied to any surface: give it a way to get
 * a Bitbucket client for the workspace and the viewer's account (`{uuid}` or account id).
 *
 * - `repository` (read or write): the viewer's effective permission on that repository
 *   (`GET /2.0/workspaces/{ws}/permissions/repositories/{slug}?q=user…`);
 * - `workspace_admin`: the viewer's workspace role is `owner` (settings, policies, tokens, audit).
 *
 * Answers are cached briefly (default 60 s, per workspace + account + question) so a page's burst of
 * calls costs one Bitbucket request, and a revoked permission stops working within the TTL. Anything
 * that goes wrong (unknown account format, Bitbucket refuses or is down) denies and is not cached.
 */

export type ViewerNeed =
  | { readonly kind: 'workspace_admin' }
  | { readonly kind: 'repository'; readonly repoSlug: string; readonly level: 'read' | 'write' };

export interface ViewerQuery {
  /** Workspace UUID in braces, lower case. */
  readonly workspaceId: string;
  /** The slug if known (Bitbucket paths accept either). */
  readonly workspaceSlug: string | null;
  /** The viewer: `{uuid}` or an Atlassian account id, as the surface authenticated it. */
  readonly account: string;
  readonly need: ViewerNeed;
}

export interface ViewerDecision {
  readonly allowed: boolean;
  /** Why not, for logs and audit: `not_permitted` or `unknown` (could not be asked: denied). */
  readonly reason?: 'not_permitted' | 'unknown';
  /** The viewer's repository permission (repository questions), as Bitbucket answered. */
  readonly repositoryPermission?: RepositoryPermission;
  /** The viewer's workspace role (admin questions); null when not a member. */
  readonly workspacePermission?: WorkspacePermission | null;
  /** The viewer's `{uuid}` when Bitbucket named it (repository questions), for agent-identity checks. */
  readonly accountUuid?: string | null;
}

export type ViewerPermissions = (query: ViewerQuery) => Promise<ViewerDecision>;

/** What the check needs of Bitbucket for one workspace. */
export type ViewerPermissionClient = Pick<BitbucketClient, 'getRepositoryAccess' | 'getWorkspacePermission'>;

export interface ViewerPermissionsOptions {
  /** A client for the workspace (the viewer's account is given for clients that act as the viewer: Sign in with Bitbucket). */
  readonly clientFor: (workspaceId: string, account: string) => Promise<ViewerPermissionClient>;
  readonly logger: Logger;
  /** How long an answer is reused (default 60 s). */
  readonly ttlMs?: number;
  /** Most answers kept (default 10,000). */
  readonly maxEntries?: number;
}

export const VIEWER_PERMISSION_TTL_MS = 60_000;

type Cached =
  | { readonly repositoryPermission: RepositoryPermission; readonly accountUuid: string | null }
  | { readonly workspacePermission: WorkspacePermission | null };

const RANK: Record<RepositoryPermission, number> = { none: 0, read: 1, write: 2, admin: 3 };

function decide(need: ViewerNeed, cached: Cached): ViewerDecision {
  if ('workspacePermission' in cached) {
    const allowed = cached.workspacePermission === 'owner';
    return {
      allowed,
      ...(allowed ? {} : { reason: 'not_permitted' as const }),
      workspacePermission: cached.workspacePermission,
    };
  }
  const required = need.kind === 'repository' ? need.level : 'admin';
  const allowed = RANK[cached.repositoryPermission] >= RANK[required];
  return {
    allowed,
    ...(allowed ? {} : { reason: 'not_permitted' as const }),
    repositoryPermission: cached.repositoryPermission,
    accountUuid: cached.accountUuid,
  };
}

export function createViewerPermissions(options: ViewerPermissionsOptions): ViewerPermissions {
  const log = options.logger.child({ component: 'viewer-permissions' });
  const cache = new LRUCache<string, Cached>({
    max: options.maxEntries ?? 10_000,
    ttl: options.ttlMs ?? VIEWER_PERMISSION_TTL_MS,
  });
  return async (query) => {
    const { need } = query;
    // Read and write are one Bitbucket answer (the permission), so they share a cache entry.
    const key = JSON.stringify([
      query.workspaceId,
      query.account,
      need.kind === 'repository' ? ['repo', need.repoSlug] : ['workspace'],
    ]);
    let cached = cache.get(key);
    if (cached === undefined) {
      try {
        const account = accountRefFrom(query.account);
        const client = await options.clientFor(query.workspaceId, query.account);
        const workspace = query.workspaceSlug ?? query.workspaceId;
        if (need.kind === 'repository') {
          const access = await client.getRepositoryAccess(workspace, need.repoSlug, account);
          cached = { repositoryPermission: access.permission, accountUuid: access.accountUuid };
        } else {
          cached = { workspacePermission: await client.getWorkspacePermission(workspace, account) };
        }
        cache.set(key, cached);
      } catch (error) {
        log.warn(
          {
            workspace: query.workspaceId,
            need: need.kind,
            err: error instanceof Error ? { name: error.name, message: error.message } : String(error),
          },
          'viewer permission unknown; denied',
        );
        return { allowed: false, reason: 'unknown' };
      }
    }
    return decide(need, cached);
  };
}
