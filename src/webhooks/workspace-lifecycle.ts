import type { Logger } from 'pino';
import { bearerAuth, createBitbucketClient, type BitbucketClient } from '../bitbucket';
import { SUBSCRIBED_WEBHOOK_EVENTS } from '../pipeline/subscribed-events';
import type { PurgedCounts, Store, Tenant } from '../store';
import { clawgateHookUrls, REPO_WEBHOOK_DESCRIPTION, repoWebhookUrl } from './hook-subscription';
import {
  bitbucketFailure,
  deleteHooks,
  newWebhookSecret,
  parseRegistrationRequest,
  RegistrationError,
  type RegisterWorkspaceDeps,
  type RegisteredHook,
} from './register-workspace';
import { MAX_REPOSITORIES } from './registration-request';
import { normalizeWorkspaceUuid } from './repo-webhook-tenant';
import { listWorkspaceRepositorySlugs } from './workspace-repositories';

/**
 * The rest of a repository-webhook workspace's life after `registerWorkspace`: re-register (a new
 * access token, and the webhooks recreated), rotate the webhook secret, and unregister (webhooks
 * deleted, the workspace's data kept or purged). Shared by the admin API and `clawgate workspace`.
 *
 * clawgate's webhooks are found on Bitbucket, not in a list of its own: every repository the access
 * token sees is asked for its hooks, and those whose URL is this service's delivery URL are
 * clawgate's (so hooks left by an earlier registration are found too). That costs one request per
 * repository (at most 250) plus the listing, from the workspace's 1,000/hour budget; these are rare
 * operator actions.
 *
 * Secrets change without losing a delivery: the new hooks (new secret) are created first, then the
 * new secret is stored, then the old hooks are deleted. In between, Bitbucket delivers each event
 * through both hooks; one of the two verifies (duplicates are idempotent: same head, same verdict).
 */

export type LifecycleDeps = Omit<RegisterWorkspaceDeps, 'store'> & {
  readonly store: Pick<Store, 'tenants' | 'apiTokens' | 'audit' | 'workspaceData'>;
};

function notRegistered(workspace: string): RegistrationError {
  return new RegistrationError(
    404,
    'NOT_REGISTERED',
    `workspace ${workspace} is not registered for repository webhooks`,
    [{ path: 'workspace', message: 'not registered for repository webhooks' }],
  );
}

/** The workspace's repository-webhook tenant, by slug or `{uuid}`; 404 when there is none. */
async function repoWebhookTenant(
  store: LifecycleDeps['store'],
  workspace: string,
): Promise<{ tenant: Tenant; others: Tenant[] }> {
  const resolved = await store.tenants.resolveWorkspace(workspace);
  if (resolved === null) throw notRegistered(workspace);
  const tenants = await store.tenants.listForWorkspace(resolved.workspaceId);
  const tenant = tenants.find((candidate) => candidate.surface === 'repo_webhooks');
  if (tenant === undefined) throw notRegistered(workspace);
  return { tenant, others: tenants.filter((candidate) => candidate !== tenant) };
}

function clientFor(
  deps: LifecycleDeps,
  baseApiUrl: string,
  accessToken: string,
  logger: Logger,
  purpose: string,
): BitbucketClient {
  return createBitbucketClient({
    baseApiUrl,
    auth: bearerAuth(accessToken),
    allowedHosts: deps.config.allowedHosts,
    logger,
    deliveryId: purpose,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.retry ? { retry: deps.retry } : {}),
  });
}

/** clawgate's hooks (URL = this service's delivery URL) on every repository the token sees. */
async function findClawgateHooks(
  client: BitbucketClient,
  workspaceSlug: string,
  webhookUrls: readonly string[],
): Promise<RegisteredHook[]> {
  let repositories: string[];
  try {
    repositories = await listWorkspaceRepositorySlugs(client, workspaceSlug, Math.ceil(MAX_REPOSITORIES / 100));
  } catch (error) {
    throw bitbucketFailure(error, `the repositories of ${workspaceSlug}`, {
      notFound: { path: 'workspace', message: 'no such workspace, or the access token cannot see it' },
    });
  }
  const hooks: RegisteredHook[] = [];
  for (const repoSlug of repositories) {
    let listed;
    try {
      listed = await client.listHooks({ workspace: workspaceSlug, repoSlug });
    } catch (error) {
      throw bitbucketFailure(error, `the webhooks of ${workspaceSlug}/${repoSlug}`, {
        notFound: { path: 'repositories', message: `no repository ${workspaceSlug}/${repoSlug}` },
      });
    }
    for (const hook of listed)
      if (hook.url !== undefined && webhookUrls.includes(hook.url))
        hooks.push({ repository: `${workspaceSlug}/${repoSlug}`, uuid: hook.uuid, events: hook.events });
  }
  return hooks;
}

