import type { Response } from 'express';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { ApiError } from './http-error';

/**
 * Rate limits of the API (docs/api.md "Rate limits"), per credential and per source address, with
 * rate-limiter-flexible's in-memory limiters:
 * - authentication failures (401s): a source address, or a presented credential (token prefix, JWT
 *   iss+sub), that failed too often is refused with 429 before its credential is even checked;
 * - re-checks and bundle uploads: each costs Bitbucket API budget (a re-check is a whole evaluation),
 *   so they are limited per caller (token id or page user) and per source address.
 * The source address is the socket's (`trust proxy` is off): behind a proxy every client shares the
 * proxy's address, so the per-address limits are generous and the per-caller ones do the work. An
 * address over its authentication-failure limit is refused even with a valid credential until the
 * window passes (checking it first would tell a guesser which guess was right).
 * The per-credential failure limit keys bearer tokens by their display prefix only (see authenticate.ts).
 * Counters live in each process: N replicas allow up to N times the numbers (documented).
 */

export interface RateLimitWindow {
  /** Events allowed per window. */
  readonly points: number;
  readonly windowSeconds: number;
}

export interface ApiRateLimitSettings {
  readonly authFailuresPerAddress: RateLimitWindow;
  readonly authFailuresPerCredential: RateLimitWindow;
  readonly rechecksPerCaller: RateLimitWindow;
  readonly rechecksPerAddress: RateLimitWindow;
  readonly uploadsPerCaller: RateLimitWindow;
  readonly uploadsPerAddress: RateLimitWindow;
}

export const DEFAULT_RATE_LIMITS: ApiRateLimitSettings = {
  authFailuresPerAddress: { points: 120, windowSeconds: 300 },
  authFailuresPerCredential: { points: 10, windowSeconds: 300 },
  rechecksPerCaller: { points: 10, windowSeconds: 600 },
  rechecksPerAddress: { points: 60, windowSeconds: 600 },
  uploadsPerCaller: { points: 60, windowSeconds: 60 },
  uploadsPerAddress: { points: 300, windowSeconds: 60 },
};

export type LimitedAction = 'recheck' | 'upload';

export interface ApiRateLimits {
  /** 429 when the address or the presented credential failed authentication too often. */
  assertAuthFailuresBelowLimit(response: Response, address: string, credential: string | null): Promise<void>;
  recordAuthFailure(address: string, credential: string | null): Promise<void>;
  /** Counts one re-check or upload; 429 when the caller or the address is over its limit. */
  consume(response: Response, action: LimitedAction, caller: string, address: string): Promise<void>;
}

function limiter(window: RateLimitWindow, keyPrefix: string): RateLimiterMemory {
  return new RateLimiterMemory({ points: window.points, duration: window.windowSeconds, keyPrefix });
}

function tooMany(response: Response, msBeforeNext: number, message: string): ApiError {
  response.setHeader('Retry-After', String(Math.max(1, Math.ceil(msBeforeNext / 1000))));
  return new ApiError(429, 'RATE_LIMITED', message);
}

export function createApiRateLimits(settings: Partial<ApiRateLimitSettings> = {}): ApiRateLimits {
  const s = { ...DEFAULT_RATE_LIMITS, ...settings };
  const failuresByAddress = limiter(s.authFailuresPerAddress, 'auth-address');
  const failuresByCredential = limiter(s.authFailuresPerCredential, 'auth-credential');
  const actions: Record<LimitedAction, { caller: RateLimiterMemory; address: RateLimiterMemory }> = {
    recheck: {
      caller: limiter(s.rechecksPerCaller, 'recheck-caller'),
      address: limiter(s.rechecksPerAddress, 'recheck-address'),
    },
    upload: {
      caller: limiter(s.uploadsPerCaller, 'upload-caller'),
      address: limiter(s.uploadsPerAddress, 'upload-address'),
    },
  };

  return {
    async assertAuthFailuresBelowLimit(response, address, credential) {
      const [byAddress, byCredential] = await Promise.all([
        failuresByAddress.get(address),
        credential === null ? null : failuresByCredential.get(credential),
      ]);
      for (const [state, points] of [
        [byAddress, s.authFailuresPerAddress.points],
        [byCredential, s.authFailuresPerCredential.points],
      ] as const) {
        if (state !== null && state.consumedPoints >= points)
          throw tooMany(response, state.msBeforeNext, 'too many failed authentication attempts; wait and try again');
      }
    },
    async recordAuthFailure(address, credential) {
      // Over the limit the consume rejects; the next request is refused by assertAuthFailuresBelowLimit.
      await Promise.allSettled([
        failuresByAddress.consume(address),
        ...(credential === null ? [] : [failuresByCredential.consume(credential)]),
      ]);
    },
    async consume(response, action, caller, address) {
      const limits = actions[action];
      try {
        await limits.caller.consume(caller);
        await limits.address.consume(address);
      } catch (error) {
        if (error instanceof RateLimiterRes)
          throw tooMany(
            response,
            error.msBeforeNext,
            action === 'recheck' ? 'too many re-checks; wait and try again' : 'too many uploads; wait and try again',
          );
        throw error;
      }
    },
  };
}
