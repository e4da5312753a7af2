import express, { type NextFunction, type Request, type Response } from 'express';
import { ApiError, RATE_LIMIT_MESSAGE, sendApiError } from './api-errors';
import type { Principal } from './model';
import { authenticate } from './request-auth';
import { accountRoutes } from './routes/account-routes';
import { branchRestrictionRoutes } from './routes/branch-restriction-routes';
import { hookRoutes } from './routes/hook-routes';
import { siteOAuthRoutes, userTokenGate } from './routes/oauth-routes';
import { permissionRoutes } from './routes/permission-routes';
import { pullRequestRoutes } from './routes/pullrequest-routes';
import { reportRoutes } from './routes/report-routes';
import { sourceRoutes } from './routes/source-routes';
import { statusRoutes } from './routes/status-routes';
import type { BitbucketSandbox } from './sandbox';

/**
 * The HTTP face of the sandbox: `/2.0/…` behind, in order, request logging, fault injection,
 * authentication, the per-principal rate counter (only `/2.0/repositories/*`, as on Bitbucket),
 * then the routes. Errors leave in Bitbucket's `{type:"error", error:{…}}` shape.
 */
const MAX_BODY = '1mb';

export function buildApiApp(sandbox: BitbucketSandbox): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/', (_req, res) => {
    res.json({ name: 'clawgate Bitbucket Cloud sandbox', api: `${sandbox.baseUrl}/2.0` });
  });

  // Forge's published invocation-token keys (docs/forge.md §2.4), when the sandbox plays Forge.
  app.get('/forge/.well-known/jwks.json', (_req, res) => {
    if (sandbox.forgeJwks === null) return void res.status(404).json({ error: 'Forge is not enabled in this sandbox' });
    res.json(sandbox.forgeJwks());
  });

  // bitbucket.org/site/oauth2/…: the OAuth consumer flow (Sign in with Bitbucket).
  app.use('/site/oauth2', siteOAuthRoutes(sandbox));

  const api = express.Router();
  api.use((req, res, next) => {
    res.on('finish', () => {
      const principal = res.locals.principal as Principal | undefined;
      sandbox.received.requests.push({
        method: req.method,
        path: req.originalUrl,
        principal: principal?.id ?? null,
        status: res.statusCode,
        at: sandbox.now(),
      });
    });
    next();
  });
  api.use(sandbox.faults.middleware());
  api.use(express.json({ limit: MAX_BODY, type: () => true }));
  // A user's OAuth token reaches /2.0/user… only (oauth-routes.ts); everything else authenticates as before.
  api.use(userTokenGate(sandbox));
  api.use(
    authenticate({
      installationsByClientKey: (k) => sandbox.installationsByClientKey(k),
      accessTokenBySha256: (h) => sandbox.accessTokenBySha256(h),
      now: () => sandbox.now(),
      jwtLeewaySeconds: sandbox.jwtLeewaySeconds,
      recorder: sandbox.received,
    }),
  );
  api.use('/repositories', (_req, res, next) => {
    const principal = res.locals.principal as Principal;
    if (!sandbox.rateLimit.take(principal.id)) {
      res.status(429).type('text/plain').send(RATE_LIMIT_MESSAGE);
      return;
    }
    next();
  });
  api.use(permissionRoutes(sandbox));
  api.use(accountRoutes(sandbox));
  api.use(pullRequestRoutes(sandbox));
  api.use(sourceRoutes(sandbox));
  api.use(statusRoutes(sandbox));
  api.use(reportRoutes(sandbox));
  api.use(branchRestrictionRoutes(sandbox));
  api.use(hookRoutes(sandbox));
  api.use((req: Request) => {
    throw new ApiError(404, `Resource not found: ${req.path}`);
  });

  app.use('/2.0', api);
  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    if (err instanceof ApiError) return sendApiError(res, err);
    const status =
      typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number' ? err.status : 500;
    if (status >= 400 && status < 500)
      return sendApiError(
        res,
        new ApiError(status, status === 413 ? 'Request body too large' : 'Malformed request body'),
      );
    sendApiError(res, new ApiError(500, 'Something went wrong'));
  });
  return app;
}
