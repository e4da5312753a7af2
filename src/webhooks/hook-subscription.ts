/**
 * Where Bitbucket delivers clawgate's repository webhooks (design §9: `POST /hooks/bitbucket`) and
 * how they are described. The events they subscribe to are SUBSCRIBED_WEBHOOK_EVENTS
 * (subscribed-events.ts), the same as the Connect descriptor's.
 */

export const REPO_WEBHOOK_PATH = '/hooks/bitbucket';

export const REPO_WEBHOOK_DESCRIPTION = 'clawgate';

/** The delivery URL under the service's public base URL (APP_BASE_URL). */
export function repoWebhookUrl(appBaseUrl: string): string {
  return `${appBaseUrl.replace(/\/+$/, '')}${REPO_WEBHOOK_PATH}`;
}
