import type { IdentityRole } from '../core/policy/change-set';
import type { WorkspaceSettings } from '../store';

/**
 * Is a Bitbucket account one of the workspace's registered agent identities (settings `agents`)?
 * UUIDs compare without braces and case (`{ABC…}` and `abc…` are one account). A revoked account
 * (revocations.account_uuids) is still an agent: revocation takes trust away, never the label, so a
 * revoked agent's push is still an incident and its approval still does not count.
 */
export interface AgentIdentityMatch {
  accountUuid: string;
  role: IdentityRole;
  agentDid?: string;
  revoked: boolean;
}

export function normalizeAccountUuid(uuid: string): string {
  return uuid.trim().replace(/^\{/, '').replace(/\}$/, '').toLowerCase();
}

export function agentIdentityOf(
  settings: WorkspaceSettings,
  accountUuid: string | null | undefined,
): AgentIdentityMatch | null {
  if (!accountUuid) return null;
  const key = normalizeAccountUuid(accountUuid);
  const matches = settings.agents.filter((a) => normalizeAccountUuid(a.account_uuid) === key);
  if (matches.length === 0) return null;
  // An account registered twice with different roles acts with the weaker one (fail closed).
  const role: IdentityRole = matches.some((a) => a.role === 'read') ? 'read' : 'write';
  const did = matches.find((a) => a.agent_did !== undefined)?.agent_did;
  const revoked = settings.revocations.account_uuids.some((u) => normalizeAccountUuid(u) === key);
  return { accountUuid, role, ...(did !== undefined ? { agentDid: did } : {}), revoked };
}
