import type { ChangeSet } from '../policy/change-set';
import { compileDenyGlobs } from '../policy/deny-globs';
import { normalizeRepoPath } from '../policy/repo-path';
import { stringifyHashB64u } from './hashing';
import { isJsonObject } from './json';
import { trustPulseV1Schema, type TrustPulseV1 } from './schemas/trust-pulse';

/**
 * Trust Pulse v1 (`../clawsig/schema/poh/trust_pulse.v1.json`): a small, redacted, self-reported
 * summary of a run (tools with call counts, files with touch counts). It is bound to the run through
 * the URM: `urm.metadata.trust_pulse.artifact_hash_b64u` and the URM output of `type: trust_pulse`
 * both carry b64u(SHA-256(JSON.stringify(pulse as parsed))), and the URM itself is bound to the signed
 * bundle by `payload.urm.resource_hash_b64u` (the same stringify hash).
 *
 * A pulse is a NON-TIER check: it is `verified` (schema and binding hold), `unverified` (present but
 * the schema or the binding fails) or `absent`. It never raises the proof tier and never fails or
 * passes a verdict: even verified, its content is only what the agent's harness says it did. Its
 * use is to be shown beside, and compared with, the PR's real diff.
 *
 * This module only needs a minimal view of the URM (the fields named above, plus `run_id` and
 * `agent_did`); full URM verification (schema, ids, chain root) is the URM module's job.
 */

/** Largest pulse accepted, in UTF-8 bytes of the text as received (issue 12). */
export const MAX_TRUST_PULSE_BYTES = 64 * 1024;

export const TRUST_PULSE_SCHEMA_ID = 'https://schemas.clawbureau.org/claw.poh.trust_pulse.v1.json';

/** The trust_pulse.v1 JSON schema (schemas/trust-pulse.ts, checked against the official file under Ajv). */
export const trustPulseSchema = trustPulseV1Schema;
export type TrustPulse = TrustPulseV1;

/** Why a pulse is unverified (codes; words are the renderer's). */
export type TrustPulseProblem =
  | 'TRUST_PULSE_TOO_LARGE'
  | 'TRUST_PULSE_UNREADABLE'
  | 'TRUST_PULSE_SCHEMA_INVALID'
  | 'TRUST_PULSE_URM_MISSING'
  | 'TRUST_PULSE_URM_NOT_BOUND'
  | 'TRUST_PULSE_NOT_IN_URM'
  | 'TRUST_PULSE_HASH_MISMATCH'
  | 'TRUST_PULSE_RUN_MISMATCH'
  | 'TRUST_PULSE_BUNDLE_NOT_VERIFIED';

export type TrustPulseStatus = 'verified' | 'unverified' | 'absent';

/** What the pulse says, for display: never used to decide anything. */
export interface TrustPulseSummary {
  trustPulseId?: string;
  runId: string;
  agentDid: string;
  issuedAt: string;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  tools: { name: string; calls: number }[];
  files: { path: string; touches: number }[];
}

/** The pulse compared with the PR's diff (paths normalised as the WPC matcher normalises them). */
export interface TrustPulseComparison {
  /** Files the PR changes that the pulse never mentions. */
  unreportedDiffPaths: string[];
  /** Paths the pulse reports touching that the PR's diff does not change. */
  reportedNotInDiff: string[];
  /** Paths the pulse reports touching that the WPC's deny globs match (with the first glob). */
  reportedDenied: { path: string; glob: string }[];
  /** Paths the harness redacted: they cannot be compared with the diff. */
  redacted: string[];
}

export interface TrustPulseResult {
  status: TrustPulseStatus;
  /** Set when `status` is `unverified`; the first problem found, in the order of the checks. */
  problem?: TrustPulseProblem;
  /** b64u(SHA-256(JSON.stringify(pulse))) when the pulse parsed as JSON. */
  hashB64u?: string;
  summary?: TrustPulseSummary;
  comparison?: TrustPulseComparison;
}

