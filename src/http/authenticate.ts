import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { connectJwtFailureMessage, verifyConnectJwt } from './connect-jwt';
import { SESSION_LINK_CLAIM } from './session-token';
import type { RepositoryPermission } from '../bitbucket';
import type { ViewerNeed, ViewerPermissions } from './viewer-permissions';
import type { SignInRepository, Store, Tenant, TokenScope } from '../store';
import { isSignInToken, verifySignInToken } from './sign-in-session';
import { ApiError } from './http-error';
import type { ApiRateLimits } from './rate-limits';

/**
 * Authentication and authorization of every `/api/v1/workspaces/{ws}/…` request (docs/api.md,
 * docs/api.md "Who may call what").
 *
 * Credentials: `Authorization: Bearer <API token>` (a per-workspace token with scopes, checked by the
 * store in constant time) or `Authorization: JWT <Connect context token>` (the app's own pages: qsh
 * `context-qsh` or the request's own qsh) or `Authorization: JWT <sign-in page token>` (a person signed
 * in with Bitbucket, http/sign-in-session.ts: checked live against its session, and asked of Bitbucket
 * with the person's own token). The credential names one workspace; `{ws}` must resolve to
 * that same workspace, else 403 — whether `{ws}` exists or not, so a token cannot probe other
 * workspaces. Tokens are accepted only in the header, never in the URL.
 *
 * Authorization: every route declares an AccessRule with `access(rule)`; `principalOf` throws on a
 * request whose route declared none (a route cannot forget). A token needs one of the rule's scopes
 * (`admin` grants everything). A person (page JWT) is asked of Bitbucket through ViewerPermissions:
 * workspace admin for settings, policies, assignments, tokens, audit and merge checks; read (or write)
 * access to the repository for its evaluations, bundles and re-checks (checked by the route once it
 * knows the repository, with `authorizeRepository`). A session that descends from a page link reads
 * the one evaluation the link named (and its bundle), nothing else. Refusals are 403 and change nothing.
 */

export type ApiAuthMethod = 'api_token' | 'connect_jwt' | 'forge' | 'signin_session';

export interface ApiPrincipal {
  readonly method: ApiAuthMethod;
  /** Bitbucket workspace UUID in braces, lower case: the scope of every store call. */
  readonly workspaceId: string;
  readonly workspaceSlug: string | null;
  /** Who did it, for audit events: `api_token:<id>` or `connect:<account>`. */
  readonly actor: string;
  readonly tokenId?: string;
  /** The token's scopes (api_token only). */
  readonly scopes?: readonly TokenScope[];
  readonly accountId?: string;
  readonly tenant?: Tenant;
  /** A session descended from a page link: the one evaluation it may read. */
  readonly linkEvaluationId?: string;
  /** The rule the route declared (set by `access`). */
  readonly rule: AccessRule;
}

/** What a person (page JWT) needs for a route. */
export type PersonNeed = 'workspace_admin' | 'repository_read' | 'repository_write';

export interface AccessRule {
  /** Any one of these token scopes grants the route; `admin` always does. */
  readonly scopes: readonly TokenScope[];
  /** What a person needs; `repository_*` is checked by the route with authorizeRepository. */
  readonly person: PersonNeed;
  /** A page-link session may call it (the route checks that it touches the link's evaluation only). */
  readonly linkSession?: boolean;
}

/**
 * A caller another front door already authenticated (the Forge pages: src/forge verifies the Forge
 * invocation token and the viewer, server/ mounts this API behind it). Returns undefined for a request
 * it did not authenticate; then the Authorization header decides as usual.
 */
export type ExternalPrincipal = (
  request: Request,
) =>
  | { readonly workspaceId: string; readonly accountId: string; readonly tenant: Tenant; readonly method: 'forge' }
  | undefined;

