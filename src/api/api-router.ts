import { Router, type NextFunction, type Request, type Response } from 'express';
import type { ApiContext, ApiRouterOptions } from './api-context';
import { apiErrorHandler, notFoundHandler } from '../http/error-handler';
import { authenticate } from '../http/authenticate';
import { createApiRateLimits, type ApiRateLimits } from '../http/rate-limits';
import { alertRoutes } from './routes/alert-routes';
import { assignmentRoutes } from './routes/assignment-routes';
import { auditRoutes } from './routes/audit-routes';
import { bundleRoutes } from './routes/bundle-routes';
import { evaluationRoutes } from './routes/evaluation-routes';
import { evidenceRoutes } from './routes/evidence-routes';
import { mergeCheckRoutes } from './routes/merge-check-routes';
import { policyRoutes } from './routes/policy-routes';
import { preflightRoutes } from './routes/preflight-routes';
import { recheckRoutes } from './routes/recheck-routes';
import { settingsRoutes } from './routes/settings-routes';
import { tokenRoutes } from './routes/token-routes';
import { inlineVerifier } from '../pipeline/verification-pool';

function isRateLimits(value: unknown): value is ApiRateLimits {
  return typeof value === 'object' && value !== null && 'consume' in value && typeof value.consume === 'function';
}

/**
 * The JSON API, mounted by the app at `/api/v1` (every route in docs/api.md). Every route
 * lives under `/workspaces/{ws}` and is authenticated before anything else runs — before the body is
 * read, so an unauthenticated request cannot make the server buffer a large body — and declares what
 * it needs with `access(rule)` (authenticate.ts), checked before the body is read too. Answers are never
 * cached (they carry tokens and settings).
 */
export function createApiRouter(options: ApiRouterOptions): Router {
  const context: ApiContext = {
    config: options.config,
    store: options.store,
    logger: options.logger.child({ component: 'api' }),
    recheck: options.recheck,
    reevaluateAgentPullRequests: options.reevaluateAgentPullRequests,
    now: options.now ?? (() => new Date()),
    rateLimits: isRateLimits(options.rateLimits) ? options.rateLimits : createApiRateLimits(options.rateLimits ?? {}),
    verifier: options.verifier ?? inlineVerifier,
  };
  const router = Router();
  router.use((_request: Request, response: Response, next: NextFunction) => {
    response.setHeader('Cache-Control', 'no-store');
    response.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });

  const workspace = Router({ mergeParams: true });
  workspace.use(
    authenticate({
      store: options.store,
      appBaseUrl: options.config.baseUrl,
      logger: context.logger,
      now: context.now,
      rateLimits: context.rateLimits,
      ...(options.viewerPermissions !== undefined ? { viewerPermissions: options.viewerPermissions } : {}),
      ...(options.externalPrincipal !== undefined ? { externalPrincipal: options.externalPrincipal } : {}),
      ...(options.signInViewerPermissions !== undefined
        ? { signIn: { signIns: options.store.signIns, viewerPermissions: options.signInViewerPermissions } }
        : {}),
    }),
  );
  workspace.use(settingsRoutes(context));
  workspace.use(policyRoutes(context));
  workspace.use(assignmentRoutes(context));
  workspace.use(bundleRoutes(context));
  workspace.use(evaluationRoutes(context));
  workspace.use(evidenceRoutes(context));
  workspace.use(preflightRoutes(context));
  workspace.use(tokenRoutes(context));
  workspace.use(recheckRoutes(context));
  workspace.use(auditRoutes(context));
  workspace.use(alertRoutes(context));
  workspace.use(mergeCheckRoutes(context, options.bitbucketForWorkspace));
  router.use('/workspaces/:ws', workspace);
  // The deployment's evidence-signing public keys (did:key), current and retired: public by design,
  // so an auditor can pin them (docs/evidence.md). Anonymous; nothing secret is answered.
  router.get('/evidence-keys', async (_request: Request, response: Response) => {
    let keys = await options.store.evidenceKeys.list();
    if (keys.length === 0) {
      await options.store.evidenceKeys.activeSigner();
      keys = await options.store.evidenceKeys.list();
    }
    response.json({
      keys: keys.map((k) => ({
        did: k.did,
        public_key_b64u: k.publicKeyB64u,
        created_at: k.createdAt.toISOString(),
        retired_at: k.retiredAt?.toISOString() ?? null,
        active: k.retiredAt === null,
      })),
    });
  });

  router.use(notFoundHandler);
  router.use(apiErrorHandler(context.logger));
  return router;
}
