import { Router, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AppConfig } from '../config/app-config';
import type { Store } from '../store';
import { connectAuthOf, connectJwtMiddleware } from './connect-jwt';
import { CONNECT_PATHS } from './descriptor';
import { sendError } from './error-response';
import type { PageShellRenderer } from './page-shell';
import { createSessionToken } from './session-token';

/**
 * The iframe pages: `GET /connect/panel`, `/connect/configure`, `/connect/details/{repo}/{pr}`.
 * Iframe loads carry `?jwt=` whose qsh covers every query parameter, so the context values in the URL
 * are signed by Bitbucket; qsh is required. Each answers the generic HTML shell (page-shell.ts) with
 * the page name, its validated context and a short-lived session token for the page's API calls.
 */

const repoUuid = z.string().regex(/^\{[0-9a-fA-F-]{1,62}\}$/, 'must be a repository UUID in braces');
const prId = z.string().regex(/^[1-9][0-9]{0,9}$/, 'must be a pull request id').transform(Number);

const panelQuery = z.looseObject({ repo: repoUuid, pr: prId });
const detailsParams = z.object({ repo: repoUuid, pr: prId });

export interface PageRouterOptions {
  readonly config: AppConfig;
  readonly store: Pick<Store, 'tenants'>;
  readonly logger: Logger;
  readonly renderShell: PageShellRenderer;
  readonly clock?: () => Date;
}

type PageContext = Record<string, string | number | null>;

export function createPageRouter(options: PageRouterOptions): Router {
  const { config } = options;
  const clock = options.clock ?? (() => new Date());
  const router = Router();
  const authenticate = connectJwtMiddleware({
    tenants: options.store.tenants,
    appBaseUrl: config.baseUrl,
    qsh: 'required',
    logger: options.logger.child({ component: 'connect-pages' }),
    clock,
  });

  function render(res: Response, page: string, title: string, context: PageContext): void {
    const { tenant, accountId } = connectAuthOf(res);
    const html = options.renderShell({
      title,
      page,
      context,
      token: createSessionToken(tenant, accountId, clock()),
      hostScriptUrl: config.hostScriptUrl,
      baseUrl: config.baseUrl,
      workspace: tenant.workspaceId,
    });
    // The page holds a session token: never cached.
    res.setHeader('Cache-Control', 'no-store');
    res.status(200).type('text/html; charset=utf-8').send(html);
  }

  function badContext(res: Response, error: z.ZodError): void {
    const fields: Record<string, string> = {};
    for (const issue of error.issues) fields[issue.path.join('.')] ??= issue.message;
    sendError(res, 400, 'INVALID_PAGE_CONTEXT', 'The page was opened without a valid context.', fields);
  }

  router.get(CONNECT_PATHS.panel, authenticate, (req: Request, res: Response) => {
    const query = panelQuery.safeParse(req.query);
    if (!query.success) return badContext(res, query.error);
    render(res, 'pr-panel', `${config.appName}: pull request`, { repo: query.data.repo, pr: query.data.pr });
  });

  router.get(CONNECT_PATHS.configure, authenticate, (_req: Request, res: Response) => {
    render(res, 'configure', `${config.appName} settings`, {});
  });

  router.get(`${CONNECT_PATHS.details}/:repo/:pr`, authenticate, (req: Request, res: Response) => {
    const params = detailsParams.safeParse(req.params);
    if (!params.success) return badContext(res, params.error);
    render(res, 'details', `${config.appName}: verification details`, { repo: params.data.repo, pr: params.data.pr });
  });

  return router;
}
