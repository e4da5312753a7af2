import { z } from 'zod';

/**
 * How long clawgate keeps what it records (issue 4 §6), from the environment, validated at start:
 * - `CLAWGATE_AUDIT_RETENTION_DAYS` (default 400): audit events, evaluations' trail included. `0`
 *   keeps them forever. One value for the whole deployment: retention is an operator's compliance
 *   decision, not a workspace setting (a workspace admin must not be able to shorten its own trail).
 * - `CLAWGATE_DELIVERY_RETENTION_DAYS` (default 7): webhook delivery ids kept for dedupe; Bitbucket
 *   redelivers within minutes, so days are plenty. Minimum 1.
 * - `CLAWGATE_JOB_RETENTION_DAYS` (default 30): finished queue jobs (done, failed, superseded);
 *   evaluations themselves live in their own table. Minimum 1.
 * - `CLAWGATE_RETENTION_INTERVAL_MINUTES` (default 360): how often the purge runs.
 */

export interface RetentionPolicy {
  /** 0 = keep audit events forever. */
  readonly auditDays: number;
  readonly deliveryDays: number;
  readonly jobDays: number;
  readonly intervalMs: number;
}

export const DEFAULT_RETENTION_POLICY: RetentionPolicy = {
  auditDays: 400,
  deliveryDays: 7,
  jobDays: 30,
  intervalMs: 6 * 60 * 60 * 1000,
};

export class RetentionConfigError extends Error {
  override readonly name = 'RetentionConfigError';
}

const days = (min: number) =>
  z
    .string()
    .regex(/^\d{1,6}$/, 'must be a whole number of days')
    .transform(Number)
    .pipe(z.number().int().min(min).max(36_500));

const envSchema = z.object({
  CLAWGATE_AUDIT_RETENTION_DAYS: days(0).optional(),
  CLAWGATE_DELIVERY_RETENTION_DAYS: days(1).optional(),
  CLAWGATE_JOB_RETENTION_DAYS: days(1).optional(),
  CLAWGATE_RETENTION_INTERVAL_MINUTES: z
    .string()
    .regex(/^\d{1,6}$/, 'must be a whole number of minutes')
    .transform(Number)
    .pipe(z.number().int().min(1).max(10_080))
    .optional(),
});

/** The policy from the environment; a malformed value throws (fail at start, not silently keep forever). */
export function retentionPolicyFromEnv(env: NodeJS.ProcessEnv): RetentionPolicy {
  const parsed = envSchema.safeParse({
    CLAWGATE_AUDIT_RETENTION_DAYS: env.CLAWGATE_AUDIT_RETENTION_DAYS,
    CLAWGATE_DELIVERY_RETENTION_DAYS: env.CLAWGATE_DELIVERY_RETENTION_DAYS,
    CLAWGATE_JOB_RETENTION_DAYS: env.CLAWGATE_JOB_RETENTION_DAYS,
    CLAWGATE_RETENTION_INTERVAL_MINUTES: env.CLAWGATE_RETENTION_INTERVAL_MINUTES,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RetentionConfigError(`${issue?.path.join('.') ?? 'retention'}: ${issue?.message ?? 'invalid'}`);
  }
  const e = parsed.data;
  return {
    auditDays: e.CLAWGATE_AUDIT_RETENTION_DAYS ?? DEFAULT_RETENTION_POLICY.auditDays,
    deliveryDays: e.CLAWGATE_DELIVERY_RETENTION_DAYS ?? DEFAULT_RETENTION_POLICY.deliveryDays,
    jobDays: e.CLAWGATE_JOB_RETENTION_DAYS ?? DEFAULT_RETENTION_POLICY.jobDays,
    intervalMs:
      e.CLAWGATE_RETENTION_INTERVAL_MINUTES === undefined
        ? DEFAULT_RETENTION_POLICY.intervalMs
        : e.CLAWGATE_RETENTION_INTERVAL_MINUTES * 60_000,
  };
}
