import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ConnectWriteAccess } from './authenticate';
import { accountRefFrom } from '../bitbucket';
import type { AppConfig } from '../config/app-config';
import { bitbucketClientFor } from '../pipeline/bitbucket-for-tenant';

/**
 * Who may change clawgate through the app's own pages (`/api/v1` with a Connect context JWT): only
 * workspace admins — `permission: owner` in `GET /2.0/workspaces/{ws}/permissions?q=user…` for the
 * JWT's `sub`. A PR panel is visible to every reader of a repository, so a page token alone proves
 * too little. A PR re-check needs only write access to that repository (the panel's button). `sub` may be an account id or a `{uuid}` (which one Bitbucket sends is UNCONFIRMED);
 * both are looked up. Anything that goes wrong (unknown sub, API refusal, network) denies.
 */
export function createConnectWriteAccess(deps: { config: AppConfig; logger: Logger; fetch?: typeof fetch }): ConnectWriteAccess {
  const log = deps.logger.child({ component: 'connect-write-access' });
  return async ({ workspaceId, accountId, tenant, intent }) => {
    try {
      const account = accountRefFrom(accountId);
      const client = bitbucketClientFor(tenant, deps.config, deps.logger, `write-access:${randomUUID()}`, deps.fetch);
      if (intent.kind === 'recheck') {
        // A re-check changes nothing but asks for a fresh verdict: anyone who can write to the repository.
        const repoPermission = await client.getRepositoryPermission(tenant.workspaceSlug ?? workspaceId, intent.repoSlug, account);
        const allowed = repoPermission === 'write' || repoPermission === 'admin';
        if (!allowed) log.info({ workspace: workspaceId, repo: intent.repoSlug, permission: repoPermission }, 're-check refused: no write access');
        return allowed;
      }
      const permission = await client.getWorkspacePermission(tenant.workspaceSlug ?? workspaceId, account);
      if (permission !== 'owner') log.info({ workspace: workspaceId, permission }, 'settings change refused: not a workspace admin');
      return permission === 'owner';
    } catch (error) {
      log.warn({ workspace: workspaceId, err: error instanceof Error ? { name: error.name, message: error.message } : String(error) }, 'workspace permission unknown; settings change refused');
      return false;
    }
  };
}
