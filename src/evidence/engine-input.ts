import { z } from 'zod';
import { changeSetFileSchema, parseChangeSetFile } from '../core/policy/change-set-schema';
import { parseBitbucketWpc, type OfficialWpcFacts } from '../core/policy';
import type { EvaluationInput } from '../core/verdict';

/**
 * The engine's input for one evaluation, recorded as JSON so the same verdict can be re-derived
 * later, offline, from an evidence pack (issue 12). Everything the pure engine reads is here: the
 * verification time, the settings that mattered (trusted gateways, CST issuers, revocations, freeze,
 * mode), the bundle exactly as received, the CST, the WPC, the change set, the ids other PRs had
 * already consumed, the URM and the Trust Pulse. Nothing else influences `evaluate`.
 */

export const RECORDED_INPUT_VERSION = '1';

/** Upper bounds for what is restored from a (possibly hostile) pack. */
const MAX_TEXT = 16 * 1024 * 1024;

const consumedSchema = z.strictObject({
  kind: z.enum(['bundle_id', 'run_id', 'cst_jti', 'cst_nonce', 'receipt_id']),
  value: z.string().min(1).max(1024),
  repoFullName: z.string().min(1).max(401),
  pullRequestId: z.number().int().positive(),
});

const settingsSchema = z.strictObject({
  mode: z.enum(['observe', 'warn', 'enforce']),
  trustedGateways: z
    .array(z.strictObject({ did: z.string().min(1).max(256), expiresAtMs: z.number().int().optional() }))
    .max(1000),
  trustedAttesterDids: z.array(z.string().max(256)).max(1000).optional(),
  cstIssuers: z
    .array(z.strictObject({ kid: z.string().max(256).optional(), publicKeyB64u: z.string().max(128) }))
    .max(1000),
  maxCstTtlSeconds: z.number().int().positive().optional(),
  frozen: z.boolean().optional(),
  revocations: z
    .strictObject({
      agentDids: z.array(z.string().max(256)).max(10_000).optional(),
      cstJtis: z.array(z.string().max(512)).max(10_000).optional(),
      bundleIds: z.array(z.string().max(255)).max(10_000).optional(),
    })
    .optional(),
});

export const recordedInputSchema = z.strictObject({
  version: z.literal(RECORDED_INPUT_VERSION),
  now_ms: z.number().int().nonnegative(),
  profile: z.enum(['protocol', 'clawgate']),
  settings: settingsSchema,
  /** The bundle exactly as received (its SHA-256 is the evaluation's `bundle_sha256_b64u`). */
  bundle_text: z.string().max(MAX_TEXT).optional(),
  scoped_token: z.unknown().optional(),
  /** The WPC as the engine used it (parsed form) and its hash. */
  /**
   * For an official Clawsig WPC (v1/v2), `wpc` holds the effective Bitbucket clauses and `official`
   * the form's facts; `hash` is then the hash of the official document, not of `wpc`.
   */
  policy: z
    .strictObject({
      wpc: z.unknown(),
      hash: z.string().min(1).max(128),
      official: z
        .custom<OfficialWpcFacts>((value) => typeof value === 'object' && value !== null && !Array.isArray(value))
        .optional(),
    })
    .optional(),
  change: changeSetFileSchema.optional(),
  consumed: z.array(consumedSchema).max(100_000).optional(),
  evidence_error: z
    .enum([
      'BUNDLE_NOT_FOUND',
      'BUNDLE_UNREADABLE',
      'WPC_NOT_ASSIGNED',
      'CLAWGATE_ERROR',
      'BUNDLE_LIMIT_EXCEEDED',
      'VERIFICATION_BUDGET_EXCEEDED',
      'API_BUDGET_EXCEEDED',
    ])
    .optional(),
  urm: z.unknown().optional(),
  bundle_path: z.string().max(1024).optional(),
  trust_pulse: z.unknown().optional(),
});
export type RecordedInput = z.output<typeof recordedInputSchema>;

