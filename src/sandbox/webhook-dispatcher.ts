import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createQueryStringHash, encodeSymmetric, fromMethodAndUrl } from 'atlassian-jwt';
import { formatHttpDate } from './bitbucket-time';

/**
 * Delivers webhooks like Bitbucket (its webhook headers and delivery rules: 10 s timeout, retries on 5xx):
 * - headers X-Event-Key, X-Request-UUID (one per delivery, kept across retries), X-Hook-UUID,
 *   X-Attempt-Number (1..3), X-Event-Time, X-B3-*, User-Agent: Bitbucket-Webhooks/2.0;
 * - Connect deliveries: body `{event, data}` with `Authorization: JWT` (iss = aud = clientKey,
 *   qsh over `POST&<path relative to the app baseUrl>&`, exp = iat + 3600);
 * - repository hooks: bare payload, `X-Hub-Signature: sha256=<hex HMAC of the raw body>` when the
 *   hook has a secret;
 * - 10 s timeout; only 5xx is retried, immediately, up to 2 more attempts; network errors and
 *   timeouts are logged and not retried (whether Bitbucket retries them is UNCONFIRMED; its docs name only 5xx);
 * - payloads over 256 KB are not sent (Bitbucket may silently drop them), logged as skipped.
 * Deliveries run one at a time in the order events happened, so tests see a stable order.
 */

export const MAX_PAYLOAD_BYTES = 256 * 1024;

export interface DeliveryAttempt {
  attempt: number;
  /** HTTP status, or null on a network error or timeout. */
  status: number | null;
  error?: string;
  at: number;
  durationMs: number;
}

export interface DeliveryRecord {
  requestUuid: string;
  kind: 'connect' | 'repository';
  event: string;
  url: string;
  hookUuid: string;
  /** The Connect installation's clientKey, for Connect deliveries. */
  clientKey?: string;
  repository: string;
  /** The exact bytes sent. */
  body: string;
  /** Headers of the first attempt (Authorization included: it is the app's own token). */
  headers: Record<string, string>;
  attempts: DeliveryAttempt[];
  outcome: 'pending' | 'delivered' | 'failed' | 'skipped';
  /** Last HTTP status, or null. */
  finalStatus: number | null;
}

export interface ConnectTarget {
  kind: 'connect';
  url: string;
  appBaseUrl: string;
  hookUuid: string;
  clientKey: string;
  sharedSecret: string;
}

export interface RepositoryHookTarget {
  kind: 'repository';
  url: string;
  hookUuid: string;
  secret: string | null;
}

export type DeliveryTarget = ConnectTarget | RepositoryHookTarget;

export interface DispatcherOptions {
  now: () => number;
  timeoutMs: number;
  maxAttempts: number;
}

export function connectJwtForDelivery(
  target: { url: string; appBaseUrl: string; clientKey: string; sharedSecret: string },
  nowMs: number,
): string {
  const iat = Math.floor(nowMs / 1000);
  const qsh = createQueryStringHash(fromMethodAndUrl('POST', target.url), false, target.appBaseUrl);
  return encodeSymmetric(
    { iss: target.clientKey, iat, qsh, aud: target.clientKey, exp: iat + 3600 },
    target.sharedSecret,
  );
}

export class WebhookDispatcher {
  readonly log: DeliveryRecord[] = [];
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;

  private losses: { event: string | RegExp | undefined; remaining: number; lost: number }[] = [];

  constructor(private readonly options: DispatcherOptions) {}

  /** Loses the next `count` deliveries of `event` (all events when absent); `cancel` stops losing. */
  lose(spec: { event?: string | RegExp; count?: number }): { lost(): number; cancel(): void } {
    const loss = { event: spec.event, remaining: spec.count ?? Number.POSITIVE_INFINITY, lost: 0 };
    this.losses.push(loss);
    return {
      lost: () => loss.lost,
      cancel: () => {
        this.losses = this.losses.filter((l) => l !== loss);
      },
    };
  }

  /** Queues one delivery of `payload` for `event` to `target`; returns its log record at once. */
  enqueue(target: DeliveryTarget, event: string, repository: string, payload: unknown): DeliveryRecord {
    const body = JSON.stringify(target.kind === 'connect' ? { event, data: payload } : payload);
    const now = this.options.now();
    const trace = randomBytes(8).toString('hex');
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'User-Agent': 'Bitbucket-Webhooks/2.0',
      'X-Event-Key': event,
      'X-Event-Time': formatHttpDate(now),
      'X-Hook-UUID': target.hookUuid,
      'X-Request-UUID': randomUUID(),
      'X-B3-Traceid': trace,
      'X-B3-Spanid': trace,
      'X-B3-Sampled': '1',
    };
    if (target.kind === 'connect') {
      headers.Authorization = `JWT ${connectJwtForDelivery(target, now)}`;
    } else if (target.secret !== null) {
      headers['X-Hub-Signature'] = `sha256=${createHmac('sha256', target.secret).update(body).digest('hex')}`;
    }
    const record: DeliveryRecord = {
      requestUuid: headers['X-Request-UUID'] ?? '',
      kind: target.kind,
      event,
      url: target.url,
      hookUuid: target.hookUuid,
      repository,
      body,
      headers,
      attempts: [],
      outcome: 'pending',
      finalStatus: null,
    };
    if (target.kind === 'connect') record.clientKey = target.clientKey;
    this.log.push(record);
    if (Buffer.byteLength(body) > MAX_PAYLOAD_BYTES) {
      record.outcome = 'skipped';
      return record;
    }
    const loss = this.losses.find(
      (l) =>
        l.remaining > 0 &&
        (l.event === undefined || (typeof l.event === 'string' ? l.event === event : l.event.test(event))),
    );
    if (loss) {
      // A lost webhook (fault injection): never sent, as Bitbucket sometimes does.
      loss.remaining -= 1;
      loss.lost += 1;
      record.outcome = 'skipped';
      return record;
    }
    this.pending++;
    this.chain = this.chain
      .then(() => this.deliver(record))
      .catch(() => {
        record.outcome = 'failed';
      })
      .finally(() => {
        this.pending--;
      });
    return record;
  }

  private async deliver(record: DeliveryRecord): Promise<void> {
    for (let attempt = 1; attempt <= this.options.maxAttempts; attempt++) {
      const started = this.options.now();
      const headers = { ...record.headers, 'X-Attempt-Number': String(attempt) };
      try {
        const res = await fetch(record.url, {
          method: 'POST',
          headers,
          body: record.body,
          redirect: 'manual',
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
        await res.arrayBuffer().catch(() => undefined);
        record.attempts.push({ attempt, status: res.status, at: started, durationMs: this.options.now() - started });
        record.finalStatus = res.status;
        if (res.status >= 200 && res.status < 300) {
          record.outcome = 'delivered';
          return;
        }
        if (res.status < 500) break;
      } catch (err) {
        const name = err instanceof Error ? err.name : 'Error';
        record.attempts.push({
          attempt,
          status: null,
          error: name === 'TimeoutError' ? 'TIMEOUT' : 'NETWORK ERROR',
          at: started,
          durationMs: this.options.now() - started,
        });
        record.finalStatus = null;
        break;
      }
    }
    record.outcome = 'failed';
  }

  /** Resolves when every queued delivery (including ones queued meanwhile) has finished. */
  async waitForIdle(): Promise<void> {
    while (this.pending > 0) {
      await this.chain;
    }
  }
}
