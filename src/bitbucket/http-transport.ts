import type { Logger } from 'pino';
import type { BitbucketAuth } from './auth';
import type { ApiCallMeter } from './call-meter';
import { discardBody, readBoundedBody } from './bounded-body';
import { assertEgressAllowed } from './egress-allowlist';
import {
  BitbucketNetworkError,
  BitbucketRedirectError,
  errorForStatus,
  ResponseTooLargeError,
  type RequestContext,
} from './errors';
import { apiRelativePath, isUnderApiBase, loggablePath, type ApiBase } from './request-target';
import { parseRetryAfter, runWithRetry, type RetryEnvironment, type RetryOptions, type RetryVerdict } from './retry';
import { z } from 'zod';

/**
 * One HTTP exchange with Bitbucket, end to end: egress check, per-hop signing, manual redirects,
 * bounded bodies, retries, one log line per hop, and the status → error mapping (errors.ts).
 */

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

export interface TransportConfig {
  apiBase: ApiBase;
  auth: BitbucketAuth;
  allowedHosts: readonly string[];
  logger: Logger;
  fetch: typeof globalThis.fetch;
  retry: RetryOptions;
  retryEnvironment: RetryEnvironment;
  requestTimeoutMs: number;
  /** Counts (and may refuse) every exchange with the API origin (call-meter.ts). */
  meter?: ApiCallMeter;
}

export interface HttpRequest {
  method: HttpMethod;
  url: URL;
  /** Serialised as JSON with `Content-Type: application/json`. */
  json?: unknown;
  accept: string;
  maxBodyBytes: number;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  body: Uint8Array;
  /** Final URL after redirects. */
  url: URL;
  context: RequestContext;
}

export const MAX_REDIRECTS = 3;
/** Error bodies are read only to extract Bitbucket's message; no reason to buffer more. */
const ERROR_BODY_LIMIT_BYTES = 64 * 1024;
const IDEMPOTENT_METHODS: ReadonlySet<HttpMethod> = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

const bitbucketErrorBody = z.object({ error: z.object({ message: z.string() }) });

type AttemptResult =
  | {
      kind: 'response';
      status: number;
      headers: Headers;
      url: URL;
      body: Uint8Array | undefined;
      tooLargeLimit?: number;
    }
  | { kind: 'network'; error: unknown };

function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

export class HttpTransport {
  constructor(private readonly config: TransportConfig) {}

  /** Sends `request`; resolves with a 2xx response or rejects with a named BitbucketError. */
  async send(request: HttpRequest): Promise<HttpResponse> {
    const context: RequestContext = { method: request.method, path: loggablePath(request.url) };
    // Refuse before anything else so a disallowed host never sees even a first attempt.
    assertEgressAllowed(request.url, this.config.allowedHosts, context);
    const { logger, retry, retryEnvironment } = this.config;

    const result = await runWithRetry(
      (attempt) => this.attempt(request, attempt),
      (outcome) => this.verdictOf(request.method, outcome),
      retry,
      retryEnvironment,
      (notice) =>
        logger.warn(
          {
            method: request.method,
            path: context.path,
            attempt: notice.attempt,
            delayMs: notice.delayMs,
            reason: notice.reason,
          },
          'bitbucket request will be retried',
        ),
    );

    if (result.kind === 'network') {
      throw new BitbucketNetworkError(
        `${context.method} ${context.path} failed: ${describeNetworkError(result.error)}`,
        context,
        undefined,
        { cause: result.error },
      );
    }
    if (result.status < 200 || result.status > 299) {
      const retryAfterMs = parseRetryAfter(result.headers.get('retry-after'), retryEnvironment.now());
      throw errorForStatus(result.status, context, errorDetail(result.body), retryAfterMs);
    }
    if (result.body === undefined)
      throw new ResponseTooLargeError(context, result.tooLargeLimit ?? request.maxBodyBytes, result.status);
    return { status: result.status, headers: result.headers, body: result.body, url: result.url, context };
  }

  private verdictOf(method: HttpMethod, outcome: AttemptResult): RetryVerdict {
    if (outcome.kind === 'network') {
      return IDEMPOTENT_METHODS.has(method)
        ? { retry: true, reason: `network error: ${describeNetworkError(outcome.error)}` }
        : { retry: false };
    }
    if (!isRetryableStatus(outcome.status)) return { retry: false };
    const retryAfterMs = parseRetryAfter(outcome.headers.get('retry-after'), this.config.retryEnvironment.now());
    return retryAfterMs === undefined
      ? { retry: true, reason: `status ${outcome.status}` }
      : { retry: true, reason: `status ${outcome.status}`, retryAfterMs };
  }

