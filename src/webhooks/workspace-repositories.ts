import { z } from 'zod';
import type { BitbucketClient } from '../bitbucket';
import { pathSegment } from '../bitbucket/request-target';

/**
 * Every repository the access token can see in a workspace (`GET /2.0/repositories/{workspace}`,
 * paginated at 100). A repository access token sees its one repository; a workspace token all.
 * Kept here rather than in the client because only registration needs it.
 */

const repositoryListItemSchema = z.looseObject({
  slug: z.string().min(1).max(100),
  full_name: z.string().min(3).max(201),
});

export async function listWorkspaceRepositorySlugs(
  client: BitbucketClient,
  workspace: string,
  pageCap: number,
): Promise<string[]> {
  const items = await client.paginate(
    `/2.0/repositories/${pathSegment(workspace, 'workspace')}`,
    repositoryListItemSchema,
    { pageCap },
  );
  return items.map((item) => item.slug);
}
