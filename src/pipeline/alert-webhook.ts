import { createHmac, timingSafeEqual } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import type { AlertingConfig } from '../config/app-config';
import type { Store } from '../store';

/**
 * The per-workspace outgoing alert webhook (issue 9): which URLs it may name, how a body is signed,
 * and how an alert is raised (a row in the store: the deliverer, alert-delivery.ts, sends it later,
 * so raising never blocks or fails the pipeline on the receiver's account).
 *
 * Where alerts may go: https only, no credentials in the URL, a host the deployment allows
 * (CLAWGATE_ALERT_ALLOWED_HOSTS: `host[:port]` or `*.domain`; none by default, so the feature is off
 * until the operator names hosts), and — checked again on every connection, after DNS — never a
 * private, loopback, link-local or otherwise non-public address. Tests may allow plain http to
 * loopback (CLAWGATE_ALERT_ALLOW_LOOPBACK=1, refused in production).
 *
 * Signature: `X-Clawgate-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>` with
 * `X-Clawgate-Timestamp` (Unix seconds) and `X-Clawgate-Alert-Id` (the same on every retry, for
 * dedupe). docs/policy.md "Alerts" tells receivers how to verify it.
 */

export const SIGNATURE_HEADER = 'x-clawgate-signature';
export const TIMESTAMP_HEADER = 'x-clawgate-timestamp';
export const ALERT_ID_HEADER = 'x-clawgate-alert-id';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

function hostAllowed(host: string, hostname: string, allowed: readonly string[]): boolean {
  return allowed.some((entry) => {
    if (!entry.startsWith('*.'))
      return entry === host || (!entry.includes(':') && entry === hostname && host === hostname);
    const suffix = entry.slice(1);
    return hostname.endsWith(suffix) && hostname.length > suffix.length && host === hostname;
  });
}

/** Why clawgate may not send alerts to `raw`, or undefined when it may (before DNS; see `addressRefusal`). */
export function alertUrlRefusal(raw: string, alerting: AlertingConfig): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not a URL';
  }
  if (raw.length > 2048) return 'longer than 2048 characters';
  if (url.username !== '' || url.password !== '') return 'URLs with credentials are not allowed';
  if (url.hash !== '') return 'a fragment is not allowed';
  const hostname = url.hostname.toLowerCase();
  const host = url.host.toLowerCase();
  const loopback = LOOPBACK_HOSTS.has(hostname);
  if (loopback) return alerting.allowLoopback ? undefined : 'loopback addresses are not allowed';
  if (url.protocol !== 'https:') return 'only https is allowed';
  if (ipaddr.isValid(hostname.replace(/^\[|\]$/g, ''))) {
    const refusal = addressRefusal(hostname.replace(/^\[|\]$/g, ''), alerting);
    if (refusal !== undefined) return refusal;
  }
  if (!hostAllowed(host, hostname, alerting.allowedHosts)) {
    return alerting.allowedHosts.length === 0
      ? 'this deployment allows no alert hosts (CLAWGATE_ALERT_ALLOWED_HOSTS)'
      : `host ${host} is not in CLAWGATE_ALERT_ALLOWED_HOSTS`;
  }
  return undefined;
}

/** Why a resolved address may not be connected to, or undefined (public unicast). */
export function addressRefusal(address: string, alerting: AlertingConfig): string | undefined {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress())
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  const range = parsed.range();
  if (range === 'loopback' && alerting.allowLoopback) return undefined;
  return range === 'unicast' ? undefined : `address ${address} is ${range}, not public`;
}

/** Hex HMAC-SHA256 of `<timestamp>.<body>` under the webhook's secret. */
export function alertSignature(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
}

/**
 * What a receiver does (and what the tests do): recompute, compare in constant time, and refuse a
 * timestamp further than `toleranceSeconds` from now (a replayed old delivery).
 */
export function verifyAlertSignature(
  secret: string,
  headers: { signature: string | undefined; timestamp: string | undefined },
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const match = /^sha256=([0-9a-f]{64})$/.exec(headers.signature ?? '');
  const timestamp = Number(headers.timestamp);
  if (!match || !Number.isSafeInteger(timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(alertSignature(secret, timestamp, body), 'hex');
  return timingSafeEqual(expected, Buffer.from(match[1] as string, 'hex'));
}

/** Alert kinds clawgate sends. */
export type AlertKind = 'incident' | 'restore_failing' | 'test';

export interface RaisedAlert {
  kind: AlertKind;
  subject: string;
  data: Record<string, unknown>;
}

export type AlertWaker = () => void;

/**
 * Queues an alert for the workspace (always recorded: the settings page's banner lists it even when
 * no webhook is set) and wakes the deliverer. Throws only what the store throws: callers log it and
 * go on (the incident itself is already recorded; an alert never decides a verdict).
 */
export async function raiseAlert(
  store: Store,
  workspaceId: string,
  alert: RaisedAlert,
  wake?: AlertWaker,
): Promise<string | null> {
  const recorded = await store.alerts.record(workspaceId, {
    kind: alert.kind,
    subject: alert.subject,
    body: alert.data,
  });
  wake?.();
  return recorded.alertId;
}
