import type { AppConfig } from '../config/app-config';
import { SUBSCRIBED_WEBHOOK_EVENTS, type SubscribedWebhookEvent } from '../pipeline/subscribed-events';

/**
 * The Connect app descriptor, built in code from the config (Landkid's approach, docs/architecture.md §5). The
 * repository's `atlassian-connect.json` is the same document with `{{baseUrl}}`, `{{appKey}}` and
 * `{{appName}}` placeholders; a test keeps the two equal.
 */

/** Where the Connect surface listens, relative to the app's baseUrl (docs/api.md). */
export const CONNECT_PATHS = {
  descriptor: '/atlassian-connect.json',
  installed: '/connect/installed',
  uninstalled: '/connect/uninstalled',
  webhook: '/connect/webhook',
  panel: '/connect/panel',
  configure: '/connect/configure',
  details: '/connect/details',
} as const;

/**
 * Least scopes (per endpoint as Bitbucket's OpenAPI spec declares them; context parameters are only
 * filled in when their scope is declared):
 * - `pullrequest`: read the PR, its commits, diffstat and statuses; post PR comments; the
 *   `{pullrequest.*}` context parameters of the panel URL. It implies `repository`.
 * - `repository`: diffstat/diff/src, commits, and — as the spec declares them — the WRITES we make:
 *   POST/PUT build statuses, PUT/DELETE Code Insights reports, POST annotations. So no
 *   `repository:write` (that grants push/fork, which clawgate never needs); also the
 *   `{repository.*}` context parameters and the `has_permission` condition. Listed explicitly
 *   although `pullrequest` implies it, so the descriptor says what it uses.
 * - `account`: read the workspace (the first-install proof call `GET /2.0/workspaces/{uuid}`) and
 *   the `{user.*}`/`{workspace.*}` context parameters.
 * Not requested: `repository:admin` (reading/creating branch restrictions for the merge-check
 * checklist would need it; the checklist asks the admin instead), `webhook` (descriptor webhooks
 * are declared in the descriptor, not created through the API; that they need no `webhook` scope is UNCONFIRMED),
 * any `:write` scope.
 */
export const CONNECT_SCOPES = ['account', 'repository', 'pullrequest'] as const;

export interface I18nValue {
  value: string;
}

export interface ConnectCondition {
  condition: string;
  params?: Record<string, string>;
}

export interface ConnectDescriptor {
  key: string;
  name: string;
  description: string;
  vendor: { name: string; url: string };
  baseUrl: string;
  authentication: { type: 'jwt' };
  lifecycle: { installed: string; uninstalled: string };
  contexts: ['account'];
  scopes: string[];
  modules: {
    webhooks: { event: SubscribedWebhookEvent; url: string }[];
    webPanels: {
      key: string;
      name: I18nValue;
      location: string;
      url: string;
      weight: number;
      tooltip: I18nValue;
      conditions: ConnectCondition[];
    }[];
    configurePage: { key: string; name: I18nValue; url: string };
  };
  /** The Forge app's distribution link: admins see "Get the Forge app" (docs/forge.md §7). */
  forgeAppLink?: string;
  /** The Forge app's ARI: lets the Forge app find this Connect installation (connect-to-forge migration). */
  forgeAppId?: string;
}

export const PR_PANEL_LOCATION = 'org.bitbucket.pullrequest.overview.informationPanel';

/**
 * No `adminPages` module: its location key is UNCONFIRMED and an unknown module
 * value can make the whole descriptor invalid; the configure page (one per app) is the settings page.
 */
export function buildDescriptor(
  config: Pick<AppConfig, 'appKey' | 'appName' | 'baseUrl'> & Partial<Pick<AppConfig, 'forge' | 'forgeAppLink'>>,
): ConnectDescriptor {
  const forgeLinks = {
    ...(config.forgeAppLink ? { forgeAppLink: config.forgeAppLink } : {}),
    ...(config.forge ? { forgeAppId: config.forge.appId } : {}),
  };
  return {
    ...forgeLinks,
    key: config.appKey,
    name: config.appName,
    description: 'Verifies AI-agent proof bundles on pull requests against the workspace Work Policy Contract.',
    vendor: { name: 'clawgate', url: config.baseUrl },
    baseUrl: config.baseUrl,
    authentication: { type: 'jwt' },
    lifecycle: { installed: CONNECT_PATHS.installed, uninstalled: CONNECT_PATHS.uninstalled },
    contexts: ['account'],
    scopes: [...CONNECT_SCOPES],
    modules: {
      webhooks: SUBSCRIBED_WEBHOOK_EVENTS.map((event) => ({ event, url: CONNECT_PATHS.webhook })),
      webPanels: [
        {
          key: 'clawgate-pr-panel',
          name: { value: 'clawgate' },
          location: PR_PANEL_LOCATION,
          // {repository.*} needs `repository`, {pullrequest.*} needs `pullrequest`; the iframe
          // URL is signed (qsh), so these values are tamper-evident.
          url: `${CONNECT_PATHS.panel}?repo={repository.uuid}&pr={pullrequest.id}`,
          weight: 100,
          tooltip: { value: 'Proof bundle and policy verdict for this pull request' },
          conditions: [{ condition: 'has_permission', params: { permission: 'read' } }],
        },
      ],
      configurePage: { key: 'clawgate-configure', name: { value: 'clawgate settings' }, url: CONNECT_PATHS.configure },
    },
  };
}
