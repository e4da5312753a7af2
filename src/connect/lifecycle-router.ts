import express, { Router, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { egressRefusal } from '../bitbucket';
import type { AppConfig } from '../config/app-config';
import { StoreError, type Store } from '../store';
import {
  connectAuthOf,
  connectJwtFailureMessage,
  connectTokenFrom,
  verifyConnectJwt,
  type ConnectAuth,
  type ConnectJwtClaims,
  type ConnectJwtFailureCode,
  type ConnectJwtVerification,
} from '../http/connect-jwt';
import { CONNECT_PATHS } from './descriptor';
import { issueFields, sendError } from '../http/error-response';
import { MAX_CONCURRENT_INSTALL_PROOFS, proveInstall } from './install-proof';
import {
  installedPayloadSchema,
  lifecycleInconsistency,
  uninstalledPayloadSchema,
  type InstalledPayload,
  type LifecycleIdentifiers,
} from './lifecycle-payload';

/**
 * `POST /connect/installed` and `POST /connect/uninstalled` (Atlassian's Connect lifecycle: first install unsigned, later calls
 * HS256 with the stored shared secret).
 *
 * installed:
 * - payload validated; key, clientKey and principal must agree; `baseUrl` and `baseApiUrl` hosts must
 *   be allowed (403 otherwise: nothing stored, nothing called — no SSRF through a forged install);
 * - known clientKey (re-install, or install after uninstall): must carry a JWT signed with the STORED
 *   secret — iss = the clientKey, aud (when present) naming it, exp, qsh over `POST&/connect/installed&`
 *   — then the new secret replaces it (401 otherwise, nothing written);
 * - unknown clientKey (first install, unsigned by design): proven, before answering, by one API call
 *   signed with the new secret (install-proof.ts); stored (verified) and answered 204 only when
 *   Bitbucket accepted it. A failed proof is answered 403 (503 if Bitbucket was unreachable) and
 *   keeps nothing.
 * uninstalled: JWT with the stored secret (qsh over `POST&/connect/uninstalled&`); the tenant is marked
 * uninstalled, its rows and audit trail stay (so a later install signed with that secret reattaches).
 * The store audits install, re-install and uninstall in the same transaction as the change.
 */

/** The install payload is ~2 KB (capture: 1,733 bytes). */
export const LIFECYCLE_BODY_LIMIT_BYTES = 64 * 1024;

export interface LifecycleRouterOptions {
  readonly config: AppConfig;
  readonly store: Pick<Store, 'tenants'>;
  readonly logger: Logger;
  readonly fetch?: typeof globalThis.fetch;
  readonly clock?: () => Date;
  /** Waits before retrying a transiently failed first-install proof (default DEFAULT_INSTALL_PROOF_RETRY_DELAYS_MS). */
  readonly installProofRetryDelaysMs?: readonly number[];
}

function actorOf(payload: {
  actor?: { account_id?: string | undefined; uuid?: string | undefined } | undefined;
}): string {
  const id = payload.actor?.account_id ?? payload.actor?.uuid;
  return `bitbucket:${id ?? 'unknown'}`.slice(0, 255);
}

function audienceNames(claims: ConnectJwtClaims, clientKey: string): boolean {
  return claims.aud === undefined || claims.aud.includes(clientKey);
}

function refuseUnauthenticated(res: Response, reason: ConnectJwtFailureCode): void {
  res.setHeader('WWW-Authenticate', 'JWT realm="clawgate"');
  sendError(res, 401, 'UNAUTHENTICATED', connectJwtFailureMessage(reason));
}

function hostRefusal(
  payload: { baseUrl: string; baseApiUrl: string },
  allowedHosts: readonly string[],
): string | undefined {
  for (const [field, value] of [
    ['baseUrl', payload.baseUrl],
    ['baseApiUrl', payload.baseApiUrl],
  ] as const) {
    const refusal = egressRefusal(new URL(value), allowedHosts);
    if (refusal !== undefined) return `${field}: ${refusal}`;
  }
  return undefined;
}

export function createLifecycleRouter(options: LifecycleRouterOptions): Router {
  const { config, store } = options;
  const logger = options.logger.child({ component: 'connect-lifecycle' });
  const clock = options.clock ?? (() => new Date());
  const router = Router();
  const jsonBody = express.json({ limit: LIFECYCLE_BODY_LIMIT_BYTES, type: 'application/json', strict: true });
  let proofsInFlight = 0;

  /** Stores a proven install; false when the clientKey already belongs to another workspace (the store refuses moves). */
  async function storeInstall(
    payload: InstalledPayload,
    verifiedBy: 'previous-secret' | 'api-proof',
  ): Promise<boolean> {
    logger.info(
      { clientKey: payload.clientKey, workspace: payload.principal.uuid, verifiedBy },
      'connect: storing installation',
    );
    try {
      await store.tenants.upsertInstall({
        workspaceId: payload.principal.uuid,
        workspaceSlug: payload.principal.username ?? null,
        surface: 'connect',
        clientKey: payload.clientKey,
        appKey: payload.key,
        sharedSecret: payload.sharedSecret,
        baseUrl: payload.baseUrl,
        baseApiUrl: payload.baseApiUrl,
        verified: true,
        actor: actorOf(payload),
      });
      return true;
    } catch (error) {
      if (error instanceof StoreError && error.code === 'INVALID_INPUT') return false;
      throw error;
    }
  }

  function answerStored(res: Response, stored: boolean): void {
    if (stored) res.status(204).end();
    else sendError(res, 409, 'CLIENT_KEY_CONFLICT', 'This clientKey is installed for another workspace.');
  }

  /** Lifecycle calls are signed with the stored secret, also after an uninstall (re-install, repeated uninstall). */
  function verifyLifecycleJwt(req: Request): Promise<ConnectJwtVerification> {
    return verifyConnectJwt(connectTokenFrom(req), {
      method: req.method,
      originalUrl: req.originalUrl,
      appBaseUrl: config.baseUrl,
      tenants: store.tenants,
      qsh: 'required',
      now: clock(),
      acceptUninstalled: true,
    });
  }

  /** The payload, or undefined once a 400 was answered (not a valid payload, or its identifiers disagree). */
  function validPayload<T extends LifecycleIdentifiers>(
    res: Response,
    schema: z.ZodType<T>,
    body: unknown,
    eventType: 'installed' | 'uninstalled',
  ): T | undefined {
    const code = eventType === 'installed' ? 'INVALID_INSTALL_PAYLOAD' : 'INVALID_UNINSTALL_PAYLOAD';
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      sendError(res, 400, code, `The ${eventType} payload is not valid.`, issueFields(parsed.error));
      return undefined;
    }
    const inconsistency = lifecycleInconsistency(parsed.data, config.appKey);
    if (inconsistency !== undefined) {
      sendError(res, 400, code, `The ${eventType} payload is not valid: ${inconsistency}.`);
      return undefined;
    }
    return parsed.data;
  }

  router.post(CONNECT_PATHS.installed, jsonBody, async (req: Request, res: Response) => {
    const payload = validPayload(res, installedPayloadSchema, req.body, 'installed');
    if (payload === undefined) return;
    const refusal = hostRefusal(payload, config.allowedHosts);
    if (refusal !== undefined) {
      logger.warn({ clientKey: payload.clientKey, refusal }, 'connect: install refused: host not allowed');
      sendError(res, 403, 'HOST_NOT_ALLOWED', `Install refused: ${refusal}.`);
      return;
    }

    const existing = await store.tenants.findByClientKey(payload.clientKey);
    if (existing !== null && existing.surface !== 'connect') {
      sendError(res, 409, 'CLIENT_KEY_CONFLICT', 'This clientKey belongs to another kind of registration.');
      return;
    }
    const known = existing !== null && existing.sharedSecret !== null && existing.installVerifiedAt !== null;
    if (known) {
      const verification = await verifyLifecycleJwt(req);
      if (
        !verification.ok ||
        verification.tenant.clientKey !== payload.clientKey ||
        !audienceNames(verification.claims, payload.clientKey)
      ) {
        const reason = verification.ok ? 'token is for another installation' : verification.code;
        logger.warn({ clientKey: payload.clientKey, reason }, 'connect: re-install refused');
        refuseUnauthenticated(res, verification.ok ? 'UNKNOWN_TENANT' : verification.code);
        return;
      }
      answerStored(res, await storeInstall(payload, 'previous-secret'));
      return;
    }

    // First install: unsigned by design, so the new secret is proven with Bitbucket before anything is kept.
    if (proofsInFlight >= MAX_CONCURRENT_INSTALL_PROOFS) {
      sendError(res, 503, 'INSTALL_BUSY', 'Too many installs are being verified; try again shortly.');
      return;
    }
    proofsInFlight += 1;
    let proof;
    try {
      proof = await proveInstall(
        {
          appKey: config.appKey,
          clientKey: payload.clientKey,
          sharedSecret: payload.sharedSecret,
          baseApiUrl: payload.baseApiUrl,
          workspaceId: payload.principal.uuid,
        },
        { allowedHosts: config.allowedHosts, logger, ...(options.fetch === undefined ? {} : { fetch: options.fetch }) },
        options.installProofRetryDelaysMs,
      );
    } finally {
      proofsInFlight -= 1;
    }
    if (!proof.ok) {
      logger.warn(
        { clientKey: payload.clientKey, reason: proof.reason },
        'connect: first install refused: the API did not accept the new secret',
      );
      if (proof.transient)
        sendError(
          res,
          503,
          'INSTALL_PROOF_UNAVAILABLE',
          'The install could not be verified with Bitbucket right now; try again.',
        );
      else
        sendError(
          res,
          403,
          'INSTALL_NOT_PROVEN',
          'The install could not be verified with Bitbucket: its shared secret was not accepted.',
        );
      return;
    }
    answerStored(res, await storeInstall(payload, 'api-proof'));
  });

  router.post(
    CONNECT_PATHS.uninstalled,
    async (req: Request, res: Response, next) => {
      const verification = await verifyLifecycleJwt(req);
      if (!verification.ok) {
        logger.warn({ reason: verification.code, iss: verification.issuer }, 'connect: uninstall refused');
        refuseUnauthenticated(res, verification.code);
        return;
      }
      const auth: ConnectAuth = { tenant: verification.tenant, claims: verification.claims };
      res.locals.connect = auth;
      next();
    },
    jsonBody,
    async (req: Request, res: Response) => {
      const { tenant, claims } = connectAuthOf(res);
      const payload = validPayload(res, uninstalledPayloadSchema, req.body, 'uninstalled');
      if (payload === undefined) return;
      if (payload.clientKey !== tenant.clientKey || !audienceNames(claims, tenant.clientKey)) {
        refuseUnauthenticated(res, 'UNKNOWN_TENANT');
        return;
      }
      if (tenant.uninstalledAt === null) {
        await store.tenants.markUninstalled(tenant.clientKey, actorOf(payload));
        logger.info({ clientKey: tenant.clientKey }, 'connect: uninstalled');
      }
      res.status(204).end();
    },
  );

  return router;
}
