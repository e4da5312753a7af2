import { createHash, randomBytes } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { serialize as serializeCookie } from 'cookie';
import type { Logger } from 'pino';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { z } from 'zod';
import { assertEgressAllowed, bearerAuth, createBitbucketClient } from '../bitbucket';
import { readBoundedBody } from '../bitbucket/bounded-body';
import { defaultSignInConfig, type AppConfig } from '../config/app-config';
import { requestCookie, SIGN_IN_BINDING_COOKIE, SIGN_IN_SESSION_COOKIE } from '../http/sign-in-session';
import { bindingMatches, type Store } from '../store';

/**
 * Sign in with Bitbucket for repository-webhook workspaces (issue 8, docs/sign-in.md): OAuth 2.0
 * authorization code with PKCE (S256) against the OAuth consumer the workspace admin created in
 * Bitbucket and registered with clawgate (`clawgate workspace oauth-consumer`).
 *
 *   GET  /signin/bitbucket?workspace={slug|uuid}&return={page path}  → 302 to Bitbucket's authorize
 *   GET  /signin/bitbucket/callback?code&state                        → 302 back to the page asked for
 *   POST /signin/signout                                              → 204, the session ended
 *
 * - `state`: 32 random bytes, single use, 10 minutes, bound to this browser by a second random value
 *   in an HttpOnly cookie (SameSite=Lax, path /signin); only hashes are stored, compared in constant
 *   time. The PKCE verifier and the consumer secret stay on the server.
 * - `return`: only a clawgate page path (details, settings, agent runs); anything else is refused, so
 *   the callback can never redirect elsewhere (no open redirect).
 * - The person's Bitbucket access token is used only to ask who they are (`GET /2.0/user`) and, later,
 *   what they may see (http/sign-in-viewer.ts); it is sealed at rest, never logged, never sent to the
 *   browser. The session ends when that token does (or at CLAWGATE_SIGNIN_SESSION_SECONDS, sooner).
 */

export const SIGN_IN_PATHS = {
  start: '/signin/bitbucket',
  callback: '/signin/bitbucket/callback',
  signOut: '/signin/signout',
} as const;
const STATE_LIFETIME_MS = 10 * 60 * 1000;
const MAX_TOKEN_RESPONSE_BYTES = 16 * 1024;
const TOKEN_TIMEOUT_MS = 10_000;

/**
 * Where a sign-in may return: a clawgate page path, nothing else, so the callback never redirects
 * elsewhere. The details pages' query (a build status link carries the status mark `?cg=…`) is
 * dropped; the settings page keeps only a well-formed `incident`. Null: refused.
 */
const DETAILS_BY_ID = /^\/connect\/details\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DETAILS_BY_PR = /^\/connect\/details\/\{[0-9a-f-]{1,62}\}\/[1-9][0-9]{0,9}$/;
const INCIDENT = /^[A-Za-z0-9._:-]{1,128}$/;

export function safeReturnPath(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 300 || !value.startsWith('/connect/')) return null;
  const mark = value.indexOf('?');
  const path = (mark < 0 ? value : value.slice(0, mark)).toLowerCase();
  const query = new URLSearchParams(mark < 0 ? '' : value.slice(mark + 1));
  if (DETAILS_BY_ID.test(path) || DETAILS_BY_PR.test(path) || path === '/connect/agent-runs') return path;
  if (path === '/connect/configure') {
    const incident = query.get('incident');
    return incident !== null && INCIDENT.test(incident) && !value.includes('#') ? `${path}?incident=${incident}` : path;
  }
  return null;
}

const startQuery = z.object({ workspace: z.string().min(1).max(128), return: z.string().max(300).optional() });

const tokenResponseSchema = z.looseObject({
  access_token: z.string().min(1).max(4096),
  token_type: z.string().max(32).optional(),
  expires_in: z.number().int().positive().max(31_536_000).optional(),
});

