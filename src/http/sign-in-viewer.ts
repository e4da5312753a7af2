import type { Logger } from 'pino';
import { bearerAuth, createBitbucketClient } from '../bitbucket';
import type { AppConfig } from '../config/app-config';
import type { Store } from '../store';
import { createViewerPermissions, type ViewerPermissions } from './viewer-permissions';

/**
 * What a person who signed in with Bitbucket may see, asked of Bitbucket with THEIR OWN token (the
 * newest live session's): `GET /2.0/user/workspaces/{ws}/permission` (workspace admin = `owner`) and
 * `GET /2.0/user/workspaces/{ws}/permissions/repositories?q=repository.full_name="ws/slug"`. Cached
 * and failing closed like every viewer question (viewer-permissions.ts): no live session, no
 * repository-webhook registration, Bitbucket refusing or down → denied. The token goes only to the
 * registration's own API base URL (allowlisted hosts only) and is never logged.
 */
export function createSignInViewerPermissions(deps: {
  store: Pick<Store, 'signIns' | 'tenants'>;
  config: Pick<AppConfig, 'allowedHosts'>;
  logger: Logger;
  fetch?: typeof fetch;
  now?: () => Date;
  ttlMs?: number;
}): ViewerPermissions {
  const now = deps.now ?? (() => new Date());
  return createViewerPermissions({
    logger: deps.logger,
    ...(deps.ttlMs === undefined ? {} : { ttlMs: deps.ttlMs }),
    clientFor: async (workspaceId, account) => {
      const session = await deps.store.signIns.newestLiveSession(workspaceId, account, now());
      if (session === null) throw new Error('no live sign-in session for this person');
      const tenant = (await deps.store.tenants.listForWorkspace(workspaceId)).find(
        (candidate) => candidate.surface === 'repo_webhooks' && candidate.uninstalledAt === null,
      );
      if (tenant === undefined || tenant.baseApiUrl === null)
        throw new Error('the workspace has no active repository-webhook registration');
      const token = session.userToken;
      const client = createBitbucketClient({
        baseApiUrl: tenant.baseApiUrl,
        auth: bearerAuth(() => token.reveal()),
        allowedHosts: deps.config.allowedHosts,
        logger: deps.logger,
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
      });
      const slug = tenant.workspaceSlug;
      if (slug === null) throw new Error('the registration names no workspace slug');
      return {
        getRepositoryAccess: async (_workspace, repoSlug) => ({
          permission: await client.getOwnRepositoryPermission(slug, repoSlug),
          accountUuid: session.accountUuid,
        }),
        getWorkspacePermission: () => client.getOwnWorkspacePermission(slug),
      };
    },
  });
}
