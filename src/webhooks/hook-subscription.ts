/**
 * What clawgate subscribes a repository webhook to, and where Bitbucket delivers it (design §9:
 * `POST /hooks/bitbucket`). The events are the ones the pipeline and the incident/forged-status
 * handlers read (issue 4 §2–§4).
 */

export const REPO_WEBHOOK_PATH = '/hooks/bitbucket';

export const REPO_WEBHOOK_EVENTS = [
  'pullrequest:created',
  'pullrequest:updated',
  'pullrequest:approved',
  'pullrequest:unapproved',
  'pullrequest:fulfilled',
  'pullrequest:rejected',
  'pullrequest:comment_created',
  'repo:push',
  'repo:commit_status_created',
  'repo:commit_status_updated',
] as const;

export const REPO_WEBHOOK_DESCRIPTION = 'clawgate';

/** The delivery URL under the service's public base URL (APP_BASE_URL). */
export function repoWebhookUrl(appBaseUrl: string): string {
  return `${appBaseUrl.replace(/\/+$/, '')}${REPO_WEBHOOK_PATH}`;
}