export interface SignInRouterOptions {
  readonly config: Pick<AppConfig, 'baseUrl' | 'allowedHosts' | 'signIn'>;
  readonly store: Pick<Store, 'tenants' | 'oauthConsumers' | 'signIns'>;
  readonly logger: Logger;
  readonly fetch?: typeof fetch;
  readonly clock?: () => Date;
  /**
   * Sign-in starts and callbacks per source address (default 120 per 5 minutes): each start stores a
   * row, each callback may call Bitbucket, so anonymous traffic is bounded (per process).
   */
  readonly attemptsPerAddress?: { readonly points: number; readonly windowSeconds: number };
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (value: string): string => value.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

/** A short page that says what went wrong and what to do (the pages' bundle is not needed for it). */
function sendProblem(res: Response, status: number, code: string, message: string): void {
  res.setHeader('Cache-Control', 'no-store');
  if (res.req.accepts(['json', 'html']) === 'json') {
    res.status(status).json({ error: { code, message } });
    return;
  }
  res
    .status(status)
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>clawgate: sign-in</title></head><body><main><h1>Sign in with Bitbucket</h1><p data-testid="signin-problem" data-code="${escapeHtml(code)}">${escapeHtml(message)}</p></main></body></html>`,
    );
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

export function createSignInRouter(options: SignInRouterOptions): Router {
  const { config, store } = options;
  const signIn = config.signIn ?? defaultSignInConfig();
  const clock = options.clock ?? (() => new Date());
  const log = options.logger.child({ component: 'sign-in' });
  const secure = config.baseUrl.startsWith('https://');
  const router = Router();
  const attempts = options.attemptsPerAddress ?? { points: 120, windowSeconds: 300 };
  const limiter = new RateLimiterMemory({
    points: attempts.points,
    duration: attempts.windowSeconds,
    keyPrefix: 'signin',
  });
  /** False (and a 429 sent) when the request's address is over its limit. */
  async function withinLimit(req: Request, res: Response): Promise<boolean> {
    try {
      await limiter.consume(req.socket.remoteAddress ?? 'unknown');
      return true;
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      res.setHeader('Retry-After', String(Math.max(1, Math.ceil(error.msBeforeNext / 1000))));
      sendProblem(res, 429, 'RATE_LIMITED', 'Too many sign-in attempts from this address; wait a few minutes.');
      return false;
    }
  }

  /** The workspace's active repository-webhook registration and its consumer; null when sign-in is not set up. */
  async function workspaceSignIn(workspace: string) {
    const resolved = await store.tenants.resolveWorkspace(workspace);
    if (resolved === null) return null;
    const tenant = (await store.tenants.listForWorkspace(resolved.workspaceId)).find(
      (candidate) => candidate.surface === 'repo_webhooks' && candidate.uninstalledAt === null,
    );
    if (tenant === undefined || tenant.baseApiUrl === null) return null;
    const consumer = await store.oauthConsumers.get(resolved.workspaceId);
    return consumer === null ? null : { tenant, consumer };
  }

  router.get(SIGN_IN_PATHS.start, async (req: Request, res: Response) => {
    if (!(await withinLimit(req, res))) return;
    const query = startQuery.safeParse(req.query);
    if (!query.success)
      return sendProblem(res, 400, 'INVALID_SIGN_IN_REQUEST', 'Name the workspace (its slug) to sign in to.');
    const returnPath = query.data.return === undefined ? '/connect/configure' : safeReturnPath(query.data.return);
    if (returnPath === null)
      return sendProblem(res, 400, 'INVALID_RETURN_PATH', 'A sign-in can only return to a clawgate page.');
    const found = await workspaceSignIn(query.data.workspace);
    // Unknown workspace and workspace without a consumer answer alike.
    if (found === null)
      return sendProblem(
        res,
        404,
        'SIGN_IN_UNAVAILABLE',
        'Sign in with Bitbucket is not set up for this workspace. Its admin registers an OAuth consumer with clawgate first (README, getting started).',
      );
    const state = randomBytes(32).toString('base64url');
    const binding = randomBytes(32).toString('base64url');
    const verifier = randomBytes(32).toString('base64url');
    await store.signIns.createState(found.tenant.workspaceId, {
      state,
      binding,
      codeVerifier: verifier,
      returnPath,
      expiresAt: new Date(clock().getTime() + STATE_LIFETIME_MS),
    });
    res.setHeader(
      'Set-Cookie',
      serializeCookie(SIGN_IN_BINDING_COOKIE, binding, {
        httpOnly: true,
        sameSite: 'lax',
        secure,
        path: '/signin',
        maxAge: STATE_LIFETIME_MS / 1000,
      }),
    );
    const authorize = new URL(signIn.authorizeUrl);
    authorize.searchParams.set('client_id', found.consumer.consumerKey);
    authorize.searchParams.set('response_type', 'code');
    authorize.searchParams.set('state', state);
    if (signIn.pkce) {
      authorize.searchParams.set('code_challenge', s256(verifier));
      authorize.searchParams.set('code_challenge_method', 'S256');
    }
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(302, authorize.toString());
  });

  /** `POST access_token` with the consumer's credentials; the user's token, or null (logged without secrets). */
  async function exchange(
    consumer: { consumerKey: string; consumerSecret: { reveal(): string } },
    code: string,
    verifier: string,
  ): Promise<{ accessToken: string; expiresIn: number | undefined } | null> {
    const url = new URL(signIn.tokenUrl);
    assertEgressAllowed(url, config.allowedHosts);
    const body = new URLSearchParams({ grant_type: 'authorization_code', code });
    if (signIn.pkce) body.set('code_verifier', verifier);
    const basic = Buffer.from(`${consumer.consumerKey}:${consumer.consumerSecret.reveal()}`, 'utf8').toString('base64');
    const response = await (options.fetch ?? fetch)(url, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${basic}`,
        'Content-Type': 'application/x-www-form-urlencoded',
        Accept: 'application/json',
      },
      body: body.toString(),
      redirect: 'error',
      signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
    });
    const read = await readBoundedBody(response, MAX_TOKEN_RESPONSE_BYTES);
    if (!response.ok || !read.ok) {
      log.warn({ status: response.status }, 'sign-in: Bitbucket refused the authorization code');
      return null;
    }
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(read.bytes).toString('utf8'));
    } catch {
      json = undefined;
    }
    const parsed = tokenResponseSchema.safeParse(json);
    if (!parsed.success) {
      log.warn('sign-in: the token answer is not an access token');
      return null;
    }
    return { accessToken: parsed.data.access_token, expiresIn: parsed.data.expires_in };
  }

  router.get(SIGN_IN_PATHS.callback, async (req: Request, res: Response) => {
    if (!(await withinLimit(req, res))) return;
    const state = typeof req.query.state === 'string' ? req.query.state : '';
    const pending = state === '' ? null : await store.signIns.consumeState(state, clock());
    const binding = requestCookie(req, SIGN_IN_BINDING_COOKIE);
    res.setHeader(
      'Set-Cookie',
      serializeCookie(SIGN_IN_BINDING_COOKIE, '', {
        httpOnly: true,
        sameSite: 'lax',
        secure,
        path: '/signin',
        maxAge: 0,
      }),
    );
    if (pending === null || !bindingMatches(pending, binding)) {
      log.warn({ known: pending !== null }, 'sign-in: callback with an unknown, used, expired or foreign state');
      return sendProblem(
        res,
        400,
        'INVALID_SIGN_IN_STATE',
        'This sign-in is not valid here: it expired, was already used or was started in another browser. Start again from the clawgate page.',
      );
    }
    if (typeof req.query.error === 'string')
      return sendProblem(res, 403, 'SIGN_IN_DENIED', 'Bitbucket did not grant access, so you are not signed in.');
    const code = typeof req.query.code === 'string' && req.query.code.length <= 512 ? req.query.code : '';
    const found = await workspaceSignIn(pending.workspaceId);
    if (code === '' || found === null)
      return sendProblem(
        res,
        400,
        'INVALID_SIGN_IN_STATE',
        'The sign-in could not be completed. Start again from the clawgate page.',
      );
    let token: { accessToken: string; expiresIn: number | undefined } | null;
    try {
      token = await exchange(found.consumer, code, pending.codeVerifier.reveal());
    } catch (error) {
      log.warn(
        { err: error instanceof Error ? error.name : 'unknown' },
        'sign-in: the token endpoint could not be reached',
      );
      return sendProblem(
        res,
        502,
        'BITBUCKET_UNAVAILABLE',
        'Bitbucket could not be reached to finish the sign-in. Try again.',
      );
    }
    if (token === null)
      return sendProblem(
        res,
        400,
        'SIGN_IN_REFUSED',
        'Bitbucket refused the sign-in (the code was used or expired, or the consumer is misconfigured). Start again.',
      );
    let accountUuid: string;
    try {
      const accessToken = token.accessToken;
      const client = createBitbucketClient({
        baseApiUrl: found.tenant.baseApiUrl ?? '',
        auth: bearerAuth(() => accessToken),
        allowedHosts: config.allowedHosts,
        logger: log,
        ...(options.fetch ? { fetch: options.fetch } : {}),
      });
      const user = await client.getCurrentUser();
      const uuid = user.uuid.toLowerCase();
      if (!/^\{[0-9a-f-]{36}\}$/.test(uuid)) throw new Error('the user has no {uuid}');
      accountUuid = uuid;
    } catch (error) {
      log.warn({ err: error instanceof Error ? error.name : 'unknown' }, 'sign-in: GET /2.0/user failed');
      return sendProblem(res, 502, 'BITBUCKET_UNAVAILABLE', 'Bitbucket did not say who you are. Try again.');
    }
    const now = clock();
    const lifetimeSeconds = Math.min(token.expiresIn ?? signIn.sessionMaxSeconds, signIn.sessionMaxSeconds);
    const { session, cookie } = await store.signIns.createSession(found.tenant.workspaceId, {
      accountUuid,
      userToken: token.accessToken,
      expiresAt: new Date(now.getTime() + lifetimeSeconds * 1000),
    });
    log.info({ workspace: session.workspaceId, account: accountUuid }, 'sign-in: session started');
    res.append(
      'Set-Cookie',
      serializeCookie(SIGN_IN_SESSION_COOKIE, cookie, {
        httpOnly: true,
        sameSite: 'lax',
        secure,
        path: '/',
        maxAge: lifetimeSeconds,
      }),
    );
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(302, `${config.baseUrl}${pending.returnPath}`);
  });

  router.post(SIGN_IN_PATHS.signOut, async (req: Request, res: Response) => {
    const cookie = requestCookie(req, SIGN_IN_SESSION_COOKIE);
    const session = cookie === undefined ? null : await store.signIns.sessionByCookie(cookie, clock());
    if (session !== null) await store.signIns.revokeSession(session.workspaceId, session.id);
    res.setHeader(
      'Set-Cookie',
      serializeCookie(SIGN_IN_SESSION_COOKIE, '', { httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge: 0 }),
    );
    res.status(204).end();
  });

  return router;
}

/** The callback URL the admin enters in Bitbucket's OAuth consumer form. */
export function signInCallbackUrl(config: Pick<AppConfig, 'baseUrl'>): string {
  return `${config.baseUrl}${SIGN_IN_PATHS.callback}`;
}
