import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { alertingConfig } from '../../config/app-config';
import { ApiError, validationFailed } from '../../http/http-error';
import { access, ACCESS, principalOf } from '../../http/authenticate';
import { jsonBody, jsonBodyOf } from '../../http/json-body';
import { zodIssuesToFields } from '../../http/zod-fields';
import { alertUrlRefusal, raiseAlert } from '../../pipeline/alert-webhook';
import type { ApiContext } from '../api-context';

/**
 * The workspace's outgoing alert webhook and what the settings page's banner lists (issue 9):
 * - `GET /alert-webhook` → `{ url, created_at, updated_at }` (`url: null` when none); never the secret;
 * - `PUT /alert-webhook` `{ url }` → sets the URL (checked: https, allowed host, no private address);
 *   a new webhook answers its signing secret once (`secret`), a changed URL keeps the secret;
 * - `POST /alert-webhook/rotate-secret` → `{ secret }` (once; the old one stops working at once);
 * - `DELETE /alert-webhook` → 204; pending alerts are then not sent (`no_webhook`);
 * - `POST /alert-webhook/test` → 202 `{ alert_id }`: queues a `test` alert;
 * - `GET /alerts?days=7` → incidents and alerts of the last days, newest first (≤ 50 each).
 * Every change is audited (`alert_webhook.*`; the secret never is).
 */

const BANNER_LIMIT = 50;
const putBodySchema = z.strictObject({ url: z.string().min(1).max(2048) });
const daysSchema = z.coerce.number().int().min(1).max(90).default(7);

export function alertRoutes(context: ApiContext): Router {
  const router = Router({ mergeParams: true });
  const alerting = alertingConfig(context.config);

  router.get('/alert-webhook', access(ACCESS.readSettings), async (request: Request, response: Response) => {
    const { workspaceId } = principalOf(request);
    const webhook = await context.store.alerts.getWebhook(workspaceId);
    response.json(
      webhook === null
        ? { url: null }
        : {
            url: webhook.url,
            created_at: webhook.createdAt.toISOString(),
            updated_at: webhook.updatedAt.toISOString(),
          },
    );
  });

  router.put(
    '/alert-webhook',
    access(ACCESS.administer),
    ...jsonBody({ limit: 16 * 1024, required: true }),
    async (request: Request, response: Response) => {
      const principal = principalOf(request);
      const parsed = putBodySchema.safeParse(jsonBodyOf(request)?.value);
      if (!parsed.success)
        throw validationFailed(zodIssuesToFields(parsed.error.issues), 'the alert webhook is invalid');
      const refusal = alertUrlRefusal(parsed.data.url, alerting);
      if (refusal !== undefined)
        throw validationFailed([{ path: 'url', message: refusal }], 'clawgate may not send alerts to this URL');
      const before = await context.store.alerts.getWebhook(principal.workspaceId);
      const { created, secret } = await context.store.alerts.setWebhook(principal.workspaceId, parsed.data.url);
      await context.store.audit.append(principal.workspaceId, {
        actor: principal.actor,
        kind: 'alert_webhook.set',
        subject: 'alert-webhook',
        before: before === null ? null : { url: before.url },
        after: { url: parsed.data.url, secret_created: created },
      });
      response
        .status(created ? 201 : 200)
        .json({ url: parsed.data.url, ...(secret !== null ? { secret: secret.reveal() } : {}) });
    },
  );

  router.post(
    '/alert-webhook/rotate-secret',
    access(ACCESS.administer),
    async (request: Request, response: Response) => {
      const principal = principalOf(request);
      const secret = await context.store.alerts.rotateSecret(principal.workspaceId);
      if (secret === null) throw new ApiError(404, 'NOT_FOUND', 'no alert webhook is set');
      await context.store.audit.append(principal.workspaceId, {
        actor: principal.actor,
        kind: 'alert_webhook.secret_rotated',
        subject: 'alert-webhook',
        after: { rotated: true },
      });
      response.json({ secret: secret.reveal() });
    },
  );

  router.delete('/alert-webhook', access(ACCESS.administer), async (request: Request, response: Response) => {
    const principal = principalOf(request);
    const before = await context.store.alerts.getWebhook(principal.workspaceId);
    if (!(await context.store.alerts.deleteWebhook(principal.workspaceId)))
      throw new ApiError(404, 'NOT_FOUND', 'no alert webhook is set');
    await context.store.audit.append(principal.workspaceId, {
      actor: principal.actor,
      kind: 'alert_webhook.deleted',
      subject: 'alert-webhook',
      before: before === null ? null : { url: before.url },
    });
    response.status(204).end();
  });

  router.post('/alert-webhook/test', access(ACCESS.administer), async (request: Request, response: Response) => {
    const principal = principalOf(request);
    if ((await context.store.alerts.getWebhook(principal.workspaceId)) === null)
      throw new ApiError(404, 'NOT_FOUND', 'no alert webhook is set');
    const alertId = await raiseAlert(context.store, principal.workspaceId, {
      kind: 'test',
      subject: 'test alert',
      data: { requested_by: principal.actor },
    });
    await context.store.audit.append(principal.workspaceId, {
      actor: principal.actor,
      kind: 'alert_webhook.test',
      subject: 'alert-webhook',
      after: { alert_id: alertId },
    });
    response.status(202).json({ alert_id: alertId });
  });

  router.get('/alerts', access(ACCESS.readSettings), async (request: Request, response: Response) => {
    const { workspaceId } = principalOf(request);
    const days = daysSchema.safeParse(request.query.days);
    if (!days.success) throw validationFailed([{ path: 'days', message: 'days must be 1–90' }], 'invalid query');
    const since = new Date(context.now().getTime() - days.data * 24 * 60 * 60_000);
    const [incidents, alerts] = await Promise.all([
      context.store.incidents.listSince(workspaceId, since, BANNER_LIMIT),
      context.store.alerts.listSince(workspaceId, since, BANNER_LIMIT),
    ]);
    response.json({
      since: since.toISOString(),
      incidents: incidents.map((i) => ({
        incident_id: i.incidentId,
        action: i.action,
        repo: i.repoFullName,
        branch: i.branch,
        commit: i.commit,
        pr_id: i.prId,
        status_state: i.statusState,
        created_at: i.createdAt.toISOString(),
      })),
      alerts: alerts.map((a) => ({
        alert_id: a.alertId,
        kind: a.kind,
        subject: a.subject,
        state: a.state,
        attempts: a.attempts,
        last_error: a.lastError,
        created_at: a.createdAt.toISOString(),
      })),
    });
  });

  return router;
}
