import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import {
  BitbucketAuthError,
  BitbucketNotFoundError,
  BitbucketRequestRejectedError,
  bearerAuth,
  createBitbucketClient,
  PageCapExceededError,
  type BitbucketClient,
  type BitbucketClientOptions,
  type BitbucketWebhookSubscription,
} from '../bitbucket';
import type { AppConfig } from '../config/app-config';
import type { Store } from '../store';
import { REPO_WEBHOOK_DESCRIPTION, repoWebhookUrl } from './hook-subscription';
import {
  checkBaseApiUrl,
  MAX_REPOSITORIES,
  registrationRequestSchema,
  type RegistrationFieldError,
  type RegistrationRequest,
} from './registration-request';
import { normalizeWorkspaceUuid, repoWebhooksClientKey } from './repo-webhook-tenant';
import { SUBSCRIBED_WEBHOOK_EVENTS } from '../pipeline/subscribed-events';
import { listWorkspaceRepositorySlugs } from './workspace-repositories';

/**
 * Registers a workspace on the repository-webhook surface (docs/architecture.md §1, surface 2): verify the access
 * token against Bitbucket, create clawgate's repository webhooks with a fresh HMAC secret, store the
 * tenant (token and secret sealed at rest) and the workspace's first API token. Shared by
 * `POST /api/v1/workspaces` and `clawgate workspace add`.
 *
 * All or nothing: a refusal leaves no tenant and no token behind, and hooks created before a later
 * step failed are deleted again (best effort; a hook that cannot be deleted is logged by its uuid).
 */

export class RegistrationError extends Error {
  override readonly name = 'RegistrationError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: readonly RegistrationFieldError[] = [],
  ) {
    super(message);
  }
}

export interface RegisterWorkspaceDeps {
  readonly store: Pick<Store, 'tenants' | 'apiTokens' | 'audit'>;
  readonly config: Pick<AppConfig, 'baseUrl' | 'allowedHosts'>;
  readonly logger: Logger;
  /** Who registers, for the audit events (`admin_api`, `cli:<user>`). */
  readonly actor: string;
  readonly fetch?: typeof fetch;
  /** Client retry settings (tests shorten the backoff). */
  readonly retry?: BitbucketClientOptions['retry'];
}

export interface RegisteredHook {
  /** `workspace/repo_slug`. */
  readonly repository: string;
  readonly uuid: string;
  readonly events: readonly string[];
}

export interface RegisteredWorkspace {
  readonly workspaceId: string;
  readonly workspaceSlug: string;
  readonly clientKey: string;
  readonly baseApiUrl: string;
  readonly webhookUrl: string;
  readonly hooks: readonly RegisteredHook[];
  /** Shown once; only its hash is stored. */
  readonly apiToken: { readonly id: string; readonly token: string; readonly prefix: string };
}

/** 32 random bytes as base64url: 43 characters, within Bitbucket's 128-character secret limit. */
export function newWebhookSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Registrations in progress in this process, by workspace uuid: a second concurrent one is refused. */
const inProgress = new Set<string>();

function tooManyRepositories(): RegistrationError {
  return new RegistrationError(
    422,
    'TOO_MANY_REPOSITORIES',
    `the workspace has more than ${MAX_REPOSITORIES} repositories`,
    [{ path: 'repositories', message: `list the repositories to register (at most ${MAX_REPOSITORIES})` }],
  );
}

function validationError(fields: RegistrationFieldError[]): RegistrationError {
  return new RegistrationError(422, 'VALIDATION_FAILED', 'the registration request is invalid', fields);
}