/** The minimal view of the signed bundle this check needs (from the verified payload). */
export interface TrustPulseBundleView {
  /** True only when the bundle's envelope verified (signature, hash, schema). */
  verified: boolean;
  agentDid?: string;
  runId?: string;
  /** `payload.urm.resource_hash_b64u` as signed. */
  urmHashB64u?: string;
}

export interface TrustPulseInput {
  /** The pulse as received: text (size-checked and parsed here) or an already parsed value. */
  pulse: string | unknown;
  /** The URM document (parsed), if one came with the bundle. */
  urm?: unknown;
  bundle: TrustPulseBundleView;
  change?: ChangeSet;
  denyGlobs?: readonly string[];
}

/**
 * A path counts as redacted when the harness replaced it, or one of its segments, with a marker:
 * `[redacted]`, `<redacted>`, `redacted`, `***` (any case), or a `sha256:`/`hash:` placeholder.
 * The schema does not define a marker; these are the forms harnesses use for secrets in logs.
 */
const REDACTED_SEGMENT = /^(?:\[redacted\]|<redacted>|redacted|\*{3,}|(?:sha256|hash):[A-Za-z0-9_=+/-]+)$/i;

export function isRedactedPath(path: string): boolean {
  return path.split('/').some((segment) => REDACTED_SEGMENT.test(segment) || /\[redacted\]/i.test(segment));
}

function summaryOf(pulse: TrustPulse): TrustPulseSummary {
  return {
    ...(pulse.trust_pulse_id !== undefined ? { trustPulseId: pulse.trust_pulse_id } : {}),
    runId: pulse.run_id,
    agentDid: pulse.agent_did,
    issuedAt: pulse.issued_at,
    ...(pulse.started_at !== undefined ? { startedAt: pulse.started_at } : {}),
    ...(pulse.ended_at !== undefined ? { endedAt: pulse.ended_at } : {}),
    ...(pulse.duration_ms !== undefined ? { durationMs: pulse.duration_ms } : {}),
    tools: pulse.tools.map((t) => ({ name: t.name, calls: t.calls })),
    files: pulse.files.map((f) => ({ path: f.path, touches: f.touches })),
  };
}

/** Compare what the pulse reports with the PR's change set (exported for tests and renderers). */
export function compareTrustPulseWithDiff(
  pulse: Pick<TrustPulse, 'files'>,
  change: ChangeSet,
  denyGlobs: readonly string[] = [],
): TrustPulseComparison {
  const diffPaths = new Set<string>();
  for (const file of change.files) {
    diffPaths.add(normalizeRepoPath(file.path));
    if (file.oldPath !== undefined) diffPaths.add(normalizeRepoPath(file.oldPath));
  }
  const redacted: string[] = [];
  const reported = new Set<string>();
  for (const file of pulse.files) {
    if (isRedactedPath(file.path)) redacted.push(file.path);
    else reported.add(normalizeRepoPath(file.path));
  }
  const matcher = compileDenyGlobs(denyGlobs);
  const reportedDenied: { path: string; glob: string }[] = [];
  for (const path of reported) {
    const hit = matcher.match(path);
    if (hit) reportedDenied.push({ path, glob: hit.glob });
  }
  const sorted = (values: Iterable<string>) => [...values].sort();
  return {
    unreportedDiffPaths: sorted([...diffPaths].filter((p) => !reported.has(p))),
    reportedNotInDiff: sorted([...reported].filter((p) => !diffPaths.has(p))),
    reportedDenied: reportedDenied.sort((a, b) => a.path.localeCompare(b.path)),
    redacted: sorted(redacted),
  };
}

