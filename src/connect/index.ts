import { Router, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/app-config';
import type { ViewerPermissions } from '../http/viewer-permissions';
import type { WebhookIntake } from '../pipeline/webhook-intake';
import type { Store } from '../store';
import { buildDescriptor, CONNECT_PATHS } from './descriptor';
import { sendError } from '../http/error-response';
import { createLifecycleRouter } from './lifecycle-router';
import { createPageRouter } from './page-router';
import { loadPageShell } from './page-shell';
import { securityHeaders } from './security-headers';
import { createWebhookRouter } from './webhook-router';

/**
 * The Connect surface (docs/architecture.md §1, docs/api.md): descriptor, install lifecycle, descriptor webhooks and the
 * iframe pages, each in its own router (Landkid's split, docs/architecture.md §5), behind one set of security
 * headers. Mount at the app root: paths are `/atlassian-connect.json` and `/connect/*`.
 */

export interface ConnectRouterOptions {
  readonly config: AppConfig;
  readonly store: Store;
  readonly intake: WebhookIntake;
  readonly logger: Logger;
  /** Used for the first-install proof call (default global fetch). */
  readonly fetch?: typeof globalThis.fetch;
  /** Default: the system clock. */
  readonly clock?: () => Date;
  /** A viewer's Bitbucket permissions (page links); absent: no page links are made. */
  readonly viewerPermissions?: ViewerPermissions;
  /** A signed-in person's permissions (Sign in with Bitbucket); absent: the pages ignore sign-in session cookies. */
  readonly signInViewerPermissions?: ViewerPermissions;
  /** Directory holding `page.html` (default `<project>/views`). */
  readonly viewsDir?: string;
  /** Waits before retrying a transiently failed first-install proof (default DEFAULT_INSTALL_PROOF_RETRY_DELAYS_MS). */
  readonly installProofRetryDelaysMs?: readonly number[];
}

interface HttpError {
  status?: unknown;
  type?: unknown;
}

export function createConnectRouter(options: ConnectRouterOptions): Router {
  const { config, store, logger } = options;
  const optional = {
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  };
  const router = Router();
  router.use(
    [CONNECT_PATHS.descriptor, '/connect'],
    securityHeaders({ hostScriptUrl: config.hostScriptUrl, allowedHosts: config.allowedHosts }),
  );

  const descriptorJson = JSON.stringify(buildDescriptor(config), null, 2);
  router.get(CONNECT_PATHS.descriptor, (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.status(200).type('application/json').send(descriptorJson);
  });

  router.use(
    createLifecycleRouter({
      config,
      store,
      logger,
      ...optional,
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
      ...(options.installProofRetryDelaysMs === undefined
        ? {}
        : { installProofRetryDelaysMs: options.installProofRetryDelaysMs }),
    }),
  );
  router.use(createWebhookRouter({ config, store, intake: options.intake, logger, ...optional }));
  router.use(
    createPageRouter({
      config,
      store,
      logger,
      renderShell: loadPageShell(options.viewsDir),
      ...optional,
      ...(options.viewerPermissions === undefined ? {} : { viewerPermissions: options.viewerPermissions }),
      ...(options.signInViewerPermissions === undefined
        ? {}
        : { signInViewerPermissions: options.signInViewerPermissions }),
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    }),
  );

  // Body-parser and other errors on /connect answer in the docs/api.md shape, never a stack trace.
  router.use('/connect', (error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    const { status, type } = (typeof error === 'object' && error !== null ? error : {}) as HttpError;
    if (type === 'entity.too.large' || status === 413)
      return sendError(res, 413, 'PAYLOAD_TOO_LARGE', 'The request body is too large.');
    if (typeof status === 'number' && status >= 400 && status < 500)
      return sendError(res, 400, 'MALFORMED_BODY', 'The request body could not be read as JSON.');
    logger.error(
      { err: error instanceof Error ? { name: error.name, message: error.message } : String(error) },
      'connect: request failed',
    );
    sendError(res, 500, 'INTERNAL_ERROR', 'Something went wrong.');
  });
  return router;
}

export { buildDescriptor, CONNECT_PATHS, CONNECT_SCOPES, PR_PANEL_LOCATION } from './descriptor';
export type { ConnectDescriptor } from './descriptor';
export {
  verifyConnectJwt,
  connectJwtMiddleware,
  connectAuthOf,
  connectTokenFrom,
  requestQueryStringHash,
  CONNECT_JWT_LEEWAY_SECONDS,
  CONTEXT_QSH,
} from '../http/connect-jwt';
export type {
  QshPolicy,
  ConnectAuth,
  ConnectJwtClaims,
  ConnectJwtFailure,
  ConnectJwtFailureCode,
  ConnectJwtSuccess,
  ConnectJwtVerification,
  ConnectJwtMiddlewareOptions,
  VerifyConnectJwtOptions,
} from '../http/connect-jwt';
export {
  createSessionToken,
  SESSION_TOKEN_LIFETIME_SECONDS,
  SESSION_LINK_CLAIM,
  type SessionTokenOptions,
} from '../http/session-token';
export { installedPayloadSchema, uninstalledPayloadSchema } from './lifecycle-payload';
export type { InstalledPayload, UninstalledPayload } from './lifecycle-payload';
export { DEFAULT_INSTALL_PROOF_RETRY_DELAYS_MS } from './install-proof';
export { sendError } from '../http/error-response';