function zodFields(
  issues: readonly { path: readonly PropertyKey[]; message: string; code: string; keys?: readonly string[] }[],
): RegistrationFieldError[] {
  const fields: RegistrationFieldError[] = [];
  for (const issue of issues) {
    const base = issue.path
      .map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`))
      .join('')
      .replace(/^\./, '');
    if (issue.code === 'unrecognized_keys' && issue.keys) {
      for (const key of issue.keys)
        fields.push({ path: base === '' ? key : `${base}.${key}`, message: 'unknown field' });
    } else {
      fields.push({ path: base, message: issue.message });
    }
  }
  return fields;
}

/** Validates the request body; throws RegistrationError (422, field paths) when it is refused. */
export function parseRegistrationRequest(
  body: unknown,
  allowedHosts: readonly string[],
): { request: RegistrationRequest; baseApiUrl: string } {
  const parsed = registrationRequestSchema.safeParse(body);
  if (!parsed.success) throw validationError(zodFields(parsed.error.issues));
  const base = checkBaseApiUrl(parsed.data.base_api_url, allowedHosts);
  if ('refusal' in base) throw validationError([{ path: 'base_api_url', message: base.refusal }]);
  return { request: parsed.data, baseApiUrl: base.origin };
}

/** A Bitbucket failure as a RegistrationError; 4xx answers point at the field that caused them. */
export function bitbucketFailure(
  error: unknown,
  what: string,
  fields: { notFound: RegistrationFieldError; rejected?: RegistrationFieldError },
): RegistrationError {
  if (error instanceof RegistrationError) return error;
  if (error instanceof BitbucketAuthError) {
    return new RegistrationError(
      422,
      'ACCESS_TOKEN_REJECTED',
      `Bitbucket refused the access token (${error.status ?? 'auth'}) for ${what}`,
      [
        {
          path: 'access_token',
          message: `Bitbucket refused it for ${what}: check the token, its scopes (repository, pullrequest:write, webhook) and that it belongs to this workspace`,
        },
      ],
    );
  }
  if (error instanceof BitbucketNotFoundError)
    return new RegistrationError(422, 'NOT_FOUND_ON_BITBUCKET', `Bitbucket has no ${what}`, [fields.notFound]);
  if (error instanceof BitbucketRequestRejectedError && fields.rejected) {
    return new RegistrationError(
      422,
      'REJECTED_BY_BITBUCKET',
      `Bitbucket rejected ${what} (${error.status ?? '4xx'})`,
      [fields.rejected],
    );
  }
  if (error instanceof PageCapExceededError) return tooManyRepositories();
  return new RegistrationError(
    502,
    'BITBUCKET_UNAVAILABLE',
    `Bitbucket could not be reached for ${what}; nothing was registered, try again`,
  );
}

/** Deletes the hooks (best effort); returns those that could not be deleted (each is logged). */
export async function deleteHooks(
  client: BitbucketClient,
  workspace: string,
  hooks: readonly RegisteredHook[],
  logger: Logger,
): Promise<RegisteredHook[]> {
  const failed: RegisteredHook[] = [];
  for (const hook of hooks) {
    const repoSlug = hook.repository.slice(hook.repository.indexOf('/') + 1);
    try {
      await client.deleteHook({ workspace, repoSlug }, hook.uuid);
    } catch (error) {
      failed.push(hook);
      logger.error(
        {
          repository: hook.repository,
          hookUuid: hook.uuid,
          err: error instanceof Error ? error.message : String(error),
        },
        'a webhook could not be deleted; delete it in Bitbucket',
      );
    }
  }
  return failed;
}

export async function registerWorkspace(deps: RegisterWorkspaceDeps, body: unknown): Promise<RegisteredWorkspace> {
  const { request, baseApiUrl } = parseRegistrationRequest(body, deps.config.allowedHosts);
  const logger = deps.logger.child({ component: 'repo-webhook-registration', workspace: request.workspace });
  const client = createBitbucketClient({
    baseApiUrl,
    auth: bearerAuth(request.access_token),
    allowedHosts: deps.config.allowedHosts,
    logger,
    deliveryId: `register:${request.workspace}`,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.retry ? { retry: deps.retry } : {}),
  });

  let workspace;
  try {
    workspace = await client.getWorkspace(request.workspace);
  } catch (error) {
    throw bitbucketFailure(error, `workspace ${request.workspace}`, {
      notFound: { path: 'workspace', message: 'no such workspace, or the access token cannot see it' },
    });
  }
  const workspaceId = normalizeWorkspaceUuid(workspace.uuid);
  if (workspaceId === null)
    throw new RegistrationError(502, 'BITBUCKET_UNAVAILABLE', 'Bitbucket answered a workspace without a valid uuid');
  const workspaceSlug = workspace.slug;

  if (inProgress.has(workspaceId))
    throw new RegistrationError(409, 'REGISTRATION_IN_PROGRESS', 'this workspace is being registered right now', [
      { path: 'workspace', message: 'registration in progress' },
    ]);
  inProgress.add(workspaceId);
  try {
    const existing = await deps.store.tenants.listForWorkspace(workspaceId);
    const active = existing.find((tenant) => tenant.uninstalledAt === null);
    if (active !== undefined) {
      // One active surface per workspace: two would evaluate (and publish on) every PR twice.
      throw new RegistrationError(
        409,
        'ALREADY_REGISTERED',
        `workspace ${workspaceSlug} is already connected to clawgate (${active.surface})`,
        [{ path: 'workspace', message: `already connected (${active.surface})` }],
      );
    }

    const listed = request.repositories !== undefined;
    let repositories: string[];
    if (request.repositories !== undefined) {
      repositories = request.repositories;
    } else {
      try {
        repositories = await listWorkspaceRepositorySlugs(client, workspaceSlug, Math.ceil(MAX_REPOSITORIES / 100));
      } catch (error) {
        throw bitbucketFailure(error, `the repositories of ${workspaceSlug}`, {
          notFound: { path: 'workspace', message: 'no such workspace' },
        });
      }
      if (repositories.length === 0)
        throw new RegistrationError(422, 'NO_REPOSITORIES', 'the access token sees no repository in this workspace', [
          { path: 'repositories', message: 'no repository to register' },
        ]);
      if (repositories.length > MAX_REPOSITORIES) throw tooManyRepositories();
    }

    const secret = newWebhookSecret();
    const webhookUrl = repoWebhookUrl(deps.config.baseUrl, workspaceId);
    const created: RegisteredHook[] = [];
    try {
      for (const [index, repoSlug] of repositories.entries()) {
        const field = {
          path: listed ? `repositories[${index}]` : 'repositories',
          message: `repository ${workspaceSlug}/${repoSlug}`,
        };
        let hook: BitbucketWebhookSubscription;
        try {
          hook = await client.createHook(
            { workspace: workspaceSlug, repoSlug },
            {
              url: webhookUrl,
              description: REPO_WEBHOOK_DESCRIPTION,
              events: [...SUBSCRIBED_WEBHOOK_EVENTS],
              active: true,
              secret,
            },
          );
        } catch (error) {
          throw bitbucketFailure(error, `a webhook on ${workspaceSlug}/${repoSlug}`, {
            notFound: {
              ...field,
              message: `no repository ${workspaceSlug}/${repoSlug}, or the access token cannot see it`,
            },
            rejected: { ...field, message: `Bitbucket refused the webhook on ${workspaceSlug}/${repoSlug}` },
          });
        }
        created.push({ repository: `${workspaceSlug}/${repoSlug}`, uuid: hook.uuid, events: hook.events });
      }
      return await storeRegistration(deps, {
        workspaceId,
        workspaceSlug,
        baseApiUrl,
        webhookUrl,
        secret,
        accessToken: request.access_token,
        hooks: created,
      });
    } catch (error) {
      await deleteHooks(client, workspaceSlug, created, logger);
      throw error;
    }
  } finally {
    inProgress.delete(workspaceId);
  }
}

async function storeRegistration(
  deps: RegisterWorkspaceDeps,
  input: {
    workspaceId: string;
    workspaceSlug: string;
    baseApiUrl: string;
    webhookUrl: string;
    secret: string;
    accessToken: string;
    hooks: readonly RegisteredHook[];
  },
): Promise<RegisteredWorkspace> {
  const clientKey = repoWebhooksClientKey(input.workspaceId);
  await deps.store.tenants.upsertInstall({
    workspaceId: input.workspaceId,
    workspaceSlug: input.workspaceSlug,
    surface: 'repo_webhooks',
    clientKey,
    sharedSecret: input.secret,
    accessToken: input.accessToken,
    baseApiUrl: input.baseApiUrl,
    // Only Connect needs the web origin (JWT audience); the pipeline calls baseApiUrl.
    baseUrl: null,
    // The token was checked against Bitbucket (getWorkspace) before anything was stored.
    verified: true,
    actor: deps.actor,
  });
  try {
    await deps.store.audit.append(input.workspaceId, {
      actor: deps.actor,
      kind: 'repo_webhooks.registered',
      subject: clientKey,
      after: {
        base_api_url: input.baseApiUrl,
        webhook_url: input.webhookUrl,
        hooks: input.hooks.map((hook) => ({ repository: hook.repository, uuid: hook.uuid })),
      },
    });
    const { token, info } = await deps.store.apiTokens.create(input.workspaceId, {
      label: 'registration',
      actor: deps.actor,
      scopes: ['admin'],
    });
    return {
      workspaceId: input.workspaceId,
      workspaceSlug: input.workspaceSlug,
      clientKey,
      baseApiUrl: input.baseApiUrl,
      webhookUrl: input.webhookUrl,
      hooks: input.hooks,
      apiToken: { id: info.id, token, prefix: info.prefix },
    };
  } catch (error) {
    // The tenant row cannot be deleted through the store; uninstalled, it authenticates nothing.
    await deps.store.tenants.markUninstalled(clientKey, deps.actor).catch(() => undefined);
    throw error;
  }
}
