import { canWrite, type RepositoryPermission } from '../bitbucket';
import type { WorkspaceSettings } from '../store';
import { agentIdentityOf } from './agent-identities';

/**
 * The one rule for who may ask for a re-check, on every path (the `/clawgate recheck` comment, the
 * panel's button through `/api/v1`, any later surface): a person who is not a registered agent
 * identity (revoked or not), whose account is known, and who has write (or admin) permission on the
 * repository. An agent never re-checks its own PR (it would re-roll a verdict it dislikes, e.g. after
 * changing settings it should not reach, or to burn the workspace's API budget).
 */
export type RecheckRefusal = 'agent_identity' | 'unknown_actor' | 'no_write_access';

export function recheckRefusal(
  settings: WorkspaceSettings,
  actorUuid: string | null | undefined,
  permission: RepositoryPermission,
): RecheckRefusal | null {
  if (agentIdentityOf(settings, actorUuid) !== null) return 'agent_identity';
  if (actorUuid === null || actorUuid === undefined || actorUuid === '') return 'unknown_actor';
  return canWrite(permission) ? null : 'no_write_access';
}
