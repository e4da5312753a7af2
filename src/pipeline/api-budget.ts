import type { Logger } from 'pino';
import {
  ApiBudgetExceededError,
  isRepositoriesCall,
  isWriteCall,
  type ApiCallMeter,
  type MeteredCall,
} from '../bitbucket';
import { DEFAULT_API_BUDGET, type ApiBudgetConfig, type ApiDeferralConfig } from '../config/app-config';
import type { Store } from '../store';

/**
 * The per-installation Bitbucket API budget (issues 9 and 15). Bitbucket allows an installation
 * 1,000 calls per rolling hour under `/2.0/repositories/*` (docs/operations.md, "The Bitbucket API budget") and answers 429 past
 * it; the agent is the adversary and can open PRs that cost many calls. So:
 *
 * - every call under `/2.0/repositories/*` is counted per installation per clock hour in the store
 *   (all replicas share one count); the rolling hour is estimated as this hour's calls plus the
 *   previous hour's, weighted by how much of it is still inside the last 60 minutes;
 * - reads stop at `callsPerHour − writeReserve`: the reserve is for writes (INPROGRESS, FAILED,
 *   verdicts, forged-status restores), which may use the whole hour — so with reads exhausted a
 *   head still gets its status;
 * - after a 429, reads pause for `cooldownMs` for that installation, a forged-status defence's too
 *   (writes still go);
 * - one evaluation may spend `perEvaluation` reads; past it the meter refuses with scope
 *   `evaluation`, and the evaluation fails closed (API_BUDGET_EXCEEDED), never SUCCESSFUL.
 *
 * A refused call throws ApiBudgetExceededError before anything is sent: scope `installation` is
 * transient, scope `evaluation` is a verdict. The refusal says when the estimate next has room
 * (`retryAfterMs`, msUntilRoom below); an evaluation refused for the installation's budget (or by a
 * 429) is deferred to then (deferralDelayMs; evaluate-pull-request.ts), not retried by the queue.
 */

export interface MeterOptions {
  /** Reads this job may spend (an evaluation: config `perEvaluation`); absent: no per-job cap. */
  readsCap?: number;
  /** The job defends a head (a forged-status restore): its reads may use the write reserve too. */
  priority?: boolean;
}

/** What the budget reports, for metrics (src/server/metrics.ts wires it to counters). */
export interface ApiBudgetObserver {
  /** `sent`: a counted call left; `rate_limited`: Bitbucket answered 429; `refused_*`: the budget refused it. */
  onCall(workspaceId: string, outcome: 'sent' | 'rate_limited' | 'refused_evaluation' | 'refused_installation'): void;
}

/** A meter for one job: the client calls it; `reads`/`calls` say what the job spent. */
export interface JobMeter extends ApiCallMeter {
  readonly spent: { reads: number; writes: number };
}

export interface Installation {
  workspaceId: string;
  clientKey: string;
}

const HOUR_MS = 3_600_000;

/** A deferral is due at the latest this long after the rolling hour that refused it has passed. */
export const DEFERRAL_MARGIN_MS = 60_000;

/**
 * How long until the estimate above admits a call under `limit` again, at `at` (ms), with `current`
 * calls counted in this clock hour and `previous` in the one before (no new calls meanwhile).
 * `take` admits a call while `current < limit − ceil(previous · (H − t) / H)`, t = ms into the hour:
 * the previous hour's share falls linearly, so room returns inside this hour when this hour alone is
 * below the limit, otherwise after it ends and enough of this hour's count has aged out.
 */
export function msUntilRoom(window: { current: number; previous: number }, limit: number, at: number): number {
  const intoHour = at % HOUR_MS;
  const untilHourEnd = HOUR_MS - intoHour;
  if (limit <= 0) return untilHourEnd + HOUR_MS;
  const roomThisHour = limit - window.current - 1;
  if (roomThisHour >= 0) {
    if (window.previous <= roomThisHour) return 0;
    const from = Math.ceil(HOUR_MS - (roomThisHour * HOUR_MS) / window.previous);
    return Math.max(0, from - intoHour);
  }
  // This hour is full: next hour it is the previous one, and counts while more than limit − 1 of it remains.
  const from = Math.ceil(HOUR_MS - ((limit - 1) * HOUR_MS) / window.current);
  return untilHourEnd + Math.max(0, from);
}

/**
 * When a deferred evaluation is due, in ms from now: the wait the refusal named (`retryAfterMs`; a 429
 * without Retry-After: `fallbackMs`) plus random jitter (up to a tenth of the wait plus 1 s, at most `jitterMs`), never sooner than `floorMs` and
 * never later than the rolling hour plus DEFERRAL_MARGIN_MS (by then every call counted now has aged out).
 */
