import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AppConfig } from '../config/app-config';
import type { Store, Tenant } from '../store';
import { connectAuthOf, connectJwtFailureMessage, connectJwtMiddleware, connectTokenFrom, verifyConnectJwt, type ConnectAuth, type ConnectJwtFailureCode } from '../http/connect-jwt';
import { CONNECT_PATHS } from './descriptor';
import { issueFields, sendError } from '../http/error-response';
import { createPageLink } from './page-link';
import type { PageShellRenderer } from './page-shell';
import { createRepositoryNameResolver, type RepositoryNameResolver } from './repository-names';
import { createSessionToken } from '../http/session-token';
import { loadWebAssets, type WebAssets } from './web-assets';

/**
 * The iframe pages and what they need from the Connect surface:
 * - `GET /connect/panel?repo={uuid}&pr={id}`: the PR panel;
 * - `GET /connect/configure[?incident=…]`: the settings page;
 * - `GET /connect/details/{evaluationId}`: the details page of one evaluation — the build status URL
 *   (pipeline/status-urls.ts), so a status opens the verdict it announced;
 * - `GET /connect/details/{repoUuid}/{pr}`: the details page of a PR's latest evaluation;
 * - `GET /connect/links/details/{evaluationId}` (`Authorization: JWT <context token>`): a short-lived
 *   link to that details page for a new tab (page-link.ts);
 * - `GET /connect/agent-runs` and `GET /connect/links/agent-runs`: the workspace's recent agent runs
 *   (issue 12), opened from the settings page through a short-lived page link;
 * - `/connect/assets/*`: the built React bundle (web-assets.ts).
 *
 * Page loads carry `?jwt=` whose qsh covers every query parameter, so the context values in the URL
 * are signed; qsh is required. Each answers the HTML shell (page-shell.ts) with the page name, its
 * validated context and a short-lived session token for the page's API calls. A browser that opens a
 * page without a valid token (a build status link clicked in Bitbucket opens a new tab without one)
 * gets the same shell with status 401, no token and `authProblem` in the context, so the page can say
 * in words what happened and what to do; other clients get the JSON 401 as before.
 */

const repoUuid = z.string().regex(/^\{[0-9a-fA-F-]{1,62}\}$/, 'must be a repository UUID in braces');
const prId = z.string().regex(/^[1-9][0-9]{0,9}$/, 'must be a pull request id').transform(Number);
const evaluationId = z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be an evaluation id').transform((id) => id.toLowerCase());

/** The review page of the workspace's recent agent runs (not a descriptor module: opened by a page link). */
export const AGENT_RUNS_PATH = '/connect/agent-runs';

const panelQuery = z.looseObject({ repo: repoUuid, pr: prId });
const configureQuery = z.looseObject({ incident: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/).optional().catch(undefined) });
const pullRequestParams = z.object({ repo: repoUuid, pr: prId });
const evaluationParams = z.object({ evaluation: evaluationId });

export type PageName = 'pr-panel' | 'configure' | 'details' | 'agent-runs';

/** Why a browser got no page data: shown to the user in words by the page. */
export type PageAuthProblem = 'missing' | 'expired' | 'invalid';

export interface PageRouterOptions {
  readonly config: AppConfig;
  readonly store: Pick<Store, 'tenants'>;
  readonly logger: Logger;
  readonly renderShell: PageShellRenderer;
  readonly clock?: () => Date;
  /** The built bundle (default: `<project>/dist/web`). */
  readonly webAssets?: WebAssets;
  /** Repository `{uuid}` → `workspace/slug` (default: asks Bitbucket, cached). */
  readonly resolveRepositoryName?: RepositoryNameResolver;
  /** For the default resolver's Bitbucket calls (default global fetch). */
  readonly fetch?: typeof globalThis.fetch;
}

type PageContext = Record<string, string | number | null>;

function authProblemOf(code: ConnectJwtFailureCode): PageAuthProblem {
  if (code === 'MISSING_TOKEN') return 'missing';
  return code === 'EXPIRED' || code === 'NOT_YET_VALID' ? 'expired' : 'invalid';
}

const TITLES: Record<PageName, string> = { 'pr-panel': 'pull request', configure: 'settings', details: 'verification details', 'agent-runs': 'recent agent runs' };

