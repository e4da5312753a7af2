import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AppConfig } from '../config/app-config';
import type { Store, Tenant } from '../store';
import {
  connectAuthOf,
  connectJwtFailureMessage,
  connectJwtMiddleware,
  connectTokenFrom,
  verifyConnectJwt,
  type ConnectAuth,
  type ConnectJwtFailureCode,
} from '../http/connect-jwt';
import { CONNECT_PATHS } from './descriptor';
import { issueFields, sendError } from '../http/error-response';
import { createPageLink } from './page-link';
import type { PageShellRenderer } from './page-shell';
import { createRepositoryNameResolver, type RepositoryNameResolver } from './repository-names';
import type { ViewerPermissions } from '../http/viewer-permissions';
import { createSessionToken, SESSION_LINK_CLAIM } from '../http/session-token';
import { createSignInPageToken, requestCookie, SIGN_IN_SESSION_COOKIE } from '../http/sign-in-session';
import type { SignInSession } from '../store';
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
const prId = z
  .string()
  .regex(/^[1-9][0-9]{0,9}$/, 'must be a pull request id')
  .transform(Number);
const evaluationId = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be an evaluation id')
  .transform((id) => id.toLowerCase());

/** The review page of the workspace's recent agent runs (not a descriptor module: opened by a page link). */
export const AGENT_RUNS_PATH = '/connect/agent-runs';
/** What a link to the agent-runs page names instead of an evaluation (SESSION_LINK_CLAIM). */
export const AGENT_RUNS_LINK = 'page:agent-runs';

const panelQuery = z.looseObject({ repo: repoUuid, pr: prId });
const configureQuery = z.looseObject({
  incident: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/)
    .optional()
    .catch(undefined),
});
const pullRequestParams = z.object({ repo: repoUuid, pr: prId });
const evaluationParams = z.object({ evaluation: evaluationId });

export type PageName = 'pr-panel' | 'configure' | 'details' | 'agent-runs';

/** Why a browser got no page data: shown to the user in words by the page. */
export type PageAuthProblem = 'missing' | 'expired' | 'invalid' | 'forbidden';