export function deferralDelayMs(
  retryAfterMs: number | undefined,
  fallbackMs: number,
  config: ApiDeferralConfig,
  random: () => number = Math.random,
): number {
  const named = retryAfterMs !== undefined && Number.isFinite(retryAfterMs) ? Math.max(0, retryAfterMs) : fallbackMs;
  // Small against the wait: a tenth of it plus a second, at most `jitterMs`.
  const jitterCap = Math.min(Math.max(0, config.jitterMs), Math.ceil(Math.min(named, HOUR_MS) / 10) + 1000);
  const jitter = Math.floor(random() * jitterCap);
  return Math.min(HOUR_MS + DEFERRAL_MARGIN_MS, Math.max(config.floorMs, Math.ceil(Math.min(named, HOUR_MS)) + jitter));
}

export class ApiBudget {
  readonly config: ApiBudgetConfig;

  constructor(
    private readonly deps: {
      store: Pick<Store, 'apiCalls'>;
      config?: ApiBudgetConfig;
      now?: () => number;
      observer?: ApiBudgetObserver;
      logger?: Logger;
    },
  ) {
    this.config = deps.config ?? DEFAULT_API_BUDGET;
  }

  /** A fresh meter for one job of `installation`. */
  meterFor(installation: Installation, options: MeterOptions = {}): JobMeter {
    const spent = { reads: 0, writes: 0 };
    const now = this.deps.now ?? Date.now;
    const { store, observer, logger } = this.deps;
    const config = this.config;
    return {
      spent,
      beforeCall: async (call: MeteredCall) => {
        if (!isRepositoriesCall(call.path)) return;
        const write = isWriteCall(call.method);
        const context = { method: call.method, path: call.path };
        if (!write && options.readsCap !== undefined && spent.reads >= options.readsCap) {
          observer?.onCall(installation.workspaceId, 'refused_evaluation');
          throw new ApiBudgetExceededError(
            `this evaluation has spent its ${options.readsCap} API reads`,
            context,
            'evaluation',
          );
        }
        if (config.callsPerHour > 0) {
          const at = now();
          const window = await store.apiCalls.window(installation.workspaceId, installation.clientKey, at);
          const full = write || options.priority === true;
          const intoHour = at % HOUR_MS;
          const stillCounted = Math.ceil((window.previous * (HOUR_MS - intoHour)) / HOUR_MS);
          // After a 429 every read pauses, a head's defence included (Bitbucket would refuse it too).
          const cooling =
            !write && window.lastRateLimitedAtMs !== null && at - window.lastRateLimitedAtMs < config.cooldownMs;
          const limit = full ? config.callsPerHour : config.callsPerHour - config.writeReserve;
          if (
            cooling ||
            !(await store.apiCalls.take(installation.workspaceId, installation.clientKey, at, limit - stillCounted))
          ) {
            observer?.onCall(installation.workspaceId, 'refused_installation');
            const retryAfterMs =
              cooling && window.lastRateLimitedAtMs !== null
                ? window.lastRateLimitedAtMs + config.cooldownMs - at
                : Math.max(1, msUntilRoom(window, limit, at));
            logger?.warn(
              { workspace: installation.workspaceId, write, cooling, retryAfterMs },
              'API budget: call refused',
            );
            throw new ApiBudgetExceededError(
              cooling
                ? 'API reads paused after a 429 from Bitbucket'
                : `the installation's hourly API budget has no room for this ${write ? 'write' : 'read'}`,
              context,
              'installation',
              retryAfterMs,
            );
          }
        }
        if (write) spent.writes += 1;
        else spent.reads += 1;
        observer?.onCall(installation.workspaceId, 'sent');
      },
      afterCall: (call) => {
        if (call.status !== 429 || !isRepositoriesCall(call.path)) return;
        observer?.onCall(installation.workspaceId, 'rate_limited');
        store.apiCalls
          .recordRateLimited(installation.workspaceId, installation.clientKey, now())
          .catch((error: unknown) => {
            logger?.error(
              { err: error instanceof Error ? error.message : String(error) },
              'API budget: could not record a 429',
            );
          });
      },
    };
  }

  /** What the installation has spent in the estimated rolling hour, and what reads have left. */
  async usage(
    installation: Installation,
  ): Promise<{ spent: number; readsLeft: number; writesLeft: number; rateLimited: number }> {
    const at = (this.deps.now ?? Date.now)();
    const window = await this.deps.store.apiCalls.window(installation.workspaceId, installation.clientKey, at);
    const spent = window.current + Math.ceil((window.previous * (HOUR_MS - (at % HOUR_MS))) / HOUR_MS);
    return {
      spent,
      readsLeft: Math.max(0, this.config.callsPerHour - this.config.writeReserve - spent),
      writesLeft: Math.max(0, this.config.callsPerHour - spent),
      rateLimited: window.rateLimited,
    };
  }
}