/** Record an engine input (JSON-safe). `bundleText` is the bundle as received, when known. */
export function recordEngineInput(input: EvaluationInput, bundleText?: string): RecordedInput {
  const text = bundleText ?? (input.bundle === undefined ? undefined : JSON.stringify(input.bundle));
  return {
    version: RECORDED_INPUT_VERSION,
    now_ms: input.nowMs,
    profile: input.profile,
    settings: JSON.parse(JSON.stringify(input.settings)) as RecordedInput['settings'],
    ...(text !== undefined ? { bundle_text: text } : {}),
    ...(input.scopedToken !== undefined ? { scoped_token: input.scopedToken } : {}),
    ...(input.policy
      ? {
          policy: {
            wpc: input.policy.wpc,
            hash: input.policy.hash,
            ...(input.policy.official !== undefined ? { official: input.policy.official } : {}),
          },
        }
      : {}),
    ...(input.change ? { change: JSON.parse(JSON.stringify(input.change)) as RecordedInput['change'] } : {}),
    ...(input.consumed && input.consumed.length > 0
      ? {
          consumed: input.consumed.map((c) => ({
            kind: c.kind,
            value: c.value,
            repoFullName: c.repoFullName,
            pullRequestId: c.pullRequestId,
          })),
        }
      : {}),
    ...(input.evidenceError ? { evidence_error: input.evidenceError } : {}),
    ...(input.urm !== undefined ? { urm: input.urm } : {}),
    ...(input.bundlePath !== undefined ? { bundle_path: input.bundlePath } : {}),
    ...(input.trustPulse !== undefined ? { trust_pulse: input.trustPulse } : {}),
  };
}

export type RestoreResult = { ok: true; input: EvaluationInput } | { ok: false; problem: string };

/** Restore a recorded input for `evaluate`: validated, the WPC re-parsed and its hash re-checked. */
export function restoreEngineInput(value: unknown): RestoreResult {
  const parsed = recordedInputSchema.safeParse(value);
  if (!parsed.success)
    return {
      ok: false,
      problem: `engine input invalid at ${parsed.error.issues[0]?.path.join('.') ?? ''}: ${parsed.error.issues[0]?.message ?? ''}`,
    };
  const r = parsed.data;
  let bundle: unknown;
  if (r.bundle_text !== undefined) {
    try {
      bundle = JSON.parse(r.bundle_text) as unknown;
    } catch {
      // An unreadable bundle was recorded as such (evidence_error BUNDLE_UNREADABLE); keep it absent.
      bundle = undefined;
    }
  }
  let policy: EvaluationInput['policy'];
  if (r.policy) {
    const wpc = parseBitbucketWpc(r.policy.wpc);
    if (!wpc.ok) return { ok: false, problem: 'the recorded WPC does not parse' };
    if (r.policy.official === undefined) {
      if (wpc.policyHashB64u !== r.policy.hash)
        return { ok: false, problem: 'the recorded WPC does not hash to the recorded policy hash' };
      policy = { wpc: wpc.wpc, hash: wpc.policyHashB64u };
    } else {
      // An official form: its hash is the official document's (covered by the pack's signature).
      policy = { wpc: wpc.wpc, hash: r.policy.hash, official: r.policy.official };
    }
  }
  let change: EvaluationInput['change'];
  if (r.change) {
    const c = parseChangeSetFile(r.change);
    if (!c.ok) return { ok: false, problem: 'the recorded change set is invalid' };
    change = c.change;
  }
  return {
    ok: true,
    input: {
      nowMs: r.now_ms,
      profile: r.profile,
      settings: r.settings,
      ...(bundle !== undefined ? { bundle } : {}),
      ...(r.scoped_token !== undefined ? { scopedToken: r.scoped_token } : {}),
      ...(policy ? { policy } : {}),
      ...(change ? { change } : {}),
      ...(r.consumed ? { consumed: r.consumed } : {}),
      ...(r.evidence_error ? { evidenceError: r.evidence_error } : {}),
      ...(r.urm !== undefined ? { urm: r.urm } : {}),
      ...(r.bundle_path !== undefined ? { bundlePath: r.bundle_path } : {}),
      ...(r.trust_pulse !== undefined ? { trustPulse: r.trust_pulse } : {}),
    },
  };
}