export function createPageRouter(options: PageRouterOptions): Router {
  const { config } = options;
  const clock = options.clock ?? (() => new Date());
  const log = options.logger.child({ component: 'connect-pages' });
  const webAssets = options.webAssets ?? loadWebAssets(config.baseUrl);
  const resolveRepositoryName =
    options.resolveRepositoryName ?? createRepositoryNameResolver({ config, logger: options.logger, ...(options.fetch === undefined ? {} : { fetch: options.fetch }) });
  const router = Router();
  router.use(webAssets.router);

  function sendShell(res: Response, status: number, page: PageName, context: PageContext, auth: { token: string; workspace: string }): void {
    const entry = webAssets.entry();
    const html = options.renderShell({
      title: `${config.appName}: ${TITLES[page]}`,
      page,
      context,
      token: auth.token,
      hostScriptUrl: config.hostScriptUrl,
      baseUrl: config.baseUrl,
      workspace: auth.workspace,
      scriptUrl: entry?.scriptUrl ?? '',
      styleUrl: entry?.styleUrl ?? '',
      fallback: entry === null ? 'The clawgate pages are not built on this server (run npm run build).' : 'Loading clawgate…',
    });
    // The page holds a session token: never cached.
    res.setHeader('Cache-Control', 'no-store');
    res.status(status).type('text/html; charset=utf-8').send(html);
  }

  function render(res: Response, page: PageName, context: PageContext): void {
    const { tenant, accountId } = connectAuthOf(res);
    sendShell(res, 200, page, context, { token: createSessionToken(tenant, accountId, clock()), workspace: tenant.workspaceId });
  }

  /** Like connectJwtMiddleware (qsh required), but a browser gets a page that explains, not JSON. */
  function authenticatePage(page: PageName, contextOnFailure: (req: Request) => PageContext = () => ({})): RequestHandler {
    return (req: Request, res: Response, next: NextFunction): void => {
      verifyConnectJwt(connectTokenFrom(req), { method: req.method, originalUrl: req.originalUrl, appBaseUrl: config.baseUrl, tenants: options.store.tenants, qsh: 'required', now: clock() }).then(
        (result) => {
          if (result.ok) {
            const auth: ConnectAuth = result.accountId === undefined ? { tenant: result.tenant, claims: result.claims } : { tenant: result.tenant, accountId: result.accountId, claims: result.claims };
            res.locals.connect = auth;
            next();
            return;
          }
          log.warn({ reason: result.code, detail: result.message, iss: result.issuer, method: req.method, path: req.path }, 'connect: JWT rejected');
          res.setHeader('WWW-Authenticate', 'JWT realm="clawgate"');
          if (req.accepts(['json', 'html']) === 'html') {
            sendShell(res, 401, page, { ...contextOnFailure(req), authProblem: authProblemOf(result.code) }, { token: '', workspace: '' });
            return;
          }
          sendError(res, 401, 'UNAUTHENTICATED', connectJwtFailureMessage(result.code));
        },
        (error: unknown) => next(error),
      );
    };
  }

  function badContext(res: Response, error: z.ZodError): void {
    sendError(res, 400, 'INVALID_PAGE_CONTEXT', 'The page was opened without a valid context.', issueFields(error));
  }

  async function pullRequestContext(tenant: Tenant, repo: string, pr: number): Promise<PageContext> {
    const fullName = await resolveRepositoryName(tenant, repo);
    return fullName === null ? { repoUuid: repo, repo: null, pr, problem: 'REPOSITORY_UNRESOLVED' } : { repoUuid: repo, repo: fullName, pr };
  }

  router.get(CONNECT_PATHS.panel, authenticatePage('pr-panel'), async (req: Request, res: Response) => {
    const query = panelQuery.safeParse(req.query);
    if (!query.success) return badContext(res, query.error);
    render(res, 'pr-panel', await pullRequestContext(connectAuthOf(res).tenant, query.data.repo, query.data.pr));
  });

  router.get(CONNECT_PATHS.configure, authenticatePage('configure'), (req: Request, res: Response) => {
    const incident = configureQuery.parse(req.query).incident;
    render(res, 'configure', incident === undefined ? {} : { incident });
  });

  router.get(
    `${CONNECT_PATHS.details}/:evaluation`,
    authenticatePage('details', (req): PageContext => {
      const params = evaluationParams.safeParse(req.params);
      return params.success ? { evaluation: params.data.evaluation } : {};
    }),
    (req: Request, res: Response) => {
      const params = evaluationParams.safeParse(req.params);
      if (!params.success) return badContext(res, params.error);
      render(res, 'details', { evaluation: params.data.evaluation });
    },
  );

  router.get(`${CONNECT_PATHS.details}/:repo/:pr`, authenticatePage('details'), async (req: Request, res: Response) => {
    const params = pullRequestParams.safeParse(req.params);
    if (!params.success) return badContext(res, params.error);
    render(res, 'details', await pullRequestContext(connectAuthOf(res).tenant, params.data.repo, params.data.pr));
  });

  // The workspace's recent agent runs (issue 12): opened from the settings page through a page link.
  router.get(AGENT_RUNS_PATH, authenticatePage('agent-runs'), (_req: Request, res: Response) => {
    render(res, 'agent-runs', {});
  });

  // A page's own call (context token in the Authorization header): a link that opens the details page
  // of one evaluation in a new tab, for the user who asked.
  const authenticateCall = connectJwtMiddleware({ tenants: options.store.tenants, appBaseUrl: config.baseUrl, qsh: 'context', logger: log, clock });
  router.get('/connect/links/details/:evaluation', authenticateCall, (req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-store');
    const params = evaluationParams.safeParse(req.params);
    if (!params.success) return badContext(res, params.error);
    const { tenant, accountId } = connectAuthOf(res);
    if (accountId === undefined) return sendError(res, 403, 'FORBIDDEN', 'The Connect JWT names no user (sub).');
    const link = createPageLink({ tenant, accountId, baseUrl: config.baseUrl, path: `${CONNECT_PATHS.details}/${params.data.evaluation}`, now: clock() });
    res.status(200).json({ url: link.url, expires_at: link.expiresAt.toISOString() });
  });

  router.get('/connect/links/agent-runs', authenticateCall, (_req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-store');
    const { tenant, accountId } = connectAuthOf(res);
    if (accountId === undefined) return sendError(res, 403, 'FORBIDDEN', 'The Connect JWT names no user (sub).');
    const link = createPageLink({ tenant, accountId, baseUrl: config.baseUrl, path: AGENT_RUNS_PATH, now: clock() });
    res.status(200).json({ url: link.url, expires_at: link.expiresAt.toISOString() });
  });

  return router;
}
