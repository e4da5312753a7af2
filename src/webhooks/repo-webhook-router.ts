import express, { Router, type ErrorRequestHandler, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ApiError } from '../http/http-error';
import { sendApiError, toApiError } from '../http/error-handler';
import type { WebhookIntake } from '../pipeline/webhook-intake';
import type { Store, Tenant } from '../store';
import { DELIVERY_UUID, deliveryHeadersSchema } from '../pipeline/delivery-headers';
import { REPO_WEBHOOK_PATH, REPO_WEBHOOK_WORKSPACE_PATH } from './hook-subscription';
import { HUB_SIGNATURE_HEADER, isWellFormedHubSignature, verifyHubSignature } from './hub-signature';
import { normalizeWorkspaceUuid, repoWebhooksClientKey } from './repo-webhook-tenant';

/**
 * `POST /hooks/bitbucket/w/{workspace uuid}` (registrations from now on) and `POST /hooks/bitbucket`
 * (hooks registered before): deliveries of the repository webhooks clawgate created at registration.
 *
 * Per-workspace URL (fail closed, cheapest refusal first): the signature header must be well-formed
 * (401 before the body is read); the tenant `repo_webhooks:{uuid}` comes from the URL (unknown or
 * uninstalled: the same 401 as a wrong signature); the raw body is read with a limit and its
 * HMAC-SHA256 checked in constant time — before any byte of it is parsed; then the JSON must name the
 * same workspace as the URL (400), then steps 5 below.
 *
 * Legacy URL order (hooks registered before per-workspace URLs keep working until re-registered):
 * 1. `X-Hub-Signature` must be present and well-formed, else 401 before the body is read.
 * 2. The raw body is read with a limit (Bitbucket caps payloads at 256 KB) and kept as bytes.
 * 3. The tenant is found from the payload's `repository.workspace.uuid` (client key
 *    `repo_webhooks:{uuid}`): the URL carries no tenant id and nothing secret. An unknown or
 *    uninstalled workspace gets the same 401 as a wrong signature, so registrations cannot be probed.
 * 4. HMAC-SHA256 of the raw bytes with the tenant's webhook secret, compared in constant time; 401.
 * 5. Only then are the delivery headers and the event/payload shape checked (400), and the delivery
 *    handed to the intake (which dedupes on X-Request-UUID). 204; 503 when the intake fails, so
 *    Bitbucket retries (it retries only 5xx).
 * The signature covers the body only: X-Event-Key is checked against the payload's shape, and the
 * pipeline re-reads the PR from the API, so a replayed body can at most cause a re-evaluation.
 */

/** 256 KB plus a margin for encoding differences; larger bodies get 413. */
export const REPO_WEBHOOK_BODY_LIMIT_BYTES = 320 * 1024;

const uuidField = z.string().min(1).max(64);
const routingSchema = z.looseObject({
  repository: z.looseObject({
    full_name: z.string().min(3).max(201),
    workspace: z.looseObject({ uuid: uuidField }).optional(),
    owner: z.looseObject({ uuid: uuidField }).optional(),
  }),
});

/** The object each event family must carry (Bitbucket's event payloads page). */
function payloadMatchesEvent(eventKey: string, payload: Record<string, unknown>): boolean {
  const isObject = (value: unknown) => typeof value === 'object' && value !== null;
  if (eventKey.startsWith('pullrequest:')) return isObject(payload.pullrequest);
  if (eventKey === 'repo:push') return isObject(payload.push);
  if (eventKey.startsWith('repo:commit_status_')) return isObject(payload.commit_status);
  return true;
}