/** The rules of the routes, by name (docs/api.md's table is this table). */
export const ACCESS = {
  /** Settings, policy and assignment changes, tokens, merge checks. */
  administer: { scopes: ['admin'], person: 'workspace_admin' },
  /** Workspace-wide reads: policies, assignments, the audit log. */
  readWorkspace: { scopes: ['read'], person: 'workspace_admin' },
  /** Workspace settings (they name trusted keys and agent identities): admins only, also to read. */
  readSettings: { scopes: ['admin'], person: 'workspace_admin' },
  /** A repository's evaluations (a bundles:write token: those of the bundles it uploaded). */
  readEvaluations: { scopes: ['read', 'bundles:write'], person: 'repository_read', linkSession: true },
  /** A stored bundle (the repository of an evaluation that used it). */
  readBundle: { scopes: ['read'], person: 'repository_read', linkSession: true },
  /** One policy document: admins, or readers of a repository whose evaluation applied it (the details page). */
  readPolicy: { scopes: ['read'], person: 'repository_read', linkSession: true },
  /** Uploading a bundle: pipelines; never a page viewer (not an admin's job either). */
  uploadBundle: { scopes: ['bundles:write'], person: 'workspace_admin' },
  /** An evaluation's evidence pack or Trust Pulse: like the evaluation itself (checked by the route). */
  readEvaluationEvidence: { scopes: ['read'], person: 'repository_read', linkSession: true },
  /** The workspace's recent agent runs (the agent-runs page, also opened from its own page link). */
  readAgentRuns: { scopes: ['read'], person: 'workspace_admin', linkSession: true },
  /** A pre-flight verdict for the agent's pipeline (`clawgate agent preflight`). */
  preflight: { scopes: ['bundles:write'], person: 'workspace_admin' },
  /** A re-check: a person with write access who is not an agent; a token with admin scope. */
  recheck: { scopes: ['admin'], person: 'repository_write' },
} as const satisfies Record<string, AccessRule>;

export interface AuthenticateOptions {
  readonly store: Pick<Store, 'verifyApiToken' | 'tenants'>;
  readonly externalPrincipal?: ExternalPrincipal;
  readonly appBaseUrl: string;
  readonly logger: Logger;
  readonly now: () => Date;
  /** How a person's permissions are asked of Bitbucket. Absent: page JWTs are refused everything (fail closed). */
  readonly viewerPermissions?: ViewerPermissions;
  readonly rateLimits?: ApiRateLimits;
  /**
   * Sign in with Bitbucket (docs/sign-in.md): page tokens of signed-in sessions, and how their
   * permissions are asked of Bitbucket (with the person's own token). Absent: such tokens are refused.
   */
  readonly signIn?: {
    readonly signIns: Pick<SignInRepository, 'liveSession'>;
    readonly viewerPermissions: ViewerPermissions;
  };
}

interface Authenticated {
  readonly credential: Omit<ApiPrincipal, 'rule'>;
  readonly options: AuthenticateOptions;
}

const authenticated = new WeakMap<Request, Authenticated>();
const principals = new WeakMap<Request, ApiPrincipal>();
/** Person requests whose route ran its repository (or evidence) check. */
const repositoryChecked = new WeakSet<Request>();

/**
 * Fail closed if a route declares a `repository_*` rule and answers a person without running the
 * check: any success answer becomes a 500 (errors, e.g. the check's own 403, pass through).
 */
function requireRepositoryCheck(request: Request, response: Response, logger: Logger): void {
  const send = response.send.bind(response);
  response.send = ((body?: unknown) => {
    if (response.statusCode < 400 && !repositoryChecked.has(request)) {
      logger.error(
        { method: request.method, path: request.path },
        'api: a route answered a page user without its repository check',
      );
      response.status(500).type('application/json');
      return send(
        JSON.stringify({ error: { code: 'INTERNAL_ERROR', message: 'the request could not be authorized' } }),
      );
    }
    return send(body);
  }) as Response['send'];
}

const WWW_AUTHENTICATE = 'Bearer realm="clawgate", JWT realm="clawgate"';
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;
const JWT = /^JWT[ \t]+(\S+)[ \t]*$/i;

/** A token that may upload bundles but not read the workspace: it sees the evaluations of its own bundles only. */
export function readsOwnUploadsOnly(principal: ApiPrincipal): boolean {
  const scopes = principal.scopes ?? [];
  return principal.method === 'api_token' && !scopes.includes('read') && !scopes.includes('admin');
}

/** The request's source address (the socket's: `trust proxy` is off), for per-address rate limits. */
export function sourceAddress(request: Request): string {
  return request.socket.remoteAddress ?? 'unknown';
}

/** The principal of a request that passed `authenticate` and its route's `access` rule; throws otherwise (a wiring bug). */
export function principalOf(request: Request): ApiPrincipal {
  const principal = principals.get(request);
  if (principal === undefined)
    throw new Error('principalOf: the route declared no access rule, or the request was not authenticated');
  return principal;
}

function unauthenticated(response: Response, code: string, message: string): ApiError {
  response.setHeader('WWW-Authenticate', WWW_AUTHENTICATE);
  return new ApiError(401, code, message);
}

/**
 * The key of the per-credential failure limit: a bearer token's display prefix (never the secret
 * part), which only the workspace's admins see in the token list. JWTs get none: their `iss`/`sub`
 * are unverified and public, so keying on them would let anyone lock a user out; forging an HS256
 * signature is not something a retry limit needs to slow down (the per-address limit still applies).
 */
