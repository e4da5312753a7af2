/**
 * The one retry helper: exponential backoff with full jitter, `Retry-After` honoured when present,
 * bounded attempts and a bounded total wait. It knows nothing about HTTP beyond parsing Retry-After;
 * the caller says, per attempt result, whether to retry.
 */

export interface RetryOptions {
  /** Attempts in all, including the first. */
  maxAttempts: number;
  /** Backoff cap before jitter for attempt n is min(maxDelayMs, baseDelayMs * 2^(n-1)). */
  baseDelayMs: number;
  /** No single wait is longer; a Retry-After above this ends retrying (the caller can reschedule). */
  maxDelayMs: number;
  /** Sum of all waits for one call; a wait that would pass it ends retrying. */
  maxTotalDelayMs: number;
}

export interface RetryEnvironment {
  sleep: (ms: number) => Promise<void>;
  /** Uniform in [0, 1). */
  random: () => number;
  /** ms since the epoch, for HTTP-date Retry-After. */
  now: () => number;
}

export const DEFAULT_RETRY_OPTIONS: RetryOptions = {
  maxAttempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 20_000,
  maxTotalDelayMs: 45_000,
};

export const REAL_RETRY_ENVIRONMENT: RetryEnvironment = {
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
  now: Date.now,
};

/** What the caller decided about one attempt's result. */
export type RetryVerdict = { retry: false } | { retry: true; reason: string; retryAfterMs?: number };

export interface RetryNotice {
  attempt: number;
  delayMs: number;
  reason: string;
}

/** Full jitter (AWS architecture blog): uniform in [0, min(cap, base * 2^(attempt-1))]. */
export function backoffDelayMs(attempt: number, options: RetryOptions, random: () => number): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * `Retry-After` as ms to wait: delta-seconds or an HTTP date (RFC 9110 §10.2.3). Undefined when
 * absent or unparseable (then backoff applies); a date in the past means 0.
 */
export function parseRetryAfter(header: string | null | undefined, now: number): number | undefined {
  if (header === null || header === undefined) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // All three HTTP-date forms start with a day name; this keeps Date.parse from reading "-5" as a year.
  if (!/^[A-Za-z]{3}/.test(value)) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * Runs `attempt` until `verdictOf` says stop, attempts run out, or the next wait would break a bound.
 * Returns the last result either way: mapping a final 429/5xx to an error is the caller's job.
 */
export async function runWithRetry<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  verdictOf: (result: T) => RetryVerdict,
  options: RetryOptions,
  environment: RetryEnvironment,
  onRetry?: (notice: RetryNotice) => void,
): Promise<T> {
  let waitedMs = 0;
  for (let attemptNumber = 1; ; attemptNumber += 1) {
    const result = await attempt(attemptNumber);
    const verdict = verdictOf(result);
    if (!verdict.retry || attemptNumber >= options.maxAttempts) return result;
    const delayMs = verdict.retryAfterMs ?? backoffDelayMs(attemptNumber, options, environment.random);
    if (delayMs > options.maxDelayMs || waitedMs + delayMs > options.maxTotalDelayMs) return result;
    onRetry?.({ attempt: attemptNumber, delayMs, reason: verdict.reason });
    waitedMs += delayMs;
    await environment.sleep(delayMs);
  }
}
