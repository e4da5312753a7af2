import { randomUUID } from 'node:crypto';
import express, { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { accountRefFrom, type BitbucketClient } from '../bitbucket';
import type { AppConfig, ForgeConfig } from '../config/app-config';
import type { WebhookIntake } from '../pipeline/webhook-intake';
import type { JobQueue } from '../queue/job-queue';
import type { Store, Tenant } from '../store';
import { forgeBitbucketClient, forgeTenantFor, markForgeUninstalled, systemTokenOf } from './installations';
import { createFitVerifier, type FitVerifier, type ForgeInvocation } from './invocation-token';
import { parseMergeCheckBody, runMergeCheck, type MergeCheckAnswer } from './merge-check';
import {
  bracedUuid,
  forgeDeliveryId,
  forgeEventSchema,
  unwrapForgeBody,
  webhookEventKeyOf,
  webhookPayloadOf,
} from './product-events';
import { createViewerAccess, type ViewerAccess } from './viewer-access';

/**
 * The Forge front door (docs/architecture.md §1, docs/forge.md): the remote endpoints the Forge app's manifest
 * (forge/manifest.yml) points at. Every request is authenticated by its Forge Invocation Token before
 * its body is read; a bad token is 401 and nothing is parsed or stored. Then the installation is
 * mapped to a tenant (installations.ts) and:
 *
 * - `POST /forge/events`        product events → the same intake as webhooks (dedupe, enqueue, ack);
 * - `POST /forge/merge-check`   `{success, message}` from the head's verdict (merge-check.ts);
 * - `POST /forge/lifecycle`     `avi:forge:installed:app` / `upgraded:app`: the tenant is recorded;
 * - `POST /forge/pre-uninstall` the installation is marked uninstalled;
 * - `/forge/ui/…`               the pages' `invokeRemote` calls: the viewer (`principal`) must be a
 *                               member of the workspace; `GET /forge/ui/context` says what the page
 *                               shows; `/forge/ui/api/v1/…` goes on to the JSON API with the principal
 *                               `forgeUiPrincipalOf` returns (wired in server/).
 *
 * Answers are JSON (Forge requires it for non-2xx). After authentication the merge check always
 * answers 200 with `success: false` on any problem, because how Bitbucket shows a non-2xx merge
 * check is not documented.
 */

export const FORGE_PATHS = {
  events: '/forge/events',
  mergeCheck: '/forge/merge-check',
  lifecycle: '/forge/lifecycle',
  preUninstall: '/forge/pre-uninstall',
  ui: '/forge/ui',
} as const;

/** Front-end invocations are ≤ 500 KB (docs/forge.md §2.1); events are smaller. */
export const FORGE_BODY_LIMIT_BYTES = 512 * 1024;
/** The repository lookup an event needs must leave time to ack within Forge's 5 s. */
const EVENT_LOOKUP_TIMEOUT_MS = 2_000;
const REPOSITORY_NAME_CACHE_MAX = 5_000;

export interface ForgeRouterOptions {
  readonly config: AppConfig & { readonly forge: ForgeConfig };
  readonly store: Store;
  readonly queue: JobQueue;
  readonly intake: WebhookIntake;
  readonly logger: Logger;
  readonly fetch?: typeof globalThis.fetch;
  /** Tests inject a verifier bound to their own JWKS; default: the configured JWKS URL. */
  readonly verifier?: FitVerifier;
  readonly mergeCheckBudgetMs?: number;
  readonly viewerAccess?: ViewerAccess;
}

export interface ForgeUiPrincipal {
  readonly workspaceId: string;
  readonly accountId: string;
  readonly tenant: Tenant;
}

interface Authenticated {
  readonly invocation: ForgeInvocation;
  readonly tenant: Tenant;
  readonly systemToken: string | null;
}

/** `context.extension` of a page (docs/forge.md §5: `repository.uuid`; the PR panel's `pullRequest.id` is UNCONFIRMED). */
const extensionSchema = z.looseObject({
  repository: z.looseObject({ uuid: z.string().regex(/^\{?[0-9a-fA-F-]{36}\}?$/) }).optional(),
  pullRequest: z
    .looseObject({ id: z.union([z.number().int().positive(), z.string().regex(/^[1-9][0-9]{0,9}$/)]) })
    .optional(),
});

const authenticated = new WeakMap<Request, Authenticated>();
const uiPrincipals = new WeakMap<Request, ForgeUiPrincipal>();

/** The viewer of a `/forge/ui` request that passed the gate; undefined for any other request. */
export function forgeUiPrincipalOf(request: Request): ForgeUiPrincipal | undefined {
  return uiPrincipals.get(request);
}

function send(res: Response, status: number, body: unknown): void {
  res.status(status).type('application/json').send(JSON.stringify(body));
}

function sendError(res: Response, status: number, code: string, message: string): void {
  send(res, status, { error: { code, message } });
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export function createForgeRouter(options: ForgeRouterOptions): Router {
  const { config, store, logger: baseLogger } = options;
  const logger = baseLogger.child({ component: 'forge' });
  const verifier =
    options.verifier ?? createFitVerifier({ config: config.forge, ...(options.fetch ? { fetch: options.fetch } : {}) });
  const tenantDeps = { store, config, logger, ...(options.fetch ? { fetch: options.fetch } : {}) };
  const viewerAccess =
    options.viewerAccess ??
    createViewerAccess({
      logger,
      clientFor: (tenant, token) => clientFor(tenant, token, `forge-viewer:${randomUUID()}`),
    });
  const repositoryNames = new Map<string, string>();

  function clientFor(
    tenant: Tenant,
    systemToken: string | null,
    requestId: string,
    timeoutMs?: number,
  ): BitbucketClient {
    const token = systemToken ?? tenant.accessToken?.reveal() ?? null;
    if (token === null || tenant.baseApiUrl === null)
      throw new Error('the Forge installation has no app system token yet');
    return forgeBitbucketClient(tenantDeps, tenant.baseApiUrl, token, requestId, timeoutMs);
  }

  /** FIT → tenant, before any body is read. */
  const authenticate: RequestHandler = async (req: Request, res: Response, next: NextFunction) => {
    const result = await verifier.verify(req.headers.authorization);
    if (!result.ok) {
      logger.warn({ path: req.path, reason: result.code, detail: result.detail }, 'forge: invocation token rejected');
      res.setHeader('WWW-Authenticate', 'Bearer realm="clawgate-forge"');
      sendError(res, 401, 'INVALID_INVOCATION_TOKEN', 'The Forge invocation token could not be verified.');
      return;
    }
    const systemToken = systemTokenOf(req.headers['x-forge-oauth-system']);
    const tenant = await forgeTenantFor(tenantDeps, result.invocation, systemToken);
    if (!tenant.ok) {
      logger.warn(
        { path: req.path, installation: result.invocation.installationId, reason: tenant.code, detail: tenant.detail },
        'forge: installation refused',
      );
      sendError(res, 403, tenant.code, 'This Forge installation cannot use clawgate.');
      return;
    }
    authenticated.set(req, { invocation: result.invocation, tenant: tenant.tenant, systemToken });
    next();
  };

  function authOf(req: Request): Authenticated {
    const auth = authenticated.get(req);
    if (auth === undefined) throw new Error('forge: request was not authenticated');
    return auth;
  }

  const json = express.json({ limit: FORGE_BODY_LIMIT_BYTES, type: () => true, strict: true });
  const router = Router();

  async function repositoryFullName(
    tenant: Tenant,
    systemToken: string | null,
    repositoryUuid: string,
    requestId: string,
  ): Promise<string> {
    const cacheKey = `${tenant.clientKey}/${repositoryUuid}`;
    const cached = repositoryNames.get(cacheKey);
    if (cached !== undefined) return cached;
    const repository = await clientFor(tenant, systemToken, requestId, EVENT_LOOKUP_TIMEOUT_MS).getRepository(
      tenant.workspaceId,
      repositoryUuid,
    );
    if (repositoryNames.size >= REPOSITORY_NAME_CACHE_MAX) repositoryNames.clear();
    repositoryNames.set(cacheKey, repository.full_name);
    return repository.full_name;
  }

  router.post(FORGE_PATHS.events, authenticate, json, async (req: Request, res: Response) => {
    const { tenant, systemToken } = authOf(req);
    const raw = unwrapForgeBody(req.body);
    const parsed = forgeEventSchema.safeParse(raw);
    if (!parsed.success) {
      sendError(res, 400, 'INVALID_EVENT', 'The body is not a Bitbucket product event.');
      return;
    }
    const event = parsed.data;
    const deliveryId = forgeDeliveryId(raw);
    const log = logger.child({ deliveryId, eventType: event.eventType, workspace: tenant.workspaceId });
    if (bracedUuid(event.workspace.uuid) !== tenant.workspaceId) {
      log.warn({ eventWorkspace: event.workspace.uuid }, 'forge: event names another workspace than its installation');
      sendError(res, 403, 'WRONG_WORKSPACE', 'The event names a workspace outside this installation.');
      return;
    }
    // clawgate's own writes (its build statuses) come back as events: never a reason to act.
    if (event.selfGenerated === true) {
      send(res, 200, { accepted: false, ignored: 'self_generated' });
      return;
    }
    const eventKey = webhookEventKeyOf(event.eventType);
    if (eventKey === null) {
      send(res, 200, { accepted: false, ignored: 'event_not_handled' });
      return;
    }
    let fullName: string;
    try {
      fullName = await repositoryFullName(tenant, systemToken, bracedUuid(event.repository.uuid), deliveryId);
    } catch (error) {
      log.warn({ err: errorText(error) }, 'forge: repository lookup failed; Forge will retry');
      sendError(res, 503, 'BITBUCKET_UNAVAILABLE', 'The repository could not be looked up; retry.');
      return;
    }
    const payload = webhookPayloadOf(event, eventKey, { fullName, workspaceSlug: tenant.workspaceSlug });
    if (payload === null) {
      send(res, 200, { accepted: false, ignored: 'payload_incomplete' });
      return;
    }
    try {
      const retry = (raw as { retryContext?: { retryCount?: unknown } }).retryContext?.retryCount;
      const result = await options.intake.receive({
        surface: 'forge',
        tenant,
        eventKey,
        deliveryId,
        attempt: typeof retry === 'number' ? retry + 1 : 1,
        payload,
      });
      log.info({ accepted: result.accepted, duplicate: result.duplicate, jobs: result.jobs }, 'forge: event received');
      send(res, 200, result);
    } catch (error) {
      log.error({ err: errorText(error) }, 'forge: event intake failed');
      sendError(res, 503, 'INTAKE_UNAVAILABLE', 'The event could not be queued; retry.');
    }
  });

  router.post(FORGE_PATHS.mergeCheck, authenticate, json, async (req: Request, res: Response) => {
    const { tenant, systemToken } = authOf(req);
    const requestId = `forge-merge-check:${randomUUID()}`;
    const invocation = parseMergeCheckBody(req.body);
    let result: MergeCheckAnswer;
    if (invocation === null) {
      result = {
        success: false,
        message: 'clawgate: the merge check request could not be read, so the pull request is not verified.',
      };
    } else {
      try {
        result = await runMergeCheck(
          {
            store,
            queue: options.queue,
            config,
            logger,
            ...(options.mergeCheckBudgetMs !== undefined ? { budgetMs: options.mergeCheckBudgetMs } : {}),
          },
          tenant,
          clientFor(tenant, systemToken, requestId, EVENT_LOOKUP_TIMEOUT_MS),
          invocation,
          requestId,
        );
      } catch (error) {
        logger.warn({ requestId, err: errorText(error) }, 'forge: merge check could not be answered from a verdict');
        result = {
          success: false,
          message:
            'clawgate: the pull request could not be verified right now (Bitbucket or clawgate unavailable). Re-run the check.',
        };
      }
    }
    send(res, 200, result);
  });

  router.post(FORGE_PATHS.lifecycle, authenticate, json, (req: Request, res: Response) => {
    const { tenant, invocation } = authOf(req);
    const body = unwrapForgeBody(req.body) as { eventType?: unknown } | null;
    logger.info(
      {
        installation: invocation.installationId,
        workspace: tenant.workspaceId,
        eventType: typeof body?.eventType === 'string' ? body.eventType.slice(0, 64) : null,
      },
      'forge: lifecycle event',
    );
    send(res, 200, { installed: true });
  });

  router.post(FORGE_PATHS.preUninstall, authenticate, async (req: Request, res: Response) => {
    const { tenant } = authOf(req);
    await markForgeUninstalled(store, tenant.clientKey);
    logger.info(
      { installation: tenant.clientKey, workspace: tenant.workspaceId },
      'forge: pre-uninstall; installation marked uninstalled',
    );
    send(res, 200, { uninstalled: true });
  });

  // The pages' calls: a user must be behind them, and that user must belong to the workspace.
  router.use(FORGE_PATHS.ui, authenticate, async (req: Request, res: Response, next: NextFunction) => {
    const { invocation, tenant, systemToken } = authOf(req);
    if (invocation.accountId === null) {
      sendError(res, 403, 'NO_VIEWER', 'Page requests must come from a signed-in user.');
      return;
    }
    let allowed: boolean;
    try {
      accountRefFrom(invocation.accountId);
      allowed = await viewerAccess.canView(tenant, invocation.accountId, systemToken);
    } catch {
      allowed = false;
    }
    if (!allowed) {
      sendError(res, 403, 'FORBIDDEN', 'This user may not see clawgate in this workspace.');
      return;
    }
    uiPrincipals.set(req, { workspaceId: tenant.workspaceId, accountId: invocation.accountId, tenant });
    next();
  });

  // What the page is about, from the signed context of its token (never from the page's own claims):
  // the workspace as the API names it, the repository's full name and the PR id.
  router.get(`${FORGE_PATHS.ui}/context`, async (req: Request, res: Response) => {
    const { invocation, tenant, systemToken } = authOf(req);
    const extension = extensionSchema.safeParse(invocation.extension ?? {});
    const repositoryUuid = extension.success ? extension.data.repository?.uuid : undefined;
    const prId = extension.success ? extension.data.pullRequest?.id : undefined;
    let repo: string | null = null;
    if (repositoryUuid !== undefined) {
      try {
        repo = await repositoryFullName(tenant, systemToken, bracedUuid(repositoryUuid), `forge-ui:${randomUUID()}`);
      } catch (error) {
        logger.warn({ err: errorText(error) }, 'forge: the page repository could not be looked up');
      }
    }
    send(res, 200, {
      workspace: tenant.workspaceSlug ?? tenant.workspaceId,
      module: invocation.moduleKey,
      repo,
      pr: prId === undefined ? null : Number(prId),
    });
  });

  // Body-parser and unexpected errors on /forge answer JSON (Forge rejects a non-JSON error body), never a stack.
  router.use('/forge', (error: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    const { status, type } = (typeof error === 'object' && error !== null ? error : {}) as {
      status?: unknown;
      type?: unknown;
    };
    if (type === 'entity.too.large' || status === 413)
      return sendError(res, 413, 'PAYLOAD_TOO_LARGE', 'The request body is too large.');
    if (typeof status === 'number' && status >= 400 && status < 500)
      return sendError(res, 400, 'MALFORMED_BODY', 'The request body could not be read as JSON.');
    logger.error({ path: req.path, err: errorText(error) }, 'forge: request failed');
    sendError(res, 500, 'INTERNAL', 'Something went wrong.');
  });

  return router;
}
