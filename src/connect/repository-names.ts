import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/app-config';
import { bitbucketClientFor } from '../pipeline/bitbucket-for-tenant';
import type { Tenant } from '../store';

/**
 * The PR panel's URL names the repository by `{repository.uuid}` (descriptor.ts), while evaluations,
 * the API and re-checks name it `workspace/repo_slug`. One `GET /2.0/repositories/{ws}/{uuid}` turns
 * the one into the other; answers are kept a few minutes (a panel is loaded on every PR view, and the
 * hourly API budget is shared with the pipeline), so a rename shows up after at most that long.
 * Returns null when Bitbucket cannot say (the page then shows a clawgate error, never a guess).
 */
export type RepositoryNameResolver = (tenant: Tenant, repoUuid: string) => Promise<string | null>;

const TTL_MS = 5 * 60 * 1000;
const MAX_ENTRIES = 1000;

export function createRepositoryNameResolver(deps: {
  config: AppConfig;
  logger: Logger;
  fetch?: typeof globalThis.fetch;
  now?: () => number;
}): RepositoryNameResolver {
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ component: 'repository-names' });
  const cache = new Map<string, { fullName: string; at: number }>();
  return async (tenant, repoUuid) => {
    const key = `${tenant.clientKey}\u0000${repoUuid.toLowerCase()}`;
    const hit = cache.get(key);
    if (hit !== undefined && now() - hit.at < TTL_MS) return hit.fullName;
    try {
      const client = bitbucketClientFor(tenant, deps.config, deps.logger, `page:${randomUUID()}`, deps.fetch);
      const repository = await client.getRepository(tenant.workspaceSlug ?? tenant.workspaceId, repoUuid);
      cache.delete(key);
      cache.set(key, { fullName: repository.full_name, at: now() });
      // Oldest first in insertion order: drop it when full.
      if (cache.size > MAX_ENTRIES) cache.delete(cache.keys().next().value ?? '');
      return repository.full_name;
    } catch (error) {
      log.warn(
        {
          workspace: tenant.workspaceId,
          err: error instanceof Error ? { name: error.name, message: error.message } : String(error),
        },
        'repository name unknown',
      );
      return null;
    }
  };
}
