import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { connectJwtFailureMessage, verifyConnectJwt } from './connect-jwt';
import type { Store, Tenant } from '../store';
import { ApiError } from './http-error';

/**
 * Authentication and workspace authorization of every `/api/v1/workspaces/{ws}/…` request
 * (design §9): `Authorization: Bearer <API token>` (a per-workspace token, checked by the store in
 * constant time) or `Authorization: JWT <Connect context token>` (AP.context.getToken() in the
 * app's own pages: qsh `context-qsh` or the request's own qsh). The credential names one workspace;
 * `{ws}` must resolve to that same workspace, else 403 — whether `{ws}` exists or not, so a token
 * cannot probe other workspaces. Tokens are accepted only in the header, never in the URL.
 */

export type ApiAuthMethod = 'api_token' | 'connect_jwt';

export interface ApiPrincipal {
  readonly method: ApiAuthMethod;
  /** Bitbucket workspace UUID in braces, lower case: the scope of every store call. */
  readonly workspaceId: string;
  readonly workspaceSlug: string | null;
  /** Who did it, for audit events: `api_token:<id>` or `connect:<account>`. */
  readonly actor: string;
  readonly tokenId?: string;
  readonly accountId?: string;
  readonly tenant?: Tenant;
}

/**
 * Optional gate for Connect users on requests that change something: a context JWT proves only that
 * someone saw one of the app's pages in this workspace (a PR panel is visible to every reader).
 * Return false to answer 403. Without it, any authenticated page user may write (see docs/api.md).
 */
/**
 * What a page user is trying to change: a PR re-check (needs write access to that repository, so a
 * reviewer's panel button works) or anything else (settings, policies, tokens: workspace admins).
 */
export type ConnectWriteIntent = { readonly kind: 'recheck'; readonly repoSlug: string } | { readonly kind: 'administer' };

export type ConnectWriteAccess = (input: { readonly workspaceId: string; readonly accountId: string; readonly tenant: Tenant; readonly intent: ConnectWriteIntent }) => Promise<boolean>;

const RECHECK_PATH = /\/repositories\/([^/]+)\/pullrequests\/[^/]+\/recheck\/?$/;

export function connectWriteIntent(path: string): ConnectWriteIntent {
  const match = RECHECK_PATH.exec(path);
  return match?.[1] ? { kind: 'recheck', repoSlug: decodeURIComponent(match[1]) } : { kind: 'administer' };
}

export interface AuthenticateOptions {
  readonly store: Pick<Store, 'verifyApiToken' | 'tenants'>;
  readonly appBaseUrl: string;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly connectWriteAccess?: ConnectWriteAccess;
}

const principals = new WeakMap<Request, ApiPrincipal>();

const WWW_AUTHENTICATE = 'Bearer realm="clawgate", JWT realm="clawgate"';
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
const JWT = /^JWT[ \t]+(\S+)[ \t]*$/i;
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The principal of a request that passed `authenticate`; throws if it did not (a wiring bug). */
export function principalOf(request: Request): ApiPrincipal {
  const principal = principals.get(request);
  if (principal === undefined) throw new Error('principalOf: request was not authenticated');
  return principal;
}

function unauthenticated(response: Response, code: string, message: string): ApiError {
  response.setHeader('WWW-Authenticate', WWW_AUTHENTICATE);
  return new ApiError(401, code, message);
}

async function credentialPrincipal(request: Request, response: Response, options: AuthenticateOptions): Promise<Omit<ApiPrincipal, 'workspaceSlug'>> {
  const header = request.headers.authorization;
  if (header === undefined || header.trim() === '') throw unauthenticated(response, 'UNAUTHENTICATED', 'send Authorization: Bearer <API token> or Authorization: JWT <Connect token>');
  const bearer = BEARER.exec(header);
  if (bearer !== null) {
    const verified = await options.store.verifyApiToken(bearer[1] ?? '');
    if (verified === null) throw unauthenticated(response, 'INVALID_CREDENTIALS', 'the API token is not valid');
    return { method: 'api_token', workspaceId: verified.workspaceId.toLowerCase(), actor: `api_token:${verified.tokenId}`, tokenId: verified.tokenId };
  }
  const jwt = JWT.exec(header);
  if (jwt !== null) {
    const result = await verifyConnectJwt(jwt[1] ?? '', {
      method: request.method,
      originalUrl: request.originalUrl,
      appBaseUrl: options.appBaseUrl,
      tenants: options.store.tenants,
      qsh: 'context',
      now: options.now(),
    });
    if (!result.ok) {
      options.logger.warn({ reason: result.code, detail: result.message, iss: result.issuer, method: request.method, path: request.path }, 'api: Connect JWT rejected');
      throw unauthenticated(response, 'INVALID_CREDENTIALS', connectJwtFailureMessage(result.code));
    }
    // Page tokens are user tokens; one without a user (a webhook's) must not act here.
    if (result.accountId === undefined) throw unauthenticated(response, 'INVALID_CREDENTIALS', 'the Connect JWT names no user (sub)');
    return {
      method: 'connect_jwt',
      workspaceId: result.tenant.workspaceId.toLowerCase(),
      actor: `connect:${result.accountId}`,
      accountId: result.accountId,
      tenant: result.tenant,
    };
  }
  throw unauthenticated(response, 'UNAUTHENTICATED', 'unsupported Authorization scheme; use Bearer or JWT');
}

/** Middleware for routes under `/workspaces/:ws`. */
export function authenticate(options: AuthenticateOptions): RequestHandler {
  return async (request: Request, response: Response, next: NextFunction): Promise<void> => {
    const credential = await credentialPrincipal(request, response, options);
    const ws = request.params.ws;
    const resolved = typeof ws === 'string' ? await options.store.tenants.resolveWorkspace(ws) : null;
    if (resolved === null || resolved.workspaceId.toLowerCase() !== credential.workspaceId) {
      throw new ApiError(403, 'WORKSPACE_FORBIDDEN', 'the credential does not grant access to this workspace');
    }
    const { tenant, accountId } = credential;
    if (tenant !== undefined && accountId !== undefined && !READ_METHODS.has(request.method) && options.connectWriteAccess !== undefined) {
      const intent = connectWriteIntent(request.path);
      const allowed = await options.connectWriteAccess({ workspaceId: credential.workspaceId, accountId, tenant, intent });
      if (!allowed) throw new ApiError(403, 'FORBIDDEN', intent.kind === 'recheck' ? 'this user may not re-check pull requests in this repository' : 'this user may not change clawgate settings in this workspace');
    }
    principals.set(request, { ...credential, workspaceSlug: resolved.workspaceSlug });
    next();
  };
}
