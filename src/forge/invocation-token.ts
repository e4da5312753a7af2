import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import type { ForgeConfig } from '../config/app-config';

/**
 * Forge Invocation Tokens (FIT, docs/forge.md §2.3–2.4): every request Forge makes to clawgate carries
 * `Authorization: Bearer <FIT>`. A FIT is accepted only when all of these hold, else the request is
 * answered 401 (Forge reserves 401 for exactly this) and nothing is read or stored:
 * - signed RS256 (pinned: no `none`, no HMAC confusion) by a key of the configured JWKS. The key set
 *   is jose's `createRemoteJWKSet`: cached, re-fetched on an unknown `kid` at most once per cooldown
 *   (so a flood of made-up `kid`s costs one JWKS fetch per cooldown, not one per request);
 * - `iss` = `forge/invocation-token`, `aud` = the configured app id, `exp` in the future and `nbf`/
 *   `iat` not in the future, within a small clock skew;
 * - the claims clawgate reads have the documented shape (zod below).
 */

export const FIT_ISSUER = 'forge/invocation-token';
export const FIT_ALGORITHMS = ['RS256'] as const;
/** Allowed clock difference between Forge and us. */
export const FIT_CLOCK_SKEW_SECONDS = 30;
/** A FIT is a few KB; anything much larger is not one. */
export const FIT_MAX_LENGTH = 16 * 1024;
/** JWKS re-fetch on an unknown kid: at most once per this many ms. */
export const JWKS_COOLDOWN_MS = 30_000;
/** Keys are cached this long even when every kid is known (rotation picks up within it). */
export const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;
export const JWKS_TIMEOUT_MS = 3_000;

const INSTALLATION_ARI = /^ari:cloud:ecosystem::installation\/[0-9a-f-]{36}$/;
/** Workspace UUIDs arrive with braces (events, `context`) or without (`installation.contexts`). */
const WORKSPACE_UUID = /^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$/;

const contextEntry = z.looseObject({
  name: z.string().max(64).optional(),
  apiBaseUrl: z.string().max(256).optional(),
  workspaceId: z.string().regex(WORKSPACE_UUID).optional(),
});

export const fitClaimsSchema = z.looseObject({
  jti: z.string().max(256).optional(),
  app: z.looseObject({
    id: z.string().max(256),
    installationId: z.string().regex(INSTALLATION_ARI),
    apiBaseUrl: z.url({ protocol: /^https?$/ }).max(256),
    environment: z.looseObject({ type: z.string().max(32).optional(), id: z.string().max(256).optional() }).optional(),
    module: z.looseObject({ type: z.string().max(64).optional(), key: z.string().max(64).optional() }).optional(),
    installation: z
      .looseObject({ id: z.string().max(256).optional(), contexts: z.array(contextEntry).max(16).optional() })
      .optional(),
  }),
  context: z
    .looseObject({
      workspaceId: z.string().regex(WORKSPACE_UUID).optional(),
      moduleKey: z.string().max(64).optional(),
      extension: z.unknown().optional(),
    })
    .optional(),
  /** The invoking user's account id (UI calls only). */
  principal: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,128}$/)
    .optional(),
});

export interface ForgeInvocation {
  /** `ari:cloud:ecosystem::installation/<uuid>`: changes on reinstall. */
  readonly installationId: string;
  /** The Bitbucket workspace, `{uuid}` lower case; null when the token names none. */
  readonly workspaceId: string | null;
  readonly apiBaseUrl: string;
  /** The viewing user (UI calls only). */
  readonly accountId: string | null;
  readonly moduleKey: string | null;
  /** `context.extension` as sent (UI calls only): read through a schema by whoever uses it. */
  readonly extension: unknown;
}

export type FitFailureCode = 'MISSING' | 'MALFORMED' | 'SIGNATURE' | 'CLAIMS' | 'EXPIRED' | 'KEYS_UNAVAILABLE';

export type FitVerification =
  | { readonly ok: true; readonly invocation: ForgeInvocation }
  | { readonly ok: false; readonly code: FitFailureCode; readonly detail: string };

export interface FitVerifier {
  verify(authorization: string | undefined): Promise<FitVerification>;
}

/** `{uuid}` lower case, from either form. */
export function bracedWorkspaceId(value: string): string {
  const bare = value.replace(/^\{|\}$/g, '').toLowerCase();
  return `{${bare}}`;
}