export interface PageRouterOptions {
  readonly config: AppConfig;
  readonly store: Pick<Store, 'tenants' | 'evaluations' | 'signIns'>;
  /** Who may open a link to which evaluation (repository read access). Absent: no links are made. */
  readonly viewerPermissions?: ViewerPermissions;
  /**
   * Sign in with Bitbucket (webhook workspaces): a page opened without a Connect JWT but with a live
   * sign-in session cookie is served with a page token of that session; the settings and agent-runs
   * pages only to workspace admins, asked of Bitbucket through these. Absent: session cookies are ignored.
   */
  readonly signInViewerPermissions?: ViewerPermissions;
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

const TITLES: Record<PageName, string> = {
  'pr-panel': 'pull request',
  configure: 'settings',
  details: 'verification details',
  'agent-runs': 'recent agent runs',
};

export function createPageRouter(options: PageRouterOptions): Router {
  const { config } = options;
  const clock = options.clock ?? (() => new Date());
  const log = options.logger.child({ component: 'connect-pages' });
  const webAssets = options.webAssets ?? loadWebAssets(config.baseUrl);
  const resolveRepositoryName =
    options.resolveRepositoryName ??
    createRepositoryNameResolver({
      config,
      logger: options.logger,
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    });
  const router = Router();
  router.use(webAssets.router);

  function sendShell(
    res: Response,
    status: number,
    page: PageName,
    context: PageContext,
    auth: { token: string; workspace: string },
  ): void {
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
      fallback:
        entry === null ? 'The clawgate pages are not built on this server (run npm run build).' : 'Loading clawgate…',
    });
    // The page holds a session token: never cached.
    res.setHeader('Cache-Control', 'no-store');
    res.status(status).type('text/html; charset=utf-8').send(html);
  }

  /**
   * The page with its session token, which ends when the token that opened the page ends. A page
   * opened by a page link (SESSION_LINK_CLAIM) is only the details page of the link's evaluation, and
   * its session carries the claim on: it reads that evaluation only and cannot mint another link.
   */
  function render(res: Response, page: PageName, context: PageContext, evaluation?: string): void {
    const { tenant, accountId, claims } = connectAuthOf(res);
    const link = claims[SESSION_LINK_CLAIM];
    if (
      link !== undefined &&
      (typeof link !== 'string' || evaluation === undefined || link.toLowerCase() !== evaluation)
    ) {
      res.setHeader('Cache-Control', 'no-store');
      sendError(res, 403, 'LINK_SESSION_FORBIDDEN', 'A page link opens only the evaluation it names.');
      return;
    }
    const token = createSessionToken(tenant, accountId, clock(), {
      originExp: claims.exp,
      ...(typeof link === 'string' ? { linkEvaluationId: link.toLowerCase() } : {}),
    });
    sendShell(res, 200, page, context, { token, workspace: tenant.workspaceId });
  }

  /** Like connectJwtMiddleware (qsh required), but a browser gets a page that explains, not JSON. */
  function authenticatePage(
    page: PageName,
    contextOnFailure: (req: Request) => PageContext = () => ({}),
  ): RequestHandler {
    return (req: Request, res: Response, next: NextFunction): void => {
      verifyConnectJwt(connectTokenFrom(req), {
        method: req.method,
        originalUrl: req.originalUrl,
        appBaseUrl: config.baseUrl,
        tenants: options.store.tenants,
        qsh: 'required',
        now: clock(),
      }).then(
        (result) => {
          if (result.ok) {
            const auth: ConnectAuth =
              result.accountId === undefined
                ? { tenant: result.tenant, claims: result.claims }
                : { tenant: result.tenant, accountId: result.accountId, claims: result.claims };
            res.locals.connect = auth;
            next();
            return;
          }
          if (result.code === 'MISSING_TOKEN' && options.signInViewerPermissions !== undefined && page !== 'pr-panel') {
            const cookie = requestCookie(req, SIGN_IN_SESSION_COOKIE);
            if (cookie !== undefined) {
              void options.store.signIns.sessionByCookie(cookie, clock()).then(
                (session) => {
                  if (session === null) return failPage(req, res, page, contextOnFailure, 'expired');
                  res.locals.signIn = session;
                  next();
                },
                (error: unknown) => next(error),
              );
              return;
            }
          }
          log.warn(
            { reason: result.code, detail: result.message, iss: result.issuer, method: req.method, path: req.path },
            'connect: JWT rejected',
          );
          res.setHeader('WWW-Authenticate', 'JWT realm="clawgate"');
          if (req.accepts(['json', 'html']) === 'html') {
            sendShell(
              res,
              401,
              page,
              { ...contextOnFailure(req), authProblem: authProblemOf(result.code) },
              { token: '', workspace: '' },
            );
            return;
          }
          sendError(res, 401, 'UNAUTHENTICATED', connectJwtFailureMessage(result.code));
        },
        (error: unknown) => next(error),
      );
    };
  }

  function failPage(
    req: Request,
    res: Response,
    page: PageName,
    contextOnFailure: (req: Request) => PageContext,
    problem: PageAuthProblem,
  ): void {
    res.setHeader('WWW-Authenticate', 'JWT realm="clawgate"');
    if (req.accepts(['json', 'html']) === 'html')
      return sendShell(
        res,
        401,
        page,
        { ...contextOnFailure(req), authProblem: problem },
        { token: '', workspace: '' },
      );
    sendError(res, 401, 'UNAUTHENTICATED', 'The sign-in session has ended; sign in again.');
  }

  /**
   * A page for a person signed in with Bitbucket: the shell with a page token of their session. The
   * settings and agent-runs pages only for workspace admins (asked of Bitbucket with their own token);
   * what each API call may read is decided again by the API.
   */
  async function renderSignedIn(
    res: Response,
    session: SignInSession,
    page: PageName,
    context: PageContext,
  ): Promise<void> {
    if (page === 'configure' || page === 'agent-runs') {
      const tenant = (await options.store.tenants.listForWorkspace(session.workspaceId))[0];
      const decision =
        options.signInViewerPermissions === undefined
          ? { allowed: false }
          : await options.signInViewerPermissions({
              workspaceId: session.workspaceId,
              workspaceSlug: tenant?.workspaceSlug ?? null,
              account: session.accountUuid,
              need: { kind: 'workspace_admin' },
            });
      if (!decision.allowed)
        return sendShell(res, 403, page, { ...context, authProblem: 'forbidden' }, { token: '', workspace: '' });
    }
    sendShell(res, 200, page, context, {
      token: createSignInPageToken(session, clock()),
      workspace: session.workspaceId,
    });
  }

  function signedIn(res: Response): SignInSession | undefined {
    return res.locals.signIn as SignInSession | undefined;
  }

  function badContext(res: Response, error: z.ZodError): void {
    sendError(res, 400, 'INVALID_PAGE_CONTEXT', 'The page was opened without a valid context.', issueFields(error));
  }

  async function pullRequestContext(tenant: Tenant, repo: string, pr: number): Promise<PageContext> {
    const fullName = await resolveRepositoryName(tenant, repo);
    return fullName === null
      ? { repoUuid: repo, repo: null, pr, problem: 'REPOSITORY_UNRESOLVED' }
      : { repoUuid: repo, repo: fullName, pr };
  }

  router.get(CONNECT_PATHS.panel, authenticatePage('pr-panel'), async (req: Request, res: Response) => {
    const query = panelQuery.safeParse(req.query);
    if (!query.success) return badContext(res, query.error);
    render(res, 'pr-panel', await pullRequestContext(connectAuthOf(res).tenant, query.data.repo, query.data.pr));
  });

  router.get(CONNECT_PATHS.configure, authenticatePage('configure'), async (req: Request, res: Response) => {
    const incident = configureQuery.parse(req.query).incident;
    const session = signedIn(res);
    if (session !== undefined)
      return renderSignedIn(res, session, 'configure', incident === undefined ? {} : { incident });
    render(res, 'configure', incident === undefined ? {} : { incident });
  });

  router.get(
    `${CONNECT_PATHS.details}/:evaluation`,
    authenticatePage('details', (req): PageContext => {
      const params = evaluationParams.safeParse(req.params);
      return params.success ? { evaluation: params.data.evaluation } : {};
    }),
    async (req: Request, res: Response) => {
      const params = evaluationParams.safeParse(req.params);
      if (!params.success) return badContext(res, params.error);
      const session = signedIn(res);
      if (session !== undefined) return renderSignedIn(res, session, 'details', { evaluation: params.data.evaluation });
      render(res, 'details', { evaluation: params.data.evaluation }, params.data.evaluation);
    },
  );

  router.get(`${CONNECT_PATHS.details}/:repo/:pr`, authenticatePage('details'), async (req: Request, res: Response) => {
    const params = pullRequestParams.safeParse(req.params);
    if (!params.success) return badContext(res, params.error);
    const session = signedIn(res);
    if (session !== undefined) {
      // A webhook workspace has no Connect installation to resolve the repository uuid with: the page says so.
      const tenant = (await options.store.tenants.listForWorkspace(session.workspaceId)).find(
        (candidate) => candidate.uninstalledAt === null,
      );
      return renderSignedIn(
        res,
        session,
        'details',
        tenant === undefined
          ? { repoUuid: params.data.repo, repo: null, pr: params.data.pr, problem: 'REPOSITORY_UNRESOLVED' }
          : await pullRequestContext(tenant, params.data.repo, params.data.pr),
      );
    }
    render(res, 'details', await pullRequestContext(connectAuthOf(res).tenant, params.data.repo, params.data.pr));
  });

  // The workspace's recent agent runs (issue 12): opened from the settings page through a page link.
  router.get(AGENT_RUNS_PATH, authenticatePage('agent-runs'), async (_req: Request, res: Response) => {
    const session = signedIn(res);
    if (session !== undefined) return renderSignedIn(res, session, 'agent-runs', {});
    render(res, 'agent-runs', {}, AGENT_RUNS_LINK);
  });

  // A page's own call (context token in the Authorization header): a link that opens the details page
  // of one evaluation in a new tab, for the user who asked.
  const authenticateCall = connectJwtMiddleware({
    tenants: options.store.tenants,
    appBaseUrl: config.baseUrl,
    qsh: 'context',
    logger: log,
    clock,
  });
  // Only for a viewer who may read the evaluation's repository, and never from a session that itself
  // descends from a link (links do not renew themselves).
  router.get('/connect/links/details/:evaluation', authenticateCall, async (req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-store');
    const params = evaluationParams.safeParse(req.params);
    if (!params.success) return badContext(res, params.error);
    const { tenant, accountId, claims } = connectAuthOf(res);
    if (accountId === undefined) return sendError(res, 403, 'FORBIDDEN', 'The Connect JWT names no user (sub).');
    if (claims[SESSION_LINK_CLAIM] !== undefined)
      return sendError(res, 403, 'LINK_SESSION_FORBIDDEN', 'A page opened from a link cannot make another link.');
    const evaluation = await options.store.evaluations.get(tenant.workspaceId, params.data.evaluation);
    if (evaluation === null)
      return sendError(res, 404, 'EVALUATION_NOT_FOUND', 'This workspace has no evaluation with that id.');
    const [owner, repoSlug, ...rest] = evaluation.repoFullName.split('/');
    const ownRepository =
      owner !== undefined &&
      repoSlug !== undefined &&
      rest.length === 0 &&
      (owner.toLowerCase() === tenant.workspaceSlug?.toLowerCase() ||
        owner.toLowerCase() === tenant.workspaceId.toLowerCase());
    const decision =
      options.viewerPermissions === undefined || !ownRepository
        ? { allowed: false }
        : await options.viewerPermissions({
            workspaceId: tenant.workspaceId.toLowerCase(),
            workspaceSlug: tenant.workspaceSlug,
            account: accountId,
            need: { kind: 'repository', repoSlug, level: 'read' },
          });
    if (!decision.allowed) return sendError(res, 403, 'FORBIDDEN', 'You may not see this repository.');
    const link = createPageLink({
      tenant,
      accountId,
      baseUrl: config.baseUrl,
      path: `${CONNECT_PATHS.details}/${evaluation.id}`,
      evaluationId: evaluation.id,
      now: clock(),
    });
    res.status(200).json({ url: link.url, expires_at: link.expiresAt.toISOString() });
  });

  // The agent-runs page is workspace-wide: links for workspace admins only, never from a link's session.
  router.get('/connect/links/agent-runs', authenticateCall, async (_req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-store');
    const { tenant, accountId, claims } = connectAuthOf(res);
    if (accountId === undefined) return sendError(res, 403, 'FORBIDDEN', 'The Connect JWT names no user (sub).');
    if (claims[SESSION_LINK_CLAIM] !== undefined)
      return sendError(res, 403, 'LINK_SESSION_FORBIDDEN', 'A page opened from a link cannot make another link.');
    const decision =
      options.viewerPermissions === undefined
        ? { allowed: false }
        : await options.viewerPermissions({
            workspaceId: tenant.workspaceId.toLowerCase(),
            workspaceSlug: tenant.workspaceSlug,
            account: accountId,
            need: { kind: 'workspace_admin' },
          });
    if (!decision.allowed) return sendError(res, 403, 'FORBIDDEN', 'Only workspace admins see the recent agent runs.');
    const link = createPageLink({
      tenant,
      accountId,
      baseUrl: config.baseUrl,
      path: AGENT_RUNS_PATH,
      evaluationId: AGENT_RUNS_LINK,
      now: clock(),
    });
    res.status(200).json({ url: link.url, expires_at: link.expiresAt.toISOString() });
  });

  return router;
}
