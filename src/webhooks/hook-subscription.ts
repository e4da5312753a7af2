/**
 * Where Bitbucket delivers clawgate's repository webhooks (docs/api.md: `POST /hooks/bitbucket`) and
 * how they are described. The events they subscribe to are SUBSCRIBED_WEBHOOK_EVENTS
 * (subscribed-events.ts), the same as the Connect descriptor's.
 */

/** The URL of hooks registered before per-workspace URLs: the tenant is read from the (signed) body. */
export const REPO_WEBHOOK_PATH = '/hooks/bitbucket';
/**
 * Per-workspace delivery URL of new registrations: `/hooks/bitbucket/w/<workspace uuid without braces>`.
 * The uuid is an identifier, not a secret; it lets the receiver find the webhook secret and check the
 * HMAC before it parses a byte of the body.
 */
export const REPO_WEBHOOK_WORKSPACE_PATH = `${REPO_WEBHOOK_PATH}/w/:workspace`;

export const REPO_WEBHOOK_DESCRIPTION = 'clawgate';

/** The delivery URL of a workspace's hooks under the service's public base URL (APP_BASE_URL). */
export function repoWebhookUrl(appBaseUrl: string, workspaceUuid: string): string {
  const bare = workspaceUuid.trim().replace(/^\{/, '').replace(/\}$/, '').toLowerCase();
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(bare))
    throw new TypeError('a workspace UUID is required');
  return `${appBaseUrl.replace(/\/+$/, '')}${REPO_WEBHOOK_PATH}/w/${bare}`;
}

/**
 * Every URL a clawgate hook of this workspace may point at: the per-workspace one new registrations
 * use, and the legacy shared one that hooks registered before it keep until re-registered.
 */
export function clawgateHookUrls(appBaseUrl: string, workspaceUuid: string): readonly string[] {
  return [repoWebhookUrl(appBaseUrl, workspaceUuid), `${appBaseUrl.replace(/\/+$/, '')}${REPO_WEBHOOK_PATH}`];
}
