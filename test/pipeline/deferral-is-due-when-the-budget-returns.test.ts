import fc from 'fast-check';
import { DEFAULT_API_DEFERRAL, loadAppConfig, ConfigError } from '../../src/config/app-config';
import { DEFERRAL_MARGIN_MS, deferralDelayMs, msUntilRoom } from '../../src/pipeline/api-budget';

/**
 * When a deferred evaluation is due (issue 9): msUntilRoom names the first moment the budget's
 * rolling-hour estimate admits a call again — not sooner (the job would only be refused again) and
 * not later (the verdict would wait for nothing) — and deferralDelayMs bounds it: never sooner than
 * the floor, never later than the rolling hour plus a margin.
 */
const HOUR = 3_600_000;
const T0 = 1_796_616_000_000; // the start of a clock hour

/** The meter's rule (api-budget.ts, store take): a call is admitted while current < limit − ceil(previous·(H−t)/H). */
function admits(window: { current: number; previous: number }, limit: number, startAt: number, at: number): boolean {
  const hoursLater = Math.floor(at / HOUR) - Math.floor(startAt / HOUR);
  // No calls meanwhile: an hour later this hour's count is the previous one; two hours later nothing counts.
  const current = hoursLater === 0 ? window.current : 0;
  const previous = hoursLater === 0 ? window.previous : hoursLater === 1 ? window.current : 0;
  const stillCounted = Math.ceil((previous * (HOUR - (at % HOUR))) / HOUR);
  return current < limit - stillCounted;
}

describe('msUntilRoom', () => {
  test('is the first moment the estimate admits a call again (property, against the meter rule)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 0, max: 1200 }),
        fc.integer({ min: 0, max: 1200 }),
        fc.integer({ min: 0, max: HOUR - 1 }),
        (limit, current, previous, intoHour) => {
          const at = T0 + intoHour;
          const window = { current, previous };
          const wait = msUntilRoom(window, limit, at);
          expect(admits(window, limit, at, at + wait)).toBe(true);
          if (wait > 0) expect(admits(window, limit, at, at + wait - 1)).toBe(false);
          expect(wait).toBeLessThanOrEqual(2 * HOUR);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('a full hour: room returns after the hour ends, once enough of it has aged out', () => {
    // 240 reads allowed, 240 spent this hour, 10 s before its end: the 1st read of the next hour
    // is admitted when 239 or fewer of the 240 are still counted, 15 s into it.
    expect(msUntilRoom({ current: 240, previous: 0 }, 240, T0 + HOUR - 10_000)).toBe(10_000 + 15_000);
    // Room now: 0.
    expect(msUntilRoom({ current: 10, previous: 0 }, 240, T0 + 5)).toBe(0);
  });
});

describe('deferralDelayMs', () => {
  const config = { floorMs: 1_000, jitterMs: 10_000, maxDeferredMs: 24 * HOUR };

  test('the wait the refusal named plus small bounded jitter; a 429 without Retry-After waits the fallback', () => {
    expect(deferralDelayMs(30_000, 5_000, config, () => 0)).toBe(30_000);
    // Jitter: up to a tenth of the wait plus a second (4 s here), at most jitterMs (10 s).
    expect(deferralDelayMs(30_000, 5_000, config, () => 0.5)).toBe(32_000);
    expect(deferralDelayMs(30_000, 5_000, config, () => 0.999_999)).toBeLessThan(34_000);
    expect(deferralDelayMs(HOUR, 5_000, config, () => 0.5)).toBe(HOUR + 5_000);
    expect(deferralDelayMs(undefined, 5_000, config, () => 0)).toBe(5_000);
  });

  test('never sooner than the floor, never later than the rolling hour plus the margin', () => {
    fc.assert(
      fc.property(
        fc.option(fc.double({ min: -1e12, max: 1e12, noNaN: false }), { nil: undefined }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (retryAfter, random) => {
          const delay = deferralDelayMs(retryAfter, 5_000, config, () => random);
          expect(delay).toBeGreaterThanOrEqual(config.floorMs);
          expect(delay).toBeLessThanOrEqual(HOUR + DEFERRAL_MARGIN_MS);
          expect(Number.isInteger(delay)).toBe(true);
        },
      ),
    );
  });
});

describe('the deferral config', () => {
  test('defaults, environment, and refused values', () => {
    expect(loadAppConfig({}).apiDeferral).toEqual(DEFAULT_API_DEFERRAL);
    expect(DEFAULT_API_DEFERRAL).toEqual({ floorMs: 1_000, jitterMs: 10_000, maxDeferredMs: 24 * HOUR });
    expect(
      loadAppConfig({
        CLAWGATE_API_DEFER_FLOOR_MS: '2000',
        CLAWGATE_API_DEFER_JITTER_MS: '0',
        CLAWGATE_API_DEFER_MAX_MS: '3600000',
      }).apiDeferral,
    ).toEqual({ floorMs: 2_000, jitterMs: 0, maxDeferredMs: HOUR });
    expect(() => loadAppConfig({ CLAWGATE_API_DEFER_MAX_MS: '0' })).toThrow(ConfigError);
    expect(() => loadAppConfig({ CLAWGATE_API_DEFER_JITTER_MS: '-1' })).toThrow(ConfigError);
  });
});