function workspaceOf(claims: z.infer<typeof fitClaimsSchema>): string | null | 'conflict' {
  const seen = new Set<string>();
  if (claims.context?.workspaceId) seen.add(bracedWorkspaceId(claims.context.workspaceId));
  for (const entry of claims.app.installation?.contexts ?? [])
    if (entry.workspaceId) seen.add(bracedWorkspaceId(entry.workspaceId));
  if (seen.size > 1) return 'conflict';
  return [...seen][0] ?? null;
}

const BEARER = /^Bearer[ \t]+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)[ \t]*$/;

export interface FitVerifierOptions {
  readonly config: ForgeConfig;
  /** Verification clock (tests); default the system clock. */
  readonly now?: () => Date;
  /** Key set (tests may pass a local one); default: the remote JWKS at `config.jwksUrl`. */
  readonly keys?: JWTVerifyGetKey;
  /** fetch used for the JWKS (tests); default global fetch. */
  readonly fetch?: typeof globalThis.fetch;
}

export function createFitVerifier(options: FitVerifierOptions): FitVerifier {
  const keys =
    options.keys ??
    createRemoteJWKSet(new URL(options.config.jwksUrl), {
      cooldownDuration: JWKS_COOLDOWN_MS,
      cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
      timeoutDuration: JWKS_TIMEOUT_MS,
      ...(options.fetch ? { [customFetch]: options.fetch } : {}),
    });
  const now = options.now ?? (() => new Date());
  return {
    async verify(authorization) {
      if (authorization === undefined || authorization.trim() === '')
        return { ok: false, code: 'MISSING', detail: 'no Authorization header' };
      if (authorization.length > FIT_MAX_LENGTH + 16)
        return { ok: false, code: 'MALFORMED', detail: 'Authorization header too long' };
      const match = BEARER.exec(authorization);
      if (match === null) return { ok: false, code: 'MALFORMED', detail: 'Authorization is not Bearer <JWT>' };
      let payload: unknown;
      try {
        const verified = await jwtVerify(match[1] ?? '', keys, {
          algorithms: [...FIT_ALGORITHMS],
          issuer: FIT_ISSUER,
          audience: options.config.appId,
          clockTolerance: FIT_CLOCK_SKEW_SECONDS,
          currentDate: now(),
          requiredClaims: ['exp', 'iat'],
        });
        payload = verified.payload;
      } catch (error) {
        if (error instanceof errors.JWTExpired) return { ok: false, code: 'EXPIRED', detail: 'token expired' };
        if (error instanceof errors.JWTClaimValidationFailed)
          return { ok: false, code: 'CLAIMS', detail: `claim ${error.claim} ${error.reason}` };
        if (
          error instanceof errors.JWKSTimeout ||
          error instanceof errors.JWKSInvalid ||
          !(error instanceof errors.JOSEError)
        )
          return { ok: false, code: 'KEYS_UNAVAILABLE', detail: 'the JWKS could not be fetched' };
        if (error instanceof errors.JOSEAlgNotAllowed)
          return { ok: false, code: 'SIGNATURE', detail: 'algorithm not allowed' };
        if (error instanceof errors.JWKSNoMatchingKey)
          return { ok: false, code: 'SIGNATURE', detail: 'no key with this kid' };
        if (error instanceof errors.JWSSignatureVerificationFailed)
          return { ok: false, code: 'SIGNATURE', detail: 'signature verification failed' };
        return {
          ok: false,
          code: 'MALFORMED',
          detail: error instanceof errors.JOSEError ? error.code : 'unreadable token',
        };
      }
      const claims = fitClaimsSchema.safeParse(payload);
      if (!claims.success)
        return { ok: false, code: 'CLAIMS', detail: `claims: ${claims.error.issues[0]?.path.join('.') ?? 'invalid'}` };
      if (claims.data.app.id !== options.config.appId)
        return { ok: false, code: 'CLAIMS', detail: 'app.id is not the configured app' };
      const workspaceId = workspaceOf(claims.data);
      if (workspaceId === 'conflict') return { ok: false, code: 'CLAIMS', detail: 'the token names two workspaces' };
      return {
        ok: true,
        invocation: {
          installationId: claims.data.app.installationId,
          workspaceId,
          apiBaseUrl: claims.data.app.apiBaseUrl.replace(/\/+$/, ''),
          accountId: claims.data.principal ?? null,
          moduleKey: claims.data.context?.moduleKey ?? claims.data.app.module?.key ?? null,
          extension: claims.data.context?.extension,
        },
      };
    },
  };
}
