import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { ApiError, sendApiError } from '../api-errors';
import type { OAuthConsumerRecord, UserTokenRecord } from '../oauth-provider';
import { paginate } from '../pagination';
import type { BitbucketSandbox } from '../sandbox';

/**
 * The sandbox's `https://bitbucket.org/site/oauth2/…` and the user-token API (oauth-provider.ts):
 * - `GET /site/oauth2/authorize?client_id&response_type=code&state&code_challenge&code_challenge_method=S256`:
 *   a small consent page listing the workspace's users, one "Grant access as …" button each, and
 *   "Deny" (a browser test clicks one); `POST` of that form redirects to the consumer's callback
 *   with `code` and `state` (or `error=access_denied`).
 * - `POST /site/oauth2/access_token` (form; client credentials by Basic auth or in the body).
 * - With a user token: `GET /2.0/user`, `GET /2.0/user/workspaces/{ws}/permission`,
 *   `GET /2.0/user/workspaces/{ws}/permissions/repositories?q=repository.full_name="ws/slug"`;
 *   any other `/2.0` path answers 403 to a user token.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (value: string): string => value.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function redirectWith(callback: string, params: Record<string, string>): string {
  const url = new URL(callback);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url.toString();
}

function oauthError(res: Response, status: number, error: string, description: string): void {
  res.status(status).json({ error, error_description: description });
}

export function siteOAuthRoutes(sandbox: BitbucketSandbox): Router {
  const router = Router();
  router.use(express.urlencoded({ extended: false, limit: '16kb' }));

  /** The authorize request's parameters, checked; an error page for anything wrong (never a redirect). */
  function authorizeRequest(
    source: Record<string, unknown>,
  ): { consumer: OAuthConsumerRecord; state: string; challenge: string; redirectUri: string | null } | string {
    const consumer = sandbox.oauth.consumer(str(source.client_id) ?? '');
    if (consumer === undefined) return 'Invalid client_id';
    if (str(source.response_type) !== 'code') return 'response_type must be code';
    const redirectUri = str(source.redirect_uri) ?? null;
    if (redirectUri !== null && redirectUri !== consumer.callbackUrl)
      return 'redirect_uri does not match the consumer callback URL';
    const challenge = str(source.code_challenge) ?? '';
    // PKCE is enforced here (S256 only), whatever Bitbucket does.
    if (str(source.code_challenge_method) !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(challenge))
      return 'PKCE required: code_challenge (S256) missing or malformed';
    return { consumer, state: str(source.state) ?? '', challenge, redirectUri };
  }

  router.get('/authorize', (req, res) => {
    const request = authorizeRequest(req.query as Record<string, unknown>);
    res.setHeader('Cache-Control', 'no-store');
    if (typeof request === 'string')
      return void res
        .status(400)
        .type('text/html')
        .send(`<!doctype html><title>OAuth error</title><p data-testid="oauth-error">${esc(request)}</p>`);
    const users = sandbox
      .allUsers()
      .filter((user) => sandbox.permissions.workspacePermission(request.consumer.workspace, user) !== 'none');
    const hidden = (name: string, value: string) => `<input type="hidden" name="${esc(name)}" value="${esc(value)}">`;
    const fields = [
      hidden('client_id', request.consumer.key),
      hidden('response_type', 'code'),
      hidden('state', request.state),
      hidden('code_challenge', request.challenge),
      hidden('code_challenge_method', 'S256'),
      ...(request.redirectUri === null ? [] : [hidden('redirect_uri', request.redirectUri)]),
    ].join('');
    const buttons = users
      .map(
        (user) =>
          `<button type="submit" name="user" value="${esc(user.nickname)}" data-user="${esc(user.nickname)}">Grant access as ${esc(user.nickname)}</button>`,
      )
      .join(' ');
    res
      .type('text/html')
      .send(
        `<!doctype html><html><head><title>Authorize clawgate</title></head><body><h1>Sandbox Bitbucket: authorize ${esc(request.consumer.workspace.slug)} consumer</h1>` +
          `<p>Scopes: ${esc(request.consumer.scopes.join(', '))}</p><form method="post" action="/site/oauth2/authorize">${fields}${buttons} <button type="submit" name="decision" value="deny" data-deny>Deny</button></form></body></html>`,
      );
  });

  router.post('/authorize', (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const request = authorizeRequest(body);
    if (typeof request === 'string') return void res.status(400).type('text/plain').send(request);
    const callback = request.redirectUri ?? request.consumer.callbackUrl;
    if (str(body.decision) === 'deny')
      return void res.redirect(
        302,
        redirectWith(callback, { error: 'access_denied', ...(request.state === '' ? {} : { state: request.state }) }),
      );
    const nickname = str(body.user) ?? '';
    const user = sandbox.allUsers().find((candidate) => candidate.nickname === nickname);
    if (user === undefined) return void res.status(400).type('text/plain').send('unknown user');
    const code = sandbox.oauth.issueCode(request.consumer, user, request.challenge, request.redirectUri);
    res.redirect(302, redirectWith(callback, { code, ...(request.state === '' ? {} : { state: request.state }) }));
  });

  router.post('/access_token', (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    let clientId = str(body.client_id);
    let clientSecret = str(body.client_secret);
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(req.headers.authorization ?? '');
    if (basic !== null) {
      const decoded = Buffer.from(basic[1] ?? '', 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) {
        clientId = decoded.slice(0, colon);
        clientSecret = decoded.slice(colon + 1);
      }
    }
    if (str(body.grant_type) !== 'authorization_code')
      return oauthError(res, 400, 'unsupported_grant_type', 'only authorization_code is supported by the sandbox');
    const result = sandbox.oauth.exchange({
      clientId: clientId ?? '',
      clientSecret: clientSecret ?? '',
      code: str(body.code) ?? '',
      verifier: str(body.code_verifier),
      redirectUri: str(body.redirect_uri),
    });
    if ('error' in result)
      return oauthError(res, result.error === 'invalid_client' ? 401 : 400, result.error, result.description);
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      access_token: result.token,
      token_type: 'bearer',
      expires_in: Math.round((result.record.expiresAt - sandbox.now()) / 1000),
      scopes: result.record.scopes.join(' '),
      refresh_token: 'sandbox-refresh-unsupported',
      state: 'authorization_code',
    });
  });
  return router;
}

