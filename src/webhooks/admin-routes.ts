import { createHash, timingSafeEqual } from 'node:crypto';
import { Router, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { BitbucketClientOptions } from '../bitbucket';
import type { AppConfig } from '../config/app-config';
import type { Store } from '../store';
import { registerWorkspace, RegistrationError } from './register-workspace';
import type { RegisteredHook } from './register-workspace';
import {
  reregisterWorkspace,
  rotateWebhookSecret,
  unregisterWorkspace,
  type LifecycleDeps,
} from './workspace-lifecycle';
import { removeOAuthConsumer, setOAuthConsumer } from './oauth-consumer';
import { signInCallbackUrl } from './sign-in-router';
import { ApiError } from '../http/http-error';
import { apiErrorHandler } from '../http/error-handler';
import { jsonBody, jsonBodyOf } from '../http/json-body';

/**
 * Operator routes guarded by `CLAWGATE_ADMIN_TOKEN` (docs/api.md), mounted at `/api/v1` BEFORE the API
 * router (which answers unknown paths with 404). Routes (Authorization: Bearer <CLAWGATE_ADMIN_TOKEN>):
 *
 *   POST   /api/v1/workspaces   {workspace, access_token, repositories?, base_api_url?} → 201 {workspace, token, hooks, …}
 *   PUT    /api/v1/workspaces/{ws}/registration   {access_token, repositories?, base_api_url?} → 200 (re-register)
 *   POST   /api/v1/workspaces/{ws}/webhook-secret → 200 {hooks, stale_hooks} (rotate the HMAC secret)
 *   DELETE /api/v1/workspaces/{ws}?data=keep|purge → 200 {deleted_hooks, remaining_hooks, purged?}
 *   PUT    /api/v1/workspaces/{ws}/oauth-consumer {key, secret} → 200 (Sign in with Bitbucket; docs/sign-in.md)
 *   DELETE /api/v1/workspaces/{ws}/oauth-consumer → 200 {removed} (every sign-in session ends)
 *   ({ws}: the workspace slug or {uuid}; see workspace-lifecycle.ts)
 *
 * - Admin token unset: 404 NOT_FOUND, exactly like an unknown route (the feature is off).
 * - Missing or wrong token: 401 with WWW-Authenticate, before the body is read. The comparison is
 *   over SHA-256 digests with timingSafeEqual (equal lengths whatever was sent); the token is never
 *   logged (the header is redacted by the server's logger, and nothing here logs it).
 * Everything else passes through to the next router.
 */

/** The body holds a token and ≤ 250 slugs; 64 KiB is ample. */
const MAX_REGISTRATION_BODY_BYTES = 64 * 1024;
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

export interface AdminRouterOptions {
  readonly config: Pick<AppConfig, 'adminToken' | 'baseUrl' | 'allowedHosts'>;
  readonly store: Pick<Store, 'tenants' | 'apiTokens' | 'audit' | 'workspaceData' | 'oauthConsumers'>;
  readonly logger: Logger;
  readonly fetch?: typeof fetch;
  readonly bitbucketRetry?: BitbucketClientOptions['retry'];
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Constant-time check of `Authorization: Bearer <admin token>`. */
export function isAdminAuthorization(header: string | undefined, adminToken: string): boolean {
  const presented = header === undefined ? null : (BEARER.exec(header)?.[1] ?? null);
  // Hash both sides so the buffers always have equal length and the time says nothing about the token.
  const equal = timingSafeEqual(digest(presented ?? ''), digest(adminToken));
  return presented !== null && equal;
}

export function createAdminRouter(options: AdminRouterOptions): Router {
  const logger = options.logger.child({ component: 'admin-api' });
  const router = Router();

  const requireAdmin = (request: Request, response: Response, next: NextFunction): void => {
    const adminToken = options.config.adminToken;
    if (adminToken === undefined || adminToken === '') throw new ApiError(404, 'NOT_FOUND', 'no such API route');
    response.setHeader('Cache-Control', 'no-store');
    if (!isAdminAuthorization(request.headers.authorization, adminToken)) {
      response.setHeader('WWW-Authenticate', 'Bearer realm="clawgate-admin"');
      logger.warn({ hasAuthorization: request.headers.authorization !== undefined }, 'admin API: credential refused');
      throw new ApiError(401, 'INVALID_CREDENTIALS', 'send Authorization: Bearer <CLAWGATE_ADMIN_TOKEN>');
    }
    next();
  };

  // What registration and the lifecycle routes act with (the admin API as the audited actor).
  const lifecycleDeps = (): LifecycleDeps => ({
    store: options.store,
    config: options.config,
    logger,
    actor: 'admin_api',
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.bitbucketRetry ? { retry: options.bitbucketRetry } : {}),
  });
  router.post(
    '/workspaces',
    requireAdmin,
    ...jsonBody({ limit: MAX_REGISTRATION_BODY_BYTES, required: true }),
    async (request: Request, response: Response) => {
      try {
        const registered = await registerWorkspace(lifecycleDeps(), jsonBodyOf(request)?.value);
        logger.info(
          { workspace: registered.workspaceId, hooks: registered.hooks.length },
          'admin API: workspace registered',
        );
        response.status(201).json({
          workspace: { uuid: registered.workspaceId, slug: registered.workspaceSlug },
          client_key: registered.clientKey,
          base_api_url: registered.baseApiUrl,
          webhook_url: registered.webhookUrl,
          token: registered.apiToken.token,
          token_id: registered.apiToken.id,
          token_prefix: registered.apiToken.prefix,
          hooks: registered.hooks.map((hook) => ({
            repository: hook.repository,
            uuid: hook.uuid,
            events: hook.events,
          })),
        });
      } catch (error) {
        if (error instanceof RegistrationError)
          throw new ApiError(error.status, error.code, error.message, error.fields);
        throw error;
      }
    },
  );

  const hooksView = (hooks: readonly RegisteredHook[]) =>
    hooks.map((hook) => ({ repository: hook.repository, uuid: hook.uuid }));
  const asApiError = (error: unknown): unknown =>
    error instanceof RegistrationError ? new ApiError(error.status, error.code, error.message, error.fields) : error;
  const workspaceParam = (request: Request): string => {
    const value = request.params.ws;
    if (typeof value !== 'string' || value.length === 0 || value.length > 100)
      throw new ApiError(404, 'NOT_REGISTERED', 'no such workspace');
    return value;
  };

  // PUT /workspaces/{ws}/registration {access_token, repositories?, base_api_url?}: re-register.
  router.put(
    '/workspaces/:ws/registration',
    requireAdmin,
    ...jsonBody({ limit: MAX_REGISTRATION_BODY_BYTES, required: true }),
    async (request: Request, response: Response) => {
      try {
        const done = await reregisterWorkspace(lifecycleDeps(), workspaceParam(request), jsonBodyOf(request)?.value);
        response.json({
          workspace: { uuid: done.workspaceId, slug: done.workspaceSlug },
          webhook_url: done.webhookUrl,
          hooks: done.hooks.map((hook) => ({ repository: hook.repository, uuid: hook.uuid, events: hook.events })),
          stale_hooks: hooksView(done.staleHooks),
          ...(done.apiToken
            ? { token: done.apiToken.token, token_id: done.apiToken.id, token_prefix: done.apiToken.prefix }
            : {}),
        });
      } catch (error) {
        throw asApiError(error);
      }
    },
  );

  // POST /workspaces/{ws}/webhook-secret: a new HMAC secret on every clawgate hook.
  router.post('/workspaces/:ws/webhook-secret', requireAdmin, async (request: Request, response: Response) => {
    try {
      const done = await rotateWebhookSecret(lifecycleDeps(), workspaceParam(request));
      response.json({
        workspace: { uuid: done.workspaceId },
        hooks: hooksView(done.hooks),
        stale_hooks: hooksView(done.staleHooks),
      });
    } catch (error) {
      throw asApiError(error);
    }
  });

  // PUT /workspaces/{ws}/oauth-consumer {key, secret}: Sign in with Bitbucket (the secret is sealed; audited).
  router.put(
    '/workspaces/:ws/oauth-consumer',
    requireAdmin,
    ...jsonBody({ limit: 4096, required: true }),
    async (request: Request, response: Response) => {
      try {
        const done = await setOAuthConsumer(
          options.store,
          workspaceParam(request),
          jsonBodyOf(request)?.value,
          'admin_api',
        );
        response.json({
          workspace: { uuid: done.workspaceId, slug: done.workspaceSlug },
          consumer_key: done.consumerKey,
          callback_url: signInCallbackUrl(options.config),
        });
      } catch (error) {
        throw asApiError(error);
      }
    },
  );

  // DELETE /workspaces/{ws}/oauth-consumer: no more sign-ins; every session of the workspace ends.
  router.delete('/workspaces/:ws/oauth-consumer', requireAdmin, async (request: Request, response: Response) => {
    try {
      response.json({ removed: await removeOAuthConsumer(options.store, workspaceParam(request), 'admin_api') });
    } catch (error) {
      throw asApiError(error);
    }
  });

  // DELETE /workspaces/{ws}?data=keep|purge: unregister (hooks deleted, data kept or purged).
  router.delete('/workspaces/:ws', requireAdmin, async (request: Request, response: Response) => {
    const data = request.query.data ?? 'keep';
    if (data !== 'keep' && data !== 'purge')
      throw new ApiError(422, 'VALIDATION_FAILED', 'data must be keep or purge', [
        { path: 'data', message: 'must be keep or purge' },
      ]);
    try {
      const done = await unregisterWorkspace(lifecycleDeps(), workspaceParam(request), data);
      response.json({
        workspace: { uuid: done.workspaceId },
        data: done.data,
        deleted_hooks: hooksView(done.deletedHooks),
        remaining_hooks: done.remainingHooks === null ? null : hooksView(done.remainingHooks),
        ...(done.purged ? { purged: done.purged } : {}),
      });
    } catch (error) {
      throw asApiError(error);
    }
  });

  router.use(apiErrorHandler(logger));
  return router;
}