function credentialKey(header: string): string | null {
  const bearer = BEARER.exec(header);
  return bearer === null ? null : `token:${(bearer[1] ?? '').slice(0, 12)}`;
}

async function credentialPrincipal(
  request: Request,
  response: Response,
  options: AuthenticateOptions,
): Promise<Omit<ApiPrincipal, 'workspaceSlug' | 'rule'>> {
  const external = options.externalPrincipal?.(request);
  if (external !== undefined) {
    return {
      method: external.method,
      workspaceId: external.workspaceId.toLowerCase(),
      actor: `${external.method}:${external.accountId}`,
      accountId: external.accountId,
      tenant: external.tenant,
    };
  }
  const header = request.headers.authorization;
  if (header === undefined || header.trim() === '')
    throw unauthenticated(
      response,
      'UNAUTHENTICATED',
      'send Authorization: Bearer <API token> or Authorization: JWT <Connect token>',
    );
  const bearer = BEARER.exec(header);
  if (bearer !== null) {
    const verified = await options.store.verifyApiToken(bearer[1] ?? '');
    if (verified === null) throw unauthenticated(response, 'INVALID_CREDENTIALS', 'the API token is not valid');
    return {
      method: 'api_token',
      workspaceId: verified.workspaceId.toLowerCase(),
      actor: `api_token:${verified.tokenId}`,
      tokenId: verified.tokenId,
      scopes: verified.scopes,
    };
  }
  const jwt = JWT.exec(header);
  if (jwt !== null && isSignInToken(jwt[1] ?? '')) {
    const session =
      options.signIn === undefined
        ? null
        : await verifySignInToken(jwt[1] ?? '', options.signIn.signIns, options.now());
    if (session === null) {
      options.logger.warn({ method: request.method, path: request.path }, 'api: sign-in page token rejected');
      throw unauthenticated(
        response,
        'INVALID_CREDENTIALS',
        'the sign-in session is not valid (expired, ended or not ours); sign in with Bitbucket again',
      );
    }
    return {
      method: 'signin_session',
      workspaceId: session.workspaceId.toLowerCase(),
      actor: `signin:${session.accountUuid}`,
      accountId: session.accountUuid,
    };
  }
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
      options.logger.warn(
        { reason: result.code, detail: result.message, iss: result.issuer, method: request.method, path: request.path },
        'api: Connect JWT rejected',
      );
      throw unauthenticated(response, 'INVALID_CREDENTIALS', connectJwtFailureMessage(result.code));
    }
    // Page tokens are user tokens; one without a user (a webhook's) must not act here.
    if (result.accountId === undefined)
      throw unauthenticated(response, 'INVALID_CREDENTIALS', 'the Connect JWT names no user (sub)');
    const link = result.claims[SESSION_LINK_CLAIM];
    return {
      method: 'connect_jwt',
      workspaceId: result.tenant.workspaceId.toLowerCase(),
      actor: `connect:${result.accountId}`,
      accountId: result.accountId,
      tenant: result.tenant,
      ...(typeof link === 'string' ? { linkEvaluationId: link } : {}),
    };
  }
  throw unauthenticated(response, 'UNAUTHENTICATED', 'unsupported Authorization scheme; use Bearer or JWT');
}

/** Middleware for routes under `/workspaces/:ws`: who is calling (not yet what they may do: see `access`). */
export function authenticate(options: AuthenticateOptions): RequestHandler {
  return async (request: Request, response: Response, next: NextFunction): Promise<void> => {
    const address = sourceAddress(request);
    const presented = credentialKey(request.headers.authorization ?? '');
    await options.rateLimits?.assertAuthFailuresBelowLimit(response, address, presented);
    let credential: Omit<ApiPrincipal, 'workspaceSlug' | 'rule'>;
    try {
      credential = await credentialPrincipal(request, response, options);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401)
        await options.rateLimits?.recordAuthFailure(address, presented);
      throw error;
    }
    const ws = request.params.ws;
    const resolved = typeof ws === 'string' ? await options.store.tenants.resolveWorkspace(ws) : null;
    if (resolved === null || resolved.workspaceId.toLowerCase() !== credential.workspaceId) {
      throw new ApiError(403, 'WORKSPACE_FORBIDDEN', 'the credential does not grant access to this workspace');
    }
    authenticated.set(request, { credential: { ...credential, workspaceSlug: resolved.workspaceSlug }, options });
    next();
  };
}

