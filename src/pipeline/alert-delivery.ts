import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Logger } from 'pino';
import { alertingConfig, type AppConfig } from '../config/app-config';
import type { Alert, Store } from '../store';
import {
  addressRefusal,
  alertSignature,
  alertUrlRefusal,
  ALERT_ID_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
} from './alert-webhook';

/**
 * Sends pending alerts (store.alerts) to each workspace's alert webhook, off the pipeline: a timer
 * (and a wake-up when an alert is raised) picks due alerts, claims each (replicas never send the same
 * attempt twice), POSTs the signed JSON and records the outcome: 2xx delivered; anything else (a
 * refusal, a timeout, a 5xx, an address that resolves to a private network) is retried with
 * exponential backoff until `maxAttempts`, then failed. Rows are the queue, so a restart loses nothing.
 *
 * node:https rather than fetch: the address check runs in the connection's own DNS lookup, so a host
 * that resolves to a private address (DNS rebinding included) is refused at connect time, which
 * fetch offers no hook for.
 */

const REQUEST_TIMEOUT_MS = 10_000;
const MAX_RETRY_DELAY_MS = 60 * 60_000;
const CLAIM_MS = 2 * REQUEST_TIMEOUT_MS;
const BATCH = 20;

export interface AlertDeliveryDeps {
  store: Store;
  config: AppConfig;
  logger: Logger;
  /** Clock (tests). */
  now?: () => number;
}

export interface AlertDeliverer {
  /** Sends what is due now; resolves when this pass is done. */
  runOnce(): Promise<{ sent: number; failed: number }>;
  /** Asks for a pass soon (after an alert was raised); never blocks the caller. */
  wake(): void;
  stop(): Promise<void>;
}

/** The JSON a receiver gets. */
export function alertEnvelope(alert: Alert): Record<string, unknown> {
  return {
    id: alert.alertId,
    type: alert.kind,
    workspace_uuid: alert.workspaceId,
    created_at: alert.createdAt.toISOString(),
    subject: alert.subject,
    data: alert.body,
  };
}

function checkedLookup(deps: AlertDeliveryDeps): LookupFunction {
  const alerting = alertingConfig(deps.config);
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const refused = addresses.map((a) => addressRefusal(a.address, alerting)).find((r) => r !== undefined);
      if (refused !== undefined || addresses.length === 0)
        return callback(
          Object.assign(new Error(`alert webhook refused: ${refused ?? 'no address'}`), { code: 'EALERTADDRESS' }),
          '',
          0,
        );
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0] as LookupAddress;
      callback(null, first.address, first.family);
    });
  };
}

/** One POST; resolves with the status code, rejects on a network error or timeout. The answer is read and discarded (bounded). */
function post(url: URL, headers: Record<string, string>, body: string, lookup: LookupFunction): Promise<number> {
  return new Promise((resolve, reject) => {
    const transport = url.protocol === 'https:' ? https : http;
    const request = transport.request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup,
        timeout: REQUEST_TIMEOUT_MS,
      },
      (response) => {
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > 64 * 1024) response.destroy();
        });
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('close', () => resolve(response.statusCode ?? 0));
        response.on('error', () => resolve(response.statusCode ?? 0));
      },
    );
    request.on('timeout', () => request.destroy(new Error('alert webhook timed out')));
    request.on('error', reject);
    request.end(body);
  });
}

export function retryDelayMs(attempts: number, baseMs: number): number {
  return Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.max(0, attempts - 1));
}

export function createAlertDeliverer(deps: AlertDeliveryDeps, options: { intervalMs?: number } = {}): AlertDeliverer {
  const now = deps.now ?? Date.now;
  const alerting = alertingConfig(deps.config);
  const lookup = checkedLookup(deps);
  let running: Promise<{ sent: number; failed: number }> | null = null;
  let again = false;
  let stopped = false;

  async function deliver(alert: Alert): Promise<boolean> {
    const { store } = deps;
    const webhook = await store.alerts.getWebhook(alert.workspaceId);
    if (webhook === null) {
      await store.alerts.markAttempt(alert.workspaceId, alert.id, { state: 'no_webhook', attempts: alert.attempts });
      return false;
    }
    if (!(await store.alerts.claim(alert.workspaceId, alert, new Date(now() + CLAIM_MS)))) return false;
    const attempts = alert.attempts + 1;
    let error: string;
    const refusal = alertUrlRefusal(webhook.url, alerting);
    if (refusal !== undefined) {
      error = `refused: ${refusal}`;
    } else {
      const body = JSON.stringify(alertEnvelope(alert));
      const timestamp = Math.floor(now() / 1000);
      try {
        const status = await post(
          new URL(webhook.url),
          {
            'content-type': 'application/json',
            'user-agent': 'clawgate-alerts/1',
            [ALERT_ID_HEADER]: alert.alertId,
            [TIMESTAMP_HEADER]: String(timestamp),
            [SIGNATURE_HEADER]: `sha256=${alertSignature(webhook.secret.reveal(), timestamp, body)}`,
            'x-clawgate-attempt': String(attempts),
          },
          body,
          lookup,
        );
        if (status >= 200 && status < 300) {
          await store.alerts.markAttempt(alert.workspaceId, alert.id, { state: 'delivered', attempts });
          return true;
        }
        error = `HTTP ${status}`;
      } catch (caught) {
        error = caught instanceof Error ? caught.message : String(caught);
      }
    }
    const final = attempts >= alerting.maxAttempts;
    await store.alerts.markAttempt(
      alert.workspaceId,
      alert.id,
      final
        ? { state: 'failed', attempts, error }
        : {
            state: 'pending',
            attempts,
            nextAttemptAt: new Date(now() + retryDelayMs(attempts, alerting.retryBaseMs)),
            error,
          },
    );
    deps.logger.warn(
      { workspace: alert.workspaceId, alertId: alert.alertId, attempts, final, err: error },
      'alert webhook delivery failed',
    );
    return false;
  }

  async function pass(): Promise<{ sent: number; failed: number }> {
    const result = { sent: 0, failed: 0 };
    const workspaces = new Set((await deps.store.tenants.listAll()).map((t) => t.workspaceId));
    for (const workspaceId of workspaces) {
      if (stopped) break;
      for (const alert of await deps.store.alerts.due(workspaceId, new Date(now()), BATCH)) {
        if (await deliver(alert)) result.sent += 1;
        else result.failed += 1;
      }
    }
    return result;
  }

  function runOnce(): Promise<{ sent: number; failed: number }> {
    if (running !== null) {
      again = true;
      return running;
    }
    running = pass()
      .catch((error: unknown) => {
        deps.logger.error(
          { err: error instanceof Error ? error.message : String(error) },
          'alert delivery pass failed',
        );
        return { sent: 0, failed: 0 };
      })
      .finally(() => {
        running = null;
        if (again && !stopped) {
          again = false;
          void runOnce();
        }
      });
    return running;
  }

  const timer = options.intervalMs === undefined ? null : setInterval(() => void runOnce(), options.intervalMs);
  timer?.unref();
  return {
    runOnce,
    wake() {
      if (!stopped) setImmediate(() => void runOnce());
    },
    async stop() {
      stopped = true;
      if (timer !== null) clearInterval(timer);
      await running;
    },
  };
}