/** Creates clawgate's hook with `secret` on each repository; on failure deletes what it created. */
async function createHooks(
  client: BitbucketClient,
  workspaceSlug: string,
  repositories: readonly string[],
  webhookUrl: string,
  secret: string,
  logger: Logger,
  listed: boolean,
): Promise<RegisteredHook[]> {
  const created: RegisteredHook[] = [];
  try {
    for (const [index, repoSlug] of repositories.entries()) {
      const field = {
        path: listed ? `repositories[${index}]` : 'repositories',
        message: `repository ${workspaceSlug}/${repoSlug}`,
      };
      try {
        const hook = await client.createHook(
          { workspace: workspaceSlug, repoSlug },
          {
            url: webhookUrl,
            description: REPO_WEBHOOK_DESCRIPTION,
            events: [...SUBSCRIBED_WEBHOOK_EVENTS],
            active: true,
            secret,
          },
        );
        created.push({ repository: `${workspaceSlug}/${repoSlug}`, uuid: hook.uuid, events: hook.events });
      } catch (error) {
        throw bitbucketFailure(error, `a webhook on ${workspaceSlug}/${repoSlug}`, {
          notFound: {
            ...field,
            message: `no repository ${workspaceSlug}/${repoSlug}, or the access token cannot see it`,
          },
          rejected: { ...field, message: `Bitbucket refused the webhook on ${workspaceSlug}/${repoSlug}` },
        });
      }
    }
    return created;
  } catch (error) {
    await deleteHooks(client, workspaceSlug, created, logger);
    throw error;
  }
}

const hookView = (hooks: readonly RegisteredHook[]) =>
  hooks.map((hook) => ({ repository: hook.repository, uuid: hook.uuid }));

export interface ReregisteredWorkspace {
  readonly workspaceId: string;
  readonly workspaceSlug: string;
  readonly webhookUrl: string;
  readonly hooks: readonly RegisteredHook[];
  /** Old hooks that could not be deleted (delete them in Bitbucket; their secret no longer verifies). */
  readonly staleHooks: readonly RegisteredHook[];
  /** A new API token, shown once: only when the workspace had been unregistered (its tokens were revoked). */
  readonly apiToken?: { readonly id: string; readonly token: string; readonly prefix: string };
}

/**
 * Re-registers a workspace with a new access token (`{access_token, repositories?, base_api_url?}`):
 * the token is checked against Bitbucket (and must belong to this workspace), clawgate's hooks are
 * recreated with a fresh secret on the listed repositories (default: every one the token sees) and
 * the old ones deleted. Also brings back an unregistered workspace (with a new first API token).
 */