/** Whose answers decide for a person: signed-in sessions ask with their own token, page JWTs with the installation. */
function viewerOf(
  credential: Pick<ApiPrincipal, 'method'>,
  options: AuthenticateOptions,
): ViewerPermissions | undefined {
  return credential.method === 'signin_session' ? options.signIn?.viewerPermissions : options.viewerPermissions;
}

function personQuery(principal: Omit<ApiPrincipal, 'rule'>, need: ViewerNeed): Parameters<ViewerPermissions>[0] {
  return {
    workspaceId: principal.workspaceId,
    workspaceSlug: principal.workspaceSlug,
    account: principal.accountId ?? '',
    need,
  };
}

/**
 * A route's declaration of what it needs. Tokens: a scope of the rule (403 INSUFFICIENT_SCOPE).
 * Persons: workspace admin is checked here; repository access by the route (authorizeRepository)
 * once it knows which repository. Link sessions: only routes that allow them.
 */
export function access(rule: AccessRule): RequestHandler {
  return async (request: Request, response: Response, next: NextFunction): Promise<void> => {
    const state = authenticated.get(request);
    if (state === undefined) throw new Error('access: the request was not authenticated');
    const { credential, options } = state;
    if (credential.method === 'api_token') {
      const scopes = credential.scopes ?? [];
      if (!scopes.includes('admin') && !rule.scopes.some((scope) => scopes.includes(scope))) {
        throw new ApiError(
          403,
          'INSUFFICIENT_SCOPE',
          `this token lacks the scope this request needs (one of: ${[...new Set([...rule.scopes, 'admin'])].join(', ')})`,
        );
      }
    } else {
      if (credential.linkEvaluationId !== undefined && rule.linkSession !== true) {
        throw new ApiError(
          403,
          'LINK_SESSION_FORBIDDEN',
          'a page opened from a link may read only the evaluation it names',
        );
      }
      const viewer = viewerOf(credential, options);
      if (viewer === undefined) throw new ApiError(403, 'FORBIDDEN', 'page users cannot be authorized on this server');
      if (rule.person === 'workspace_admin') {
        const decision = await viewer(personQuery(credential, { kind: 'workspace_admin' }));
        if (!decision.allowed) throw new ApiError(403, 'FORBIDDEN', 'this needs a workspace admin');
      } else {
        requireRepositoryCheck(request, response, options.logger);
      }
    }
    principals.set(request, { ...credential, rule });
    next();
  };
}

/** For a person: is this viewer a workspace admin (asked of Bitbucket)? Tokens: false. */
export async function isWorkspaceAdmin(request: Request): Promise<boolean> {
  const principal = principalOf(request);
  const state = authenticated.get(request);
  const viewer = state === undefined ? undefined : viewerOf(principal, state.options);
  if (principal.method === 'api_token' || viewer === undefined) return false;
  const allowed = (await viewer(personQuery(principal, { kind: 'workspace_admin' }))).allowed;
  if (allowed) repositoryChecked.add(request);
  return allowed;
}

/**
 * The repository check of a `repository_*` rule, for a person; tokens passed with their scope.
 * `repoFullName` is `workspace/slug` as stored; a repository of another workspace is refused.
 * Returns the viewer's decision (its `accountUuid` serves the re-check rule), or undefined for tokens.
 */
export async function authorizeRepository(
  request: Request,
  repoFullName: string,
): Promise<{ accountUuid: string | null; permission: RepositoryPermission } | undefined> {
  const principal = principalOf(request);
  if (principal.method === 'api_token') return undefined;
  const state = authenticated.get(request);
  const [owner, slug, ...rest] = repoFullName.split('/');
  const ownWorkspace =
    owner !== undefined &&
    (owner.toLowerCase() === principal.workspaceSlug?.toLowerCase() || owner.toLowerCase() === principal.workspaceId);
  const viewer = state === undefined ? undefined : viewerOf(principal, state.options);
  if (viewer === undefined || slug === undefined || slug === '' || rest.length > 0 || !ownWorkspace) {
    throw new ApiError(403, 'FORBIDDEN', 'you may not see this repository');
  }
  const level = principal.rule.person === 'repository_write' ? 'write' : 'read';
  if (principal.rule.person === 'workspace_admin')
    throw new Error('authorizeRepository: the route declared workspace_admin');
  const decision = await viewer(personQuery(principal, { kind: 'repository', repoSlug: slug, level }));
  if (!decision.allowed)
    throw new ApiError(
      403,
      'FORBIDDEN',
      level === 'write' ? 'this needs write access to the repository' : 'you may not see this repository',
    );
  repositoryChecked.add(request);
  return { accountUuid: decision.accountUuid ?? null, permission: decision.repositoryPermission ?? 'none' };
}
