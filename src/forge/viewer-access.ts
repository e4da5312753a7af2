import type { Logger } from 'pino';
import { accountRefFrom, type BitbucketClient } from '../bitbucket';
import type { Tenant } from '../store';

/**
 * Who may read clawgate's pages under Forge: the invocation token's `principal` must hold a permission
 * in the workspace (owner, collaborator or member), looked up with the same Bitbucket permission call
 * the Connect write check uses (`GET /2.0/workspaces/{ws}/permissions?q=user.account_id="…"`). Proof
 * that the installation exists is not enough: the panel is shown to anyone who can open the PR.
 * Changes (settings, policies, tokens) are checked again by the API's write access (workspace owner).
 * Any failure (unknown account, Bitbucket refusing or unreachable) denies. Answers are cached briefly
 * per installation and account so a page's burst of calls costs one lookup.
 */

export interface ViewerAccess {
  canView(tenant: Tenant, accountId: string, systemToken: string | null): Promise<boolean>;
}

export const VIEWER_CACHE_TTL_MS = 60_000;
const VIEWER_CACHE_MAX = 10_000;

export function createViewerAccess(deps: {
  logger: Logger;
  clientFor: (tenant: Tenant, systemToken: string | null) => BitbucketClient;
  nowMs?: () => number;
}): ViewerAccess {
  const cache = new Map<string, { allowed: boolean; until: number }>();
  const now = deps.nowMs ?? Date.now;
  return {
    async canView(tenant, accountId, systemToken) {
      const key = `${tenant.clientKey}\u0000${accountId}`;
      const hit = cache.get(key);
      if (hit !== undefined && hit.until > now()) return hit.allowed;
      let allowed: boolean;
      try {
        const permission = await deps
          .clientFor(tenant, systemToken)
          .getWorkspacePermission(tenant.workspaceSlug ?? tenant.workspaceId, accountRefFrom(accountId));
        allowed = permission !== null;
      } catch (error) {
        deps.logger.warn(
          { workspace: tenant.workspaceId, err: error instanceof Error ? error.message : String(error) },
          'forge: viewer permission unknown; denied',
        );
        return false;
      }
      if (cache.size >= VIEWER_CACHE_MAX) cache.clear();
      cache.set(key, { allowed, until: now() + VIEWER_CACHE_TTL_MS });
      return allowed;
    },
  };
}