export interface RepoWebhookRouterOptions {
  readonly store: Pick<Store, 'tenants'>;
  readonly intake: WebhookIntake;
  readonly logger: Logger;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function unauthenticated(response: Response, message: string): ApiError {
  response.setHeader('WWW-Authenticate', 'HMAC realm="clawgate", header="X-Hub-Signature"');
  return new ApiError(401, 'INVALID_SIGNATURE', message);
}

function singleHeader(request: Request, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

export function createRepoWebhookRouter(options: RepoWebhookRouterOptions): Router {
  const logger = options.logger.child({ component: 'repo-webhook' });
  const router = Router();

  const requireSignatureHeader = (request: Request, response: Response, next: () => void) => {
    if (!isWellFormedHubSignature(singleHeader(request, HUB_SIGNATURE_HEADER))) {
      throw unauthenticated(response, 'X-Hub-Signature: sha256=<hex> is required');
    }
    next();
  };

  function rawBodyOf(request: Request): Buffer {
    const raw: unknown = request.body;
    if (raw === undefined) throw new ApiError(400, 'BODY_REQUIRED', 'a webhook delivery has a JSON body');
    if (!Buffer.isBuffer(raw))
      throw new Error('a body parser ran before the repository-webhook router; mount it before global body parsers');
    return raw;
  }

  function parseJson(raw: Buffer): unknown {
    try {
      return JSON.parse(decoder.decode(raw)) as unknown;
    } catch {
      throw new ApiError(400, 'INVALID_JSON', 'the body is not UTF-8 JSON');
    }
  }

  function workspaceOfPayload(payload: unknown): string {
    const routing = routingSchema.safeParse(payload);
    const workspaceUuid = routing.success
      ? normalizeWorkspaceUuid(routing.data.repository.workspace?.uuid ?? routing.data.repository.owner?.uuid ?? '')
      : null;
    if (!routing.success || workspaceUuid === null) {
      throw new ApiError(400, 'INVALID_WEBHOOK_PAYLOAD', 'the body names no repository with a workspace uuid', [
        { path: 'repository.workspace.uuid', message: 'required' },
      ]);
    }
    return workspaceUuid;
  }

  /** The tenant whose secret signed `raw`, or a 401 (unknown, uninstalled and wrongly signed look the same). */
  async function signedBy(
    request: Request,
    response: Response,
    raw: Buffer,
    workspaceUuid: string,
    log: Logger,
  ): Promise<Tenant> {
    const tenant: Tenant | null = await options.store.tenants.findByClientKey(repoWebhooksClientKey(workspaceUuid));
    const secret =
      tenant !== null && tenant.surface === 'repo_webhooks' && tenant.uninstalledAt === null
        ? tenant.sharedSecret
        : null;
    if (
      tenant === null ||
      secret === null ||
      !verifyHubSignature(raw, singleHeader(request, HUB_SIGNATURE_HEADER), secret.reveal())
    ) {
      log.warn({ workspace: workspaceUuid, registered: secret !== null }, 'repo webhook: signature rejected');
      throw unauthenticated(response, 'the signature does not verify');
    }
    return tenant;
  }

  function deliveryLogger(request: Request): Logger {
    const requestUuid = singleHeader(request, 'x-request-uuid');
    return logger.child({
      deliveryId: requestUuid !== undefined && DELIVERY_UUID.test(requestUuid) ? requestUuid : null,
    });
  }

  // inflate: false — a compressed body is refused (415) rather than verified after decoding.
  const rawBody = express.raw({ type: () => true, limit: REPO_WEBHOOK_BODY_LIMIT_BYTES, inflate: false });

  router.post(
    REPO_WEBHOOK_WORKSPACE_PATH,
    requireSignatureHeader,
    rawBody,
    async (request: Request, response: Response) => {
      const raw = rawBodyOf(request);
      const log = deliveryLogger(request);
      const fromUrl =
        typeof request.params.workspace === 'string' ? normalizeWorkspaceUuid(`{${request.params.workspace}}`) : null;
      if (fromUrl === null) throw unauthenticated(response, 'the signature does not verify');
      // The HMAC first: nothing of an unsigned body is parsed.
      const tenant = await signedBy(request, response, raw, fromUrl, log);
      const payload = parseJson(raw);
      if (workspaceOfPayload(payload) !== fromUrl)
        throw new ApiError(400, 'INVALID_WEBHOOK_PAYLOAD', 'the body names another workspace than the URL', [
          { path: 'repository.workspace.uuid', message: 'must be the workspace of the URL' },
        ]);
      await deliver(request, response, tenant, payload, log);
    },
  );

  router.post(REPO_WEBHOOK_PATH, requireSignatureHeader, rawBody, async (request: Request, response: Response) => {
    const raw = rawBodyOf(request);
    const log = deliveryLogger(request);
    const payload = parseJson(raw);
    const tenant = await signedBy(request, response, raw, workspaceOfPayload(payload), log);
    await deliver(request, response, tenant, payload, log);
  });

  async function deliver(
    request: Request,
    response: Response,
    tenant: Tenant,
    payload: unknown,
    log: Logger,
  ): Promise<void> {
    const headers = deliveryHeadersSchema.safeParse(request.headers);
    if (!headers.success) {
      throw new ApiError(
        400,
        'INVALID_WEBHOOK_HEADERS',
        'the webhook delivery headers are missing or invalid',
        headers.error.issues.map((issue) => ({ path: `headers.${issue.path.join('.')}`, message: issue.message })),
      );
    }
    const eventKey = headers.data['x-event-key'];
    const deliveryId = headers.data['x-request-uuid'];
    if (!payloadMatchesEvent(eventKey, payload as Record<string, unknown>)) {
      throw new ApiError(400, 'INVALID_WEBHOOK_PAYLOAD', `the body is not a ${eventKey} payload`);
    }
    try {
      const result = await options.intake.receive({
        surface: 'repo_webhooks',
        tenant,
        eventKey,
        deliveryId,
        attempt: Number(headers.data['x-attempt-number']),
        payload,
      });
      log.info(
        {
          eventKey,
          workspace: tenant.workspaceId,
          accepted: result.accepted,
          duplicate: result.duplicate,
          jobs: result.jobs,
        },
        'repo webhook received',
      );
    } catch (error) {
      log.error(
        { eventKey, err: error instanceof Error ? { name: error.name, message: error.message } : String(error) },
        'repo webhook: intake failed',
      );
      throw new ApiError(503, 'INTAKE_UNAVAILABLE', 'the webhook could not be queued; retry');
    }
    response.status(204).end();
  }

  const errors: ErrorRequestHandler = (error: unknown, _request, response, next) => {
    if (response.headersSent) {
      next(error);
      return;
    }
    const apiError = toApiError(error);
    if (apiError.status >= 500 && apiError.code !== 'INTAKE_UNAVAILABLE')
      logger.error({ err: error instanceof Error ? error.message : String(error) }, 'repo webhook failed');
    sendApiError(response, apiError);
  };
  router.use(errors);
  return router;
}