  /** One attempt: the original URL and up to MAX_REDIRECTS hops, each checked and signed afresh. */
  private async attempt(request: HttpRequest, attempt: number): Promise<AttemptResult> {
    const { apiBase, auth, allowedHosts, logger } = this.config;
    let url = request.url;
    let method = request.method;
    let json = request.json;

    for (let hop = 0; ; hop += 1) {
      const context: RequestContext = { method, path: loggablePath(url) };
      assertEgressAllowed(url, allowedHosts, context);
      const headers: Record<string, string> = { Accept: request.accept, 'User-Agent': 'clawgate' };
      // Credentials go only to the API origin; a redirect elsewhere (even to an allowed host) is
      // followed anonymously, as fetch itself would do across origins.
      if (isUnderApiBase(url, apiBase)) {
        headers.Authorization = await auth.authorizationFor({ method, url, apiPath: apiRelativePath(url, apiBase) });
      }
      if (json !== undefined) headers['Content-Type'] = 'application/json';

      const metered =
        this.config.meter !== undefined && isUnderApiBase(url, apiBase)
          ? { method, path: apiRelativePath(url, apiBase).split('?')[0] ?? '/' }
          : undefined;
      if (metered) await this.config.meter?.beforeCall(metered);
      const started = performance.now();
      const logFields = {
        method,
        host: url.host,
        path: context.path,
        attempt,
        ...(hop > 0 ? { redirectHop: hop } : {}),
      };
      let response: Response;
      try {
        response = await this.config.fetch(url, {
          method,
          headers,
          body: json === undefined ? undefined : JSON.stringify(json),
          redirect: 'manual',
          signal: AbortSignal.timeout(this.config.requestTimeoutMs),
        });
      } catch (error) {
        if (metered) this.config.meter?.afterCall({ ...metered, status: null });
        logger.warn(
          { ...logFields, durationMs: elapsed(started), error: describeNetworkError(error) },
          'bitbucket request failed',
        );
        return { kind: 'network', error };
      }
      if (metered) this.config.meter?.afterCall({ ...metered, status: response.status });

      if (REDIRECT_STATUSES.has(response.status)) {
        await discardBody(response);
        logger.debug(
          { ...logFields, status: response.status, durationMs: elapsed(started) },
          'bitbucket request redirected',
        );
        if (hop >= MAX_REDIRECTS)
          throw new BitbucketRedirectError(
            `${request.method} ${loggablePath(request.url)}: more than ${MAX_REDIRECTS} redirects`,
            context,
            response.status,
          );
        const location = response.headers.get('location');
        if (location === null)
          throw new BitbucketRedirectError(
            `${context.method} ${context.path}: ${response.status} without Location`,
            context,
            response.status,
          );
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          throw new BitbucketRedirectError(
            `${context.method} ${context.path}: unusable Location`,
            context,
            response.status,
          );
        }
        if (response.status === 303 && method !== 'HEAD') {
          method = 'GET';
          json = undefined;
        } else if ((response.status === 301 || response.status === 302) && method !== 'GET' && method !== 'HEAD') {
          // fetch would silently turn this write into a GET and report success; refuse instead.
          throw new BitbucketRedirectError(
            `${context.method} ${context.path}: ${response.status} redirect of a ${method} is not followed`,
            context,
            response.status,
          );
        }
        url = next;
        continue;
      }

      const limit = response.status >= 200 && response.status <= 299 ? request.maxBodyBytes : ERROR_BODY_LIMIT_BYTES;
      let body;
      try {
        body = await readBoundedBody(response, limit);
      } catch (error) {
        logger.warn(
          { ...logFields, status: response.status, durationMs: elapsed(started), error: describeNetworkError(error) },
          'bitbucket response body failed',
        );
        return { kind: 'network', error };
      }
      const level =
        response.status >= 200 && response.status <= 299 ? 'debug' : response.status === 404 ? 'info' : 'warn';
      logger[level]({ ...logFields, status: response.status, durationMs: elapsed(started) }, 'bitbucket request');
      return body.ok
        ? { kind: 'response', status: response.status, headers: response.headers, url, body: body.bytes }
        : {
            kind: 'response',
            status: response.status,
            headers: response.headers,
            url,
            body: undefined,
            tooLargeLimit: body.limitBytes,
          };
    }
  }
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

/** Network error text without any request detail (undici puts the cause's code/message here). */
function describeNetworkError(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause;
    const causeText = cause instanceof Error ? `${(cause as NodeJS.ErrnoException).code ?? cause.name}` : '';
    return causeText ? `${error.name}: ${error.message} (${causeText})` : `${error.name}: ${error.message}`;
  }
  return 'unknown error';
}

/** Bitbucket's `{"type":"error","error":{"message"}}`, clipped; anything else yields no detail. */
function errorDetail(body: Uint8Array | undefined): string | undefined {
  if (body === undefined || body.byteLength === 0) return undefined;
  const text = new TextDecoder().decode(body);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The 429 body is text/plain ("Rate limit for this resource has been exceeded").
    return text.trim().slice(0, 300) || undefined;
  }
  const result = bitbucketErrorBody.safeParse(parsed);
  return result.success ? result.data.error.message.slice(0, 300) : undefined;
}