export async function reregisterWorkspace(
  deps: LifecycleDeps,
  workspace: string,
  body: unknown,
): Promise<ReregisteredWorkspace> {
  const { tenant, others } = await repoWebhookTenant(deps.store, workspace);
  const slug = tenant.workspaceSlug ?? workspace;
  const bodyObject = typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {};
  if ('workspace' in bodyObject)
    throw new RegistrationError(422, 'VALIDATION_FAILED', 'the workspace is named by the path', [
      { path: 'workspace', message: 'unknown field (the workspace is in the path)' },
    ]);
  const { request, baseApiUrl } = parseRegistrationRequest(
    { ...bodyObject, workspace: slug },
    deps.config.allowedHosts,
  );
  const active = others.find((other) => other.uninstalledAt === null);
  if (active !== undefined)
    throw new RegistrationError(409, 'ALREADY_REGISTERED', `workspace ${slug} is connected through ${active.surface}`, [
      { path: 'workspace', message: `already connected (${active.surface})` },
    ]);
  const logger = deps.logger.child({ component: 'repo-webhook-lifecycle', workspace: slug });
  const client = clientFor(deps, baseApiUrl, request.access_token, logger, `reregister:${slug}`);
  let found;
  try {
    found = await client.getWorkspace(slug);
  } catch (error) {
    throw bitbucketFailure(error, `workspace ${slug}`, {
      notFound: { path: 'workspace', message: 'no such workspace, or the access token cannot see it' },
    });
  }
  if (normalizeWorkspaceUuid(found.uuid) !== tenant.workspaceId) {
    throw new RegistrationError(
      422,
      'WORKSPACE_MISMATCH',
      `the access token's workspace ${found.slug} is not ${slug}`,
      [{ path: 'access_token', message: 'belongs to another workspace' }],
    );
  }
  const webhookUrl = repoWebhookUrl(deps.config.baseUrl, tenant.workspaceId);
  const previous = await findClawgateHooks(client, slug, clawgateHookUrls(deps.config.baseUrl, tenant.workspaceId));
  let repositories: string[];
  if (request.repositories !== undefined) {
    repositories = request.repositories;
  } else {
    repositories = await listWorkspaceRepositorySlugs(client, slug, Math.ceil(MAX_REPOSITORIES / 100)).catch(
      (error: unknown) => {
        throw bitbucketFailure(error, `the repositories of ${slug}`, {
          notFound: { path: 'workspace', message: 'no such workspace' },
        });
      },
    );
    if (repositories.length === 0)
      throw new RegistrationError(422, 'NO_REPOSITORIES', 'the access token sees no repository in this workspace', [
        { path: 'repositories', message: 'no repository to register' },
      ]);
  }
  const secret = newWebhookSecret();
  const hooks = await createHooks(
    client,
    slug,
    repositories,
    webhookUrl,
    secret,
    logger,
    request.repositories !== undefined,
  );
  const wasActive = tenant.uninstalledAt === null;
  const staleHooks = await replaceHooks(client, slug, logger, previous, hooks, async () => {
    await deps.store.tenants.upsertInstall({
      workspaceId: tenant.workspaceId,
      workspaceSlug: found.slug,
      surface: 'repo_webhooks',
      clientKey: tenant.clientKey,
      sharedSecret: secret,
      accessToken: request.access_token,
      baseApiUrl,
      baseUrl: null,
      verified: true,
      actor: deps.actor,
    });
  });
  await deps.store.audit.append(tenant.workspaceId, {
    actor: deps.actor,
    kind: 'repo_webhooks.reregistered',
    subject: tenant.clientKey,
    after: {
      base_api_url: baseApiUrl,
      webhook_url: webhookUrl,
      hooks: hookView(hooks),
      removed_hooks: hookView(previous),
      stale_hooks: hookView(staleHooks),
      reactivated: !wasActive,
    },
  });
  const result: ReregisteredWorkspace = {
    workspaceId: tenant.workspaceId,
    workspaceSlug: found.slug,
    webhookUrl,
    hooks,
    staleHooks,
  };
  if (wasActive) return result;
  const { token, info } = await deps.store.apiTokens.create(tenant.workspaceId, {
    label: 'registration',
    actor: deps.actor,
    scopes: ['admin'],
  });
  return { ...result, apiToken: { id: info.id, token, prefix: info.prefix } };
}

/**
 * The new hooks already exist; `store` records what they need (secret, token). If it fails the new
 * hooks are deleted again; if it succeeds the previous hooks are. No delivery is lost either way.
 * Returns the previous hooks that could not be deleted.
 */
async function replaceHooks(
  client: BitbucketClient,
  slug: string,
  logger: Logger,
  previous: readonly RegisteredHook[],
  hooks: readonly RegisteredHook[],
  store: () => Promise<unknown>,
): Promise<RegisteredHook[]> {
  try {
    await store();
  } catch (error) {
    await deleteHooks(client, slug, hooks, logger);
    throw error;
  }
  return deleteHooks(client, slug, previous, logger);
}

/** An active repository-webhook tenant with its access token, or the reason there is none. */
function activeTenantToken(tenant: Tenant, workspace: string): string {
  if (tenant.uninstalledAt !== null)
    throw new RegistrationError(409, 'NOT_ACTIVE', `workspace ${workspace} is unregistered; re-register it first`, [
      { path: 'workspace', message: 'unregistered' },
    ]);
  if (tenant.accessToken === null || tenant.baseApiUrl === null)
    throw new RegistrationError(
      409,
      'NO_ACCESS_TOKEN',
      `workspace ${workspace} has no stored access token; re-register it`,
      [{ path: 'workspace', message: 'no access token' }],
    );
  return tenant.accessToken.reveal();
}

export interface RotatedSecret {
  readonly workspaceId: string;
  readonly hooks: readonly RegisteredHook[];
  readonly staleHooks: readonly RegisteredHook[];
}

/**
 * A new webhook secret for every clawgate hook of the workspace, with the stored access token:
 * new hooks with the new secret, then the secret stored, then the old hooks deleted.
 */