function urmPulseHashes(urm: unknown): { metadataHash?: string; outputHashes: string[] } {
  if (!isJsonObject(urm)) return { outputHashes: [] };
  const meta =
    isJsonObject(urm.metadata) && isJsonObject(urm.metadata.trust_pulse) ? urm.metadata.trust_pulse : undefined;
  const metadataHash = meta && typeof meta.artifact_hash_b64u === 'string' ? meta.artifact_hash_b64u : undefined;
  const outputs = Array.isArray(urm.outputs) ? urm.outputs : [];
  const outputHashes = outputs
    .filter((o) => isJsonObject(o) && o.type === 'trust_pulse' && typeof o.hash_b64u === 'string')
    .map((o) => (o as { hash_b64u: string }).hash_b64u);
  return { ...(metadataHash !== undefined ? { metadataHash } : {}), outputHashes };
}

/**
 * Check a Trust Pulse: size, JSON, schema, then its binding (URM bound to the signed bundle, pulse
 * hash named by the URM's metadata AND by a `trust_pulse` output, run and agent matching). Pure.
 * The summary and the diff comparison are returned whenever the schema holds, verified or not, so a
 * reviewer sees what an unbound pulse claims (clearly marked unverified).
 */
export function checkTrustPulse(input: TrustPulseInput): TrustPulseResult {
  let value: unknown = input.pulse;
  if (typeof input.pulse === 'string') {
    if (Buffer.byteLength(input.pulse, 'utf8') > MAX_TRUST_PULSE_BYTES)
      return { status: 'unverified', problem: 'TRUST_PULSE_TOO_LARGE' };
    try {
      value = JSON.parse(input.pulse) as unknown;
    } catch {
      return { status: 'unverified', problem: 'TRUST_PULSE_UNREADABLE' };
    }
  } else if (input.pulse === undefined) {
    return { status: 'absent' };
  } else {
    const text = JSON.stringify(input.pulse);
    if (text === undefined) return { status: 'unverified', problem: 'TRUST_PULSE_UNREADABLE' };
    if (Buffer.byteLength(text, 'utf8') > MAX_TRUST_PULSE_BYTES)
      return { status: 'unverified', problem: 'TRUST_PULSE_TOO_LARGE' };
  }
  const hashB64u = stringifyHashB64u(value);
  const parsed = trustPulseSchema.safeParse(value);
  if (!parsed.success) return { status: 'unverified', problem: 'TRUST_PULSE_SCHEMA_INVALID', hashB64u };
  const pulse = parsed.data;
  const summary = summaryOf(pulse);
  const comparison = input.change ? compareTrustPulseWithDiff(pulse, input.change, input.denyGlobs ?? []) : undefined;
  const base = { hashB64u, summary, ...(comparison ? { comparison } : {}) };
  const unverified = (problem: TrustPulseProblem): TrustPulseResult => ({ status: 'unverified', problem, ...base });

  if (!input.bundle.verified) return unverified('TRUST_PULSE_BUNDLE_NOT_VERIFIED');
  if (input.urm === undefined) return unverified('TRUST_PULSE_URM_MISSING');
  if (
    input.bundle.urmHashB64u === undefined ||
    !isJsonObject(input.urm) ||
    stringifyHashB64u(input.urm) !== input.bundle.urmHashB64u
  )
    return unverified('TRUST_PULSE_URM_NOT_BOUND');
  const { metadataHash, outputHashes } = urmPulseHashes(input.urm);
  if (metadataHash === undefined || outputHashes.length === 0) return unverified('TRUST_PULSE_NOT_IN_URM');
  if (metadataHash !== hashB64u || !outputHashes.includes(hashB64u)) return unverified('TRUST_PULSE_HASH_MISMATCH');
  const urmRun = typeof input.urm.run_id === 'string' ? input.urm.run_id : undefined;
  const urmAgent = typeof input.urm.agent_did === 'string' ? input.urm.agent_did : undefined;
  if (
    pulse.run_id !== urmRun ||
    pulse.agent_did !== urmAgent ||
    pulse.agent_did !== input.bundle.agentDid ||
    (input.bundle.runId !== undefined && input.bundle.runId !== pulse.run_id)
  ) {
    return unverified('TRUST_PULSE_RUN_MISMATCH');
  }
  return { status: 'verified', ...base };
}
