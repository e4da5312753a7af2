import express, { Router, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AppConfig } from '../config/app-config';
import type { WebhookIntake } from '../pipeline/webhook-intake';
import type { Store } from '../store';
import { connectAuthOf, connectJwtMiddleware } from '../http/connect-jwt';
import { DELIVERY_UUID, deliveryHeadersSchema } from '../pipeline/delivery-headers';
import { SUBSCRIBED_WEBHOOK_EVENTS } from '../pipeline/subscribed-events';
import { CONNECT_PATHS } from './descriptor';
import { issueFields, sendError } from '../http/error-response';

/**
 * `POST /connect/webhook`: Connect descriptor webhooks (JWT-signed, body `{event, data}`). Authenticated first (JWT,
 * qsh over `POST&/connect/webhook&`) so an unauthenticated body is never parsed; then the body limit,
 * the delivery headers and the `{event, data}` envelope are checked, and the delivery goes to the
 * intake, which dedupes and enqueues. 204 on success (duplicates included); 5xx only when the intake
 * fails, so Bitbucket retries (it retries only 5xx).
 *
 * The JWT does not cover the body (qsh hashes method, path and query only), so the body is bounded
 * to the tenant's own workspace: a payload naming another workspace's repository is refused.
 */

/** Bitbucket caps payloads at 256 KB (Atlassian's webhook troubleshooting page); the margin covers JSON re-encoding differences. */
export const WEBHOOK_BODY_LIMIT_BYTES = 320 * 1024;

const headersSchema = deliveryHeadersSchema.extend({
  'x-hook-uuid': z.string().regex(DELIVERY_UUID, 'must be a UUID'),
});

const uuidField = z.string().min(1).max(64);
const envelopeSchema = z.object({
  event: z.string().min(1).max(64),
  data: z.looseObject({
    repository: z.looseObject({
      uuid: uuidField,
      workspace: z.looseObject({ uuid: uuidField }).optional(),
      owner: z.looseObject({ uuid: uuidField }).optional(),
    }),
  }),
});

const SUBSCRIBED = new Set<string>(SUBSCRIBED_WEBHOOK_EVENTS);

export interface WebhookRouterOptions {
  readonly config: AppConfig;
  readonly store: Pick<Store, 'tenants'>;
  readonly intake: WebhookIntake;
  readonly logger: Logger;
  readonly clock?: () => Date;
}

export function createWebhookRouter(options: WebhookRouterOptions): Router {
  const logger = options.logger.child({ component: 'connect-webhook' });
  const router = Router();
  router.post(
    CONNECT_PATHS.webhook,
    connectJwtMiddleware({
      tenants: options.store.tenants,
      appBaseUrl: options.config.baseUrl,
      qsh: 'required',
      logger,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    }),
    express.json({ limit: WEBHOOK_BODY_LIMIT_BYTES, type: 'application/json', strict: true }),
    async (req: Request, res: Response) => {
      const { tenant } = connectAuthOf(res);
      const headers = headersSchema.safeParse(req.headers);
      if (!headers.success) {
        sendError(
          res,
          400,
          'INVALID_WEBHOOK_HEADERS',
          'The webhook delivery headers are missing or invalid.',
          issueFields(headers.error, 'headers.'),
        );
        return;
      }
      const envelope = envelopeSchema.safeParse(req.body);
      if (!envelope.success) {
        sendError(
          res,
          400,
          'INVALID_WEBHOOK_PAYLOAD',
          'The webhook body is not a Connect {event, data} envelope.',
          issueFields(envelope.error),
        );
        return;
      }
      const eventKey = headers.data['x-event-key'];
      const deliveryId = headers.data['x-request-uuid'];
      const log = logger.child({ deliveryId, eventKey, clientKey: tenant.clientKey });
      if (envelope.data.event !== eventKey) {
        sendError(res, 400, 'INVALID_WEBHOOK_PAYLOAD', 'The body event does not match X-Event-Key.');
        return;
      }
      const repository = envelope.data.data.repository;
      const workspaceUuid = repository.workspace?.uuid ?? repository.owner?.uuid;
      if (workspaceUuid === undefined) {
        sendError(res, 400, 'INVALID_WEBHOOK_PAYLOAD', 'The repository names no workspace.', {
          'data.repository.workspace.uuid': 'required',
        });
        return;
      }
      if (workspaceUuid.toLowerCase() !== tenant.workspaceId.toLowerCase()) {
        log.warn({ payloadWorkspace: workspaceUuid }, 'connect: webhook names another workspace than its installation');
        sendError(
          res,
          403,
          'WRONG_WORKSPACE',
          'The payload names a repository outside this installation\u2019s workspace.',
        );
        return;
      }
      if (!SUBSCRIBED.has(eventKey)) {
        // Not an event the descriptor subscribes to: acknowledged (no retry), not processed.
        log.info('connect: ignoring an event the descriptor does not subscribe to');
        res.status(204).end();
        return;
      }
      try {
        const result = await options.intake.receive({
          surface: 'connect',
          tenant,
          eventKey,
          deliveryId,
          attempt: Number(headers.data['x-attempt-number']),
          payload: envelope.data.data,
        });
        log.info(
          { accepted: result.accepted, duplicate: result.duplicate, jobs: result.jobs },
          'connect: webhook received',
        );
        res.status(204).end();
      } catch (error) {
        log.error(
          { err: error instanceof Error ? { name: error.name, message: error.message } : String(error) },
          'connect: webhook intake failed',
        );
        sendError(res, 503, 'INTAKE_UNAVAILABLE', 'The webhook could not be queued; retry.');
      }
    },
  );
  return router;
}
