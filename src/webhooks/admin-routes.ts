import { createHash, timingSafeEqual } from 'node:crypto';
import { Router, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { BitbucketClientOptions } from '../bitbucket';
import type { AppConfig } from '../config/app-config';
import type { Store } from '../store';
import { registerWorkspace, RegistrationError } from './register-workspace';
import { ApiError } from '../http/http-error';
import { apiErrorHandler } from '../http/error-handler';
import { jsonBody, jsonBodyOf } from '../http/json-body';

/**
 * Operator routes guarded by `CLAWGATE_ADMIN_TOKEN` (design §9), mounted at `/api/v1` BEFORE the API
 * router (which answers unknown paths with 404). Today one route:
 *
 *   POST /api/v1/workspaces   Authorization: Bearer <CLAWGATE_ADMIN_TOKEN>
 *     {workspace, access_token, repositories?, base_api_url?} → 201 {workspace, token, hooks, …}
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
  readonly store: Pick<Store, 'tenants' | 'apiTokens' | 'audit'>;
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

  router.post('/workspaces', requireAdmin, ...jsonBody({ limit: MAX_REGISTRATION_BODY_BYTES, required: true }), async (request: Request, response: Response) => {
    try {
      const registered = await registerWorkspace(
        {
          store: options.store,
          config: options.config,
          logger,
          actor: 'admin_api',
          ...(options.fetch ? { fetch: options.fetch } : {}),
          ...(options.bitbucketRetry ? { retry: options.bitbucketRetry } : {}),
        },
        jsonBodyOf(request)?.value,
      );
      logger.info({ workspace: registered.workspaceId, hooks: registered.hooks.length }, 'admin API: workspace registered');
      response.status(201).json({
        workspace: { uuid: registered.workspaceId, slug: registered.workspaceSlug },
        client_key: registered.clientKey,
        base_api_url: registered.baseApiUrl,
        webhook_url: registered.webhookUrl,
        token: registered.apiToken.token,
        token_id: registered.apiToken.id,
        token_prefix: registered.apiToken.prefix,
        hooks: registered.hooks.map((hook) => ({ repository: hook.repository, uuid: hook.uuid, events: hook.events })),
      });
    } catch (error) {
      if (error instanceof RegistrationError) throw new ApiError(error.status, error.code, error.message, error.fields);
      throw error;
    }
  });

  router.use(apiErrorHandler(logger));
  return router;
}
