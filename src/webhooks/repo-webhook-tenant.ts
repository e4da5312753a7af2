/**
 * How a repository-webhook registration is keyed in the tenants table: one tenant per Bitbucket
 * workspace, client key `repo_webhooks:{workspace-uuid}`. The webhook receiver derives the same key
 * from the payload's `repository.workspace.uuid`, so no per-hook state and nothing secret is needed
 * in the hook URL.
 */

const WORKSPACE_UUID_PATTERN = /^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$/;

export const REPO_WEBHOOKS_CLIENT_KEY_PREFIX = 'repo_webhooks:';

/** `{uuid}` in lower case, or null when `value` is not a braced UUID. */
export function normalizeWorkspaceUuid(value: string): string | null {
  const lower = value.trim().toLowerCase();
  return WORKSPACE_UUID_PATTERN.test(lower) ? lower : null;
}

export function repoWebhooksClientKey(workspaceUuid: string): string {
  const normalized = normalizeWorkspaceUuid(workspaceUuid);
  if (normalized === null) throw new TypeError('a workspace UUID in braces is required');
  return `${REPO_WEBHOOKS_CLIENT_KEY_PREFIX}${normalized}`;
}