export async function rotateWebhookSecret(deps: LifecycleDeps, workspace: string): Promise<RotatedSecret> {
  const { tenant } = await repoWebhookTenant(deps.store, workspace);
  const accessToken = activeTenantToken(tenant, workspace);
  const slug = tenant.workspaceSlug ?? workspace;
  const logger = deps.logger.child({ component: 'repo-webhook-lifecycle', workspace: slug });
  const client = clientFor(deps, tenant.baseApiUrl as string, accessToken, logger, `rotate:${slug}`);
  const webhookUrl = repoWebhookUrl(deps.config.baseUrl, tenant.workspaceId);
  const previous = await findClawgateHooks(client, slug, clawgateHookUrls(deps.config.baseUrl, tenant.workspaceId));
  if (previous.length === 0)
    throw new RegistrationError(409, 'NO_HOOKS', `no clawgate webhook found in ${slug}; re-register the workspace`, [
      { path: 'workspace', message: 'no clawgate webhook' },
    ]);
  const repositories = [...new Set(previous.map((hook) => hook.repository.slice(hook.repository.indexOf('/') + 1)))];
  const secret = newWebhookSecret();
  const hooks = await createHooks(client, slug, repositories, webhookUrl, secret, logger, false);
  const staleHooks = await replaceHooks(client, slug, logger, previous, hooks, () =>
    deps.store.tenants.setSharedSecret(tenant.workspaceId, tenant.clientKey, secret, deps.actor),
  );
  await deps.store.audit.append(tenant.workspaceId, {
    actor: deps.actor,
    kind: 'repo_webhooks.secret_rotated',
    subject: tenant.clientKey,
    after: { hooks: hookView(hooks), removed_hooks: hookView(previous), stale_hooks: hookView(staleHooks) },
  });
  return { workspaceId: tenant.workspaceId, hooks, staleHooks };
}

export type DataChoice = 'keep' | 'purge';

export interface UnregisteredWorkspace {
  readonly workspaceId: string;
  readonly deletedHooks: readonly RegisteredHook[];
  /** Hooks that could not be deleted, or `null` when Bitbucket could not be asked (token refused). */
  readonly remainingHooks: readonly RegisteredHook[] | null;
  readonly data: DataChoice;
  readonly purged?: PurgedCounts;
}

/**
 * Unregisters: clawgate's hooks are deleted (with the stored token; if Bitbucket refuses it the
 * unregistration still happens and says the hooks must be deleted by hand), the tenant is marked
 * uninstalled with its access token and secret cleared (so any later delivery gets 401), every API
 * token is revoked, and the data is kept or purged as asked. Audited.
 */
export async function unregisterWorkspace(
  deps: LifecycleDeps,
  workspace: string,
  data: DataChoice,
): Promise<UnregisteredWorkspace> {
  const { tenant } = await repoWebhookTenant(deps.store, workspace);
  if (tenant.uninstalledAt !== null && data === 'keep')
    throw new RegistrationError(409, 'NOT_ACTIVE', `workspace ${workspace} is already unregistered`, [
      { path: 'workspace', message: 'already unregistered' },
    ]);
  const slug = tenant.workspaceSlug ?? workspace;
  const logger = deps.logger.child({ component: 'repo-webhook-lifecycle', workspace: slug });
  let deletedHooks: RegisteredHook[] = [];
  let remainingHooks: RegisteredHook[] | null = null;
  if (tenant.accessToken !== null && tenant.baseApiUrl !== null) {
    const client = clientFor(deps, tenant.baseApiUrl, tenant.accessToken.reveal(), logger, `unregister:${slug}`);
    try {
      const hooks = await findClawgateHooks(client, slug, clawgateHookUrls(deps.config.baseUrl, tenant.workspaceId));
      remainingHooks = await deleteHooks(client, slug, hooks, logger);
      deletedHooks = hooks.filter((hook) => !remainingHooks?.includes(hook));
    } catch (error) {
      logger.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'unregister: Bitbucket could not be asked for the webhooks; delete them in Bitbucket',
      );
      remainingHooks = null;
    }
  }
  if (tenant.uninstalledAt === null) await deps.store.tenants.markUninstalled(tenant.clientKey, deps.actor);
  await deps.store.tenants.setAccessToken(tenant.workspaceId, tenant.clientKey, null, deps.actor);
  await deps.store.tenants.setSharedSecret(tenant.workspaceId, tenant.clientKey, null, deps.actor);
  for (const token of await deps.store.apiTokens.list(tenant.workspaceId)) {
    if (token.revokedAt === null) await deps.store.apiTokens.revoke(tenant.workspaceId, token.id, deps.actor);
  }
  const purged = data === 'purge' ? await deps.store.workspaceData.purge(tenant.workspaceId, deps.actor) : undefined;
  await deps.store.audit.append(tenant.workspaceId, {
    actor: deps.actor,
    kind: 'repo_webhooks.unregistered',
    subject: tenant.clientKey,
    after: {
      data,
      deleted_hooks: hookView(deletedHooks),
      remaining_hooks: remainingHooks === null ? null : hookView(remainingHooks),
      ...(purged ? { purged: { ...purged } } : {}),
    },
  });
  return { workspaceId: tenant.workspaceId, deletedHooks, remainingHooks, data, ...(purged ? { purged } : {}) };
}
