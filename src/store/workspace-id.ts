import { StoreError } from './errors';

/**
 * Every workspace-scoped table is keyed by the Bitbucket workspace UUID, braces included
 * (`{0f3c…}`), as Bitbucket sends it; it never changes, unlike the slug. Repository methods take
 * it first and put it in every WHERE clause: that is the tenant isolation boundary.
 */
export type WorkspaceId = string;

const WORKSPACE_ID_PATTERN = /^\{[0-9a-f-]{1,62}\}$/;

/** Validates a workspace id and returns its stored form (lower case, as Bitbucket emits it). */
export function workspaceKey(workspaceId: WorkspaceId): string {
  const normalized = typeof workspaceId === 'string' ? workspaceId.toLowerCase() : '';
  if (!WORKSPACE_ID_PATTERN.test(normalized)) {
    throw new StoreError('INVALID_INPUT', 'workspace id must be a Bitbucket workspace UUID in braces');
  }
  return normalized;
}