const FULL_NAME_FILTER = /^\s*repository\.full_name\s*=\s*"([^"]+)"\s*$/;

/** `/2.0/user…` for user tokens (userTokenApi); any other bearer token passes on to the ordinary authentication. */
export function userTokenGate(sandbox: BitbucketSandbox): (req: Request, res: Response, next: NextFunction) => void {
  const api = userTokenApi(sandbox);
  return (req, res, next) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const token = match?.[1] ?? '';
    const record = token === '' ? undefined : sandbox.oauth.userToken(token);
    if (record === undefined) {
      // An expired or revoked user token is refused like Bitbucket refuses any bad token.
      if (token.startsWith('sbx_user_')) return sendApiError(res, new ApiError(401, 'Access token expired or revoked'));
      return next();
    }
    res.locals.userToken = record;
    res.locals.principal = { id: `user-token:${record.user.nickname}` };
    api(req, res, next);
  };
}

function userTokenApi(sandbox: BitbucketSandbox): Router {
  const router = Router();
  const recordOf = (res: Response): UserTokenRecord => res.locals.userToken as UserTokenRecord;
  const requireScope = (record: UserTokenRecord, scope: string) => {
    if (!record.scopes.includes(scope))
      throw new ApiError(403, `Your credentials lack one or more required privilege scopes. (${scope})`);
  };
  router.get('/user', (_req, res) => {
    const record = recordOf(res);
    requireScope(record, 'account');
    res.json(sandbox.rep.user(record.user));
  });
  router.get('/user/workspaces/:workspace/permission', (req, res) => {
    const record = recordOf(res);
    requireScope(record, 'account');
    const ws = sandbox.findWorkspace(String(req.params.workspace));
    const permission = ws === undefined ? 'none' : sandbox.permissions.workspacePermission(ws, record.user);
    if (ws === undefined || permission === 'none') throw new ApiError(404, 'No workspace membership found');
    res.json({
      type: 'workspace_membership',
      permission,
      user: sandbox.rep.user(record.user),
      workspace: { type: 'workspace', slug: ws.slug, uuid: ws.uuid },
    });
  });
  router.get('/user/workspaces/:workspace/permissions/repositories', (req, res) => {
    const record = recordOf(res);
    requireScope(record, 'account');
    requireScope(record, 'repository');
    const ws = sandbox.findWorkspace(String(req.params.workspace));
    if (ws === undefined) throw new ApiError(404, 'No workspace found');
    const q = req.query.q;
    let only: string | undefined;
    if (q !== undefined) {
      const found = typeof q === 'string' ? FULL_NAME_FILTER.exec(q) : null;
      if (found === null) throw new ApiError(400, `Invalid query: ${String(q)}`);
      only = (found[1] ?? '').toLowerCase();
    }
    const values = sandbox
      .repositoriesOf(ws.uuid)
      .filter((repo) => only === undefined || repo.fullName.toLowerCase() === only)
      .map((repo) => ({ repo, permission: sandbox.permissions.repositoryPermission(repo, record.user) }))
      .filter((entry) => entry.permission !== 'none')
      .map((entry) => ({
        type: 'repository_permission',
        permission: entry.permission,
        user: sandbox.rep.user(record.user),
        repository: {
          type: 'repository',
          name: entry.repo.name,
          full_name: entry.repo.fullName,
          uuid: entry.repo.uuid,
        },
      }));
    res.json(paginate(req, sandbox.baseUrl, values));
  });
  router.use(() => {
    throw new ApiError(403, 'This sandbox user token reaches only /2.0/user…');
  });
  return router;
}
