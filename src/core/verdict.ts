import { type ConsumableId, type ConsumedId } from './anti-replay';
import { RULES, type Check, type CheckSubject } from './check';
import { hasAllEnvelopeKeys } from './clawsig/envelope';
import type { GatewayReceiptFacts } from './clawsig/gateway-receipt';
import { isJsonObject } from './clawsig/json';
import type { AnchoredReceiptFacts } from './clawsig/side-effect-receipt';
import { verifyCstSignatures, type CstSignatureResult } from './clawsig/cst-signature';
import { parseScopedToken, type CstIssuerKey, type ScopedTokenParse } from './clawsig/scoped-token';
import type { ToolReceiptFacts } from './clawsig/tool-receipt';
import { checkTrustPulse, type TrustPulseResult } from './clawsig/trust-pulse';
import { runArtifactPaths, uploadedRunArtifactPaths } from './clawsig/run-artifacts';
import { verifyProofBundle, type ProofTier } from './clawsig/verify-proof-bundle';
import type { ChangeSet } from './policy/change-set';
import { evaluateWpc, fileProvenance, proofCoverageChecks, type EnginePolicy, type WpcForm } from './policy';
import { bitbucketBinding, evaluateProfile } from './profile';
import { protocolChecks } from './protocol-checks';
import type { ReasonCode } from './reason-codes';

export type Mode = 'observe' | 'warn' | 'enforce';
export type VerdictState = 'PASS' | 'FAIL' | 'PENDING' | 'NOT_APPLICABLE';
export type BuildStatusState = 'SUCCESSFUL' | 'FAILED' | 'INPROGRESS';

export interface TrustedGateway {
  did: string;
  /** Trust ends at this time (ms since epoch), for key rotation. */
  expiresAtMs?: number;
}

export interface EngineSettings {
  mode: Mode;
  trustedGateways: readonly TrustedGateway[];
  trustedAttesterDids?: readonly string[];
  cstIssuers: readonly CstIssuerKey[];
  /** Longest CST lifetime accepted (clawscope's default max is 3,600 s). */
  maxCstTtlSeconds?: number;
  frozen?: boolean;
  /** Opt-in pattern a CST `mission_id` must match (src/core/mission-pattern.ts); none: opaque. */
  missionIdPattern?: string;
  revocations?: { agentDids?: readonly string[]; cstJtis?: readonly string[]; bundleIds?: readonly string[] };
}

export interface EvaluationInput {
  /** Verification time, ms since the epoch. */
  nowMs: number;
  /**
   * 'protocol': the Clawsig rules plus the strict gateway layer (what the conformance manifest expects).
   * 'clawgate': the full profile (docs/clawsig-profile.md) and, with a policy, the WPC.
   */
  profile: 'protocol' | 'clawgate';
  settings: EngineSettings;
  /** The parsed bundle (envelope expected), when one was found. */
  bundle?: unknown;
  /**
   * The Universal Run Manifest the bundle references (parsed JSON), when one came with it: verified
   * against `payload.urm` by the protocol (URM_MISSING / URM_MISMATCH / HASH_MISMATCH), and read for
   * its Trust Pulse binding.
   */
  urm?: unknown;
  /** Where the bundle was found in the PR (a repository file), so its own files may follow the attested commit. */
  bundlePath?: string;
  /** A CST as compact JWT or claims; when absent it is read from the bundle's signed metadata. */
  scopedToken?: unknown;
  /**
   * The CST signatures verified before the engine (clawsig/cst-signature.ts, with jose; async, so
   * outside this synchronous engine). `verifyAndEvaluate` fills it; a compact CST without a result
   * here fails `profile.cst_signature` (CST_SIGNATURE_INVALID), so leaving it out never passes.
   */
  cstSignatures?: readonly CstSignatureResult[];
  /** The WPC of any form (src/core/policy/wpc-forms.ts): effective Bitbucket clauses, hash, form facts. */
  policy?: EnginePolicy;
  change?: ChangeSet;
  /** Ids already consumed (anti-replay), as the store knows them. */
  consumed?: readonly ConsumedId[];
  /** The gather step could not produce evidence (fail closed). */
  evidenceError?: Extract<
    ReasonCode,
    | 'BUNDLE_NOT_FOUND'
    | 'BUNDLE_UNREADABLE'
    | 'WPC_NOT_ASSIGNED'
    | 'CLAWGATE_ERROR'
    | 'BUNDLE_LIMIT_EXCEEDED'
    | 'VERIFICATION_BUDGET_EXCEEDED'
    | 'API_BUDGET_EXCEEDED'
  >;
  /** A Trust Pulse as received (text) or parsed: a non-tier, self-reported summary (trust-pulse.ts). */
  trustPulse?: unknown;
}

export interface Verdict {
  state: VerdictState;
  mode: Mode;
  /** OK on PASS; otherwise the first failing (or pending) check's code. */
  reasonCode: ReasonCode;
  statusState: BuildStatusState;
  checks: Check[];
  proof?: {
    bundleId: string;
    agentDid: string;
    runId?: string;
    chainRootHash?: string;
    issuedAt: string;
    payloadHash: string;
    proofTier: ProofTier;
    eventCount: number;
    binding?: { workspace?: string; repoSlug?: string; commit?: string; branch?: string };
    /** The verified run manifest, when the bundle references one. */
    urm?: {
      urmId: string;
      hashB64u: string;
      harness: { id: string; version: string; runtime?: string };
      trustPulseHashB64u?: string;
    };
  };
  receipts: {
    gateway: (GatewayReceiptFacts & { counted: boolean })[];
    tools: ToolReceiptFacts[];
    sideEffects: AnchoredReceiptFacts[];
    approvals: AnchoredReceiptFacts[];
  };
  token?: {
    sub: string;
    aud: string[];
    scopes: string[];
    iat: number;
    exp: number;
    jti?: string;
    missionId?: string;
    policyPin?: string;
    scopeHash: string;
    signatureVerified: boolean | null;
  };
  policy?: { hash: string; id?: string; form: WpcForm; signerDid?: string };
  /**
   * The Trust Pulse: verified / unverified / absent. Never a check: it decides nothing (no tier, no
   * state); it is shown beside the diff it is compared with.
   */
  trustPulse: TrustPulseResult;
  files: { path: string; oldPath?: string; status: string; provenance: string; denied: boolean }[];
  /** Ids to record as consumed by this PR once the verdict is stored. */
  consume: ConsumableId[];
  /** Why the change counts as agent work (empty for a NOT_APPLICABLE verdict). */
  agentWork: AgentWorkReason[];
}

/** One reason a PR is agent work (docs/policy.md §5): the page says which. */
export interface AgentWorkReason {
  kind:
    | 'pr_author'
    | 'commit_author'
    | 'commit_pusher'
    | 'bundle_declared'
    | 'bundle_found'
    | 'too_large'
    | 'bundle_unreadable';
  accountId?: string;
  commit?: string;
}

const RULE_ORDER = new Map<string, number>(RULES.map((rule, index) => [rule, index]));

function sortChecks(checks: Check[]): Check[] {
  const key = (s: CheckSubject | undefined) => `${s?.kind ?? ''}\u0000${s?.id ?? ''}\u0000${s?.path ?? ''}`;
  return checks
    .map((check, index) => ({ check, index }))
    .sort(
      (a, b) =>
        (RULE_ORDER.get(a.check.rule) ?? 999) - (RULE_ORDER.get(b.check.rule) ?? 999) ||
        key(a.check.subject).localeCompare(key(b.check.subject)) ||
        a.index - b.index,
    )
    .map((entry) => entry.check);
}

/** observe and warn never fail the build (they report); enforce does (docs/policy.md). */
export function buildStatusFor(state: VerdictState, mode: Mode): BuildStatusState {
  if (state === 'PENDING') return 'INPROGRESS';
  if (state === 'FAIL') return failedStatusFor(mode);
  return 'SUCCESSFUL';
}

/** The build status of a failure (a FAIL verdict, an incident, clawgate's own error) in `mode`. */
export function failedStatusFor(mode: Mode): 'FAILED' | 'SUCCESSFUL' {
  return mode === 'enforce' ? 'FAILED' : 'SUCCESSFUL';
}

function looksLikeBarePayload(value: unknown): boolean {
  return (
    isJsonObject(value) &&
    !hasAllEnvelopeKeys(value) &&
    ('bundle_version' in value || 'agent_did' in value || 'bundle_id' in value)
  );
}

/** A CST travels with the bundle in its signed metadata: the JWT or the claims (docs/clawsig-profile.md). */
function tokenFromMetadata(metadata: unknown): unknown {
  if (!isJsonObject(metadata)) return undefined;
  return metadata.scoped_token ?? metadata.scoped_token_claims;
}

const REFUSED_BUNDLE_CLAUSES: ReadonlySet<string> = new Set([
  'CST_MISSING',
  'BUNDLE_REQUIRED',
  'GATEWAY_RECEIPTS_REQUIRED',
]);

/**
 * Errors that mean a bundle was there (or clawgate failed, or stopped reading at the evaluation's API
 * budget before it could tell): the PR is judged, never NOT_APPLICABLE.
 */
const CLAIMED_EVIDENCE_ERRORS: ReadonlySet<EvaluationInput['evidenceError']> = new Set([
  'BUNDLE_UNREADABLE',
  'CLAWGATE_ERROR',
  'BUNDLE_LIMIT_EXCEEDED',
  'VERIFICATION_BUDGET_EXCEEDED',
  'API_BUDGET_EXCEEDED',
]);

/** The bundle's own files in the PR: the bundle file and its URM and Trust Pulse siblings (run-artifacts.ts). */
function bundleOwnFiles(bundlePath: string | undefined, bundleId: string | undefined): string[] {
  const files: string[] = [];
  if (bundlePath !== undefined) files.push(bundlePath, ...Object.values(runArtifactPaths(bundlePath)));
  if (bundleId !== undefined) files.push(...Object.values(uploadedRunArtifactPaths(bundleId)));
  return files;
}

/**
 * Agent work by provenance (docs/policy.md): the PR's author, any commit's author or pusher is a registered
 * agent identity, or the PR declares or carries a bundle. Too-large and unreadable evidence is judged
 * too (fail closed: what could not be read cannot be shown to be human work).
 */
export function agentWorkReasons(
  change: ChangeSet,
  bundleFound: boolean,
  evidenceError?: EvaluationInput['evidenceError'],
): AgentWorkReason[] {
  const reasons: AgentWorkReason[] = [];
  if (change.actor.agentIdentity !== undefined) reasons.push({ kind: 'pr_author', accountId: change.actor.accountId });
  for (const commit of change.commits) {
    const agents = commit.agentAccountIds ?? [];
    if (commit.author === 'agent')
      reasons.push({
        kind: 'commit_author',
        commit: commit.hash,
        ...(commit.authorAccountId ? { accountId: commit.authorAccountId } : {}),
      });
    if (commit.pushedBy === 'agent')
      reasons.push({
        kind: 'commit_pusher',
        commit: commit.hash,
        ...(agents[0] !== undefined ? { accountId: agents[0] } : {}),
      });
  }
  if ((change.pullRequest?.declaredBundleIds?.length ?? 0) > 0) reasons.push({ kind: 'bundle_declared' });
  if (bundleFound) reasons.push({ kind: 'bundle_found' });
  if (change.tooLarge !== undefined) reasons.push({ kind: 'too_large' });
  if (
    evidenceError !== undefined &&
    evidenceError !== 'CLAWGATE_ERROR' &&
    evidenceError !== 'API_BUDGET_EXCEEDED' &&
    CLAIMED_EVIDENCE_ERRORS.has(evidenceError)
  )
    reasons.push({ kind: 'bundle_unreadable' });
  // Bounded: a PR of many agent commits lists the first 50 reasons.
  return reasons.slice(0, 50);
}

/**
 * The engine: protocol verification, the clawgate profile, the WPC, combined into one Verdict.
 * Pure and deterministic: same input, same verdict (checks in RULES order, then by subject).
 */
export function evaluate(input: EvaluationInput): Verdict {
  const { settings, change } = input;
  const mode = settings.mode;
  const checks: Check[] = [];
  const verdict: Verdict = {
    state: 'FAIL',
    mode,
    reasonCode: 'CLAWGATE_ERROR',
    statusState: 'FAILED',
    checks,
    receipts: { gateway: [], tools: [], sideEffects: [], approvals: [] },
    trustPulse: { status: 'absent' },
    files: [],
    consume: [],
    agentWork: [],
  };
  if (input.policy) {
    const official = input.policy.official;
    verdict.policy = {
      hash: input.policy.hash,
      id: input.policy.wpc.policy_id,
      form: official?.form ?? 'bitbucket',
      ...(official?.signerDid !== undefined ? { signerDid: official.signerDid } : {}),
    };
  }
  const bundleFound = input.bundle !== undefined;

  // A human PR stays out of scope unless something was claimed (an unreadable bundle) or clawgate failed.
  if (change) verdict.agentWork = agentWorkReasons(change, bundleFound, input.evidenceError);
  if (change && verdict.agentWork.length === 0 && !CLAIMED_EVIDENCE_ERRORS.has(input.evidenceError)) {
    checks.push({
      rule: 'system.evidence',
      outcome: 'skip',
      code: 'NOT_AN_AGENT_PR',
      subject: { kind: 'pull_request', id: String(change.pullRequest?.id ?? '') },
    });
    return finish(verdict, 'NOT_APPLICABLE');
  }
  if (change?.tooLarge !== undefined) {
    // Nothing else can be judged on a partial read: the verdict is this one check (and the kill switch).
    checks.push({
      rule: 'system.evidence',
      outcome: 'fail',
      code: 'CHANGE_TOO_LARGE',
      subject: { kind: 'pull_request', id: String(change.pullRequest?.id ?? '') },
      evidence: { what: change.tooLarge.what, limit: change.tooLarge.limit },
    });
    if (input.profile === 'clawgate' && settings.frozen)
      checks.push({
        rule: 'profile.freeze',
        outcome: 'fail',
        code: 'WORKSPACE_FROZEN',
        subject: { kind: 'workspace', id: change.workspace },
      });
    return finish(verdict, 'FAIL');
  }
  if (input.evidenceError === 'API_BUDGET_EXCEEDED') {
    // The evaluation stopped reading at its API budget: like a too-large change, nothing else can be
    // judged on a partial read, so the verdict is this one check (and the kill switch).
    checks.push({
      rule: 'system.evidence',
      outcome: 'fail',
      code: 'API_BUDGET_EXCEEDED',
      ...(change ? { subject: { kind: 'pull_request', id: String(change.pullRequest?.id ?? '') } } : {}),
    });
    if (input.profile === 'clawgate' && settings.frozen)
      checks.push({
        rule: 'profile.freeze',
        outcome: 'fail',
        code: 'WORKSPACE_FROZEN',
        subject: { kind: 'workspace', id: change?.workspace ?? '' },
      });
    return finish(verdict, 'FAIL');
  }
  if (input.profile === 'clawgate' && settings.frozen) {
    checks.push({
      rule: 'profile.freeze',
      outcome: 'fail',
      code: 'WORKSPACE_FROZEN',
      subject: { kind: 'workspace', id: change?.workspace ?? '' },
    });
  }
  if (input.profile === 'clawgate' && change?.actor.agentIdentity?.revoked) {
    checks.push({
      rule: 'profile.revocation',
      outcome: 'fail',
      code: 'REVOKED_AGENT',
      subject: { kind: 'actor', id: change.actor.accountId },
    });
  }
  if (input.evidenceError) {
    checks.push({ rule: 'system.evidence', outcome: 'fail', code: input.evidenceError });
  }

  const nowMs = input.nowMs;
  const trustedGatewayDids = settings.trustedGateways
    .filter((g) => g.expiresAtMs === undefined || nowMs < g.expiresAtMs)
    .map((g) => g.did);
  let attestedCommit: string | undefined;
  let tokenScopes: string[] | undefined;
  let bundleUnverified = false;

  if (bundleFound) {
    if (input.profile === 'clawgate') {
      const bare = looksLikeBarePayload(input.bundle);
      checks.push(
        bare
          ? {
              rule: 'profile.envelope_required',
              outcome: 'fail',
              code: 'BARE_PAYLOAD_REJECTED',
              subject: { kind: 'bundle' },
            }
          : { rule: 'profile.envelope_required', outcome: 'pass', code: 'OK' },
      );
    }
    const protocol = verifyProofBundle(input.bundle, {
      nowMs,
      trustedGatewayDids,
      trustedAttesterDids: settings.trustedAttesterDids,
      strict: true,
      urm: input.urm,
    });
    bundleUnverified = !protocol.valid;
    checks.push(...protocolChecks(protocol));
    verdict.receipts = {
      gateway: protocol.gatewayReceipts.map((r) => ({ ...r, counted: r.signatureValid && r.trusted && r.bound })),
      tools: protocol.toolReceipts,
      sideEffects: protocol.sideEffects,
      approvals: protocol.humanApprovals,
    };
    if (protocol.bundle) {
      const binding = bitbucketBinding(protocol.bundle.metadata);
      attestedCommit = binding?.commit;
      verdict.proof = {
        bundleId: protocol.bundle.bundleId,
        agentDid: protocol.bundle.agentDid,
        runId: protocol.bundle.runId,
        chainRootHash: protocol.bundle.chainRootHash,
        issuedAt: protocol.bundle.issuedAt,
        payloadHash: protocol.bundle.payloadHash,
        proofTier: protocol.proofTier,
        eventCount: protocol.bundle.events.length,
        binding,
        urm: protocol.urm && {
          urmId: protocol.urm.urmId,
          hashB64u: protocol.urm.hashB64u,
          harness: protocol.urm.harness,
          trustPulseHashB64u: protocol.urm.trustPulseHashB64u,
        },
      };
    }
    if (input.profile === 'clawgate' && change && attestedCommit !== undefined)
      checks.push(
        ...proofCoverageChecks(change, attestedCommit, bundleOwnFiles(input.bundlePath, protocol.bundle?.bundleId)),
      );
    if (input.profile === 'clawgate' && protocol.valid) {
      const rawToken = input.scopedToken ?? tokenFromMetadata(protocol.bundle?.metadata);
      const token: ScopedTokenParse | undefined = rawToken === undefined ? undefined : parseScopedToken(rawToken);
      const profile = evaluateProfile({
        protocol,
        token,
        cstIssuers: settings.cstIssuers,
        cstSignatures: input.cstSignatures ?? [],
        maxCstTtlSeconds: settings.maxCstTtlSeconds ?? 3600,
        policyHash: input.policy?.hash,
        requireToken: input.policy !== undefined || change !== undefined || input.scopedToken !== undefined,
        change,
        consumed: input.consumed ?? [],
        missionIdPattern: settings.missionIdPattern,
        revocations: {
          agentDids: settings.revocations?.agentDids ?? [],
          cstJtis: settings.revocations?.cstJtis ?? [],
          bundleIds: settings.revocations?.bundleIds ?? [],
        },
      });
      checks.push(...profile.checks);
      verdict.consume = profile.consume;
      if (token?.ok) {
        const claims = token.token.claims;
        tokenScopes = [...claims.scope];
        verdict.token = {
          sub: claims.sub,
          aud: typeof claims.aud === 'string' ? [claims.aud] : [...claims.aud],
          scopes: tokenScopes,
          iat: claims.iat,
          exp: claims.exp,
          jti: claims.jti,
          missionId: claims.mission_id,
          policyPin: claims.policy_hash_b64u,
          scopeHash: token.token.scopeHash,
          signatureVerified: profile.tokenSignatureVerified,
        };
      }
    }
  }

  if (input.policy && change) {
    const policyChecks = evaluateWpc(input.policy, change, {
      agentDid: verdict.proof?.agentDid,
      bundlePresent: bundleFound && verdict.proof !== undefined,
      gatewayReceipts: verdict.receipts.gateway.map((r) => ({
        receiptId: r.receiptId ?? `#${r.index}`,
        provider: r.provider ?? '',
        model: r.model ?? '',
        counted: r.counted,
      })),
      cstScopes: tokenScopes,
      attestedCommit,
    });
    // A bundle that failed verification has no trustworthy token: the scope clause could not be
    // judged, rather than failing on its own (the verdict fails already, on the protocol check).
    // A bundle refused for its size or its verification time was there but could not be judged: the
    // clauses about the bundle and its token are not judged either, so the verdict's reason is the
    // refusal (it fails on its own, in system.evidence).
    const refused =
      input.evidenceError === 'BUNDLE_LIMIT_EXCEEDED' || input.evidenceError === 'VERIFICATION_BUDGET_EXCEEDED';
    const unjudged = (c: Check) =>
      (bundleUnverified && c.code === 'CST_MISSING') || (refused && REFUSED_BUNDLE_CLAUSES.has(c.code));
    checks.push(
      ...policyChecks.map((c): Check =>
        unjudged(c)
          ? {
              rule: c.rule,
              outcome: 'skip',
              code: 'OK',
              evidence: { reason: refused ? 'bundle_refused' : 'bundle_not_verified' },
            }
          : c,
      ),
    );
  }
  if (change) {
    const denied = new Set(checks.filter((c) => c.code === 'PATH_DENIED' && c.subject?.id).map((c) => c.subject?.id));
    verdict.files = fileProvenance(change, attestedCommit).map((f) => ({
      ...f,
      denied: denied.has(f.path) || (f.oldPath !== undefined && denied.has(f.oldPath)),
    }));
  }
  if (input.trustPulse !== undefined) {
    const payload = isJsonObject(input.bundle) && isJsonObject(input.bundle.payload) ? input.bundle.payload : undefined;
    const urmRef =
      payload && isJsonObject(payload.urm) && typeof payload.urm.resource_hash_b64u === 'string'
        ? payload.urm.resource_hash_b64u
        : undefined;
    verdict.trustPulse = checkTrustPulse({
      pulse: input.trustPulse,
      urm: input.urm,
      bundle: {
        verified: bundleFound && !bundleUnverified && verdict.proof !== undefined,
        agentDid: verdict.proof?.agentDid,
        runId: verdict.proof?.runId,
        urmHashB64u: urmRef,
      },
      change,
      denyGlobs: input.policy?.wpc.policy.paths.deny_globs ?? [],
    });
  }
  if (!bundleFound && !input.evidenceError && input.profile === 'clawgate' && change) {
    checks.push({
      rule: 'system.evidence',
      outcome: 'fail',
      code: 'BUNDLE_NOT_FOUND',
      subject: { kind: 'pull_request', id: String(change.pullRequest?.id ?? '') },
    });
  }
  if (!bundleFound && !change && !input.evidenceError) {
    checks.push({ rule: 'system.evidence', outcome: 'fail', code: 'BUNDLE_NOT_FOUND' });
  }

  const fails = checks.some((c) => c.outcome === 'fail');
  const pending = checks.some((c) => c.outcome === 'pending');
  return finish(verdict, fails ? 'FAIL' : pending ? 'PENDING' : 'PASS');
}

function finish(verdict: Verdict, state: VerdictState): Verdict {
  const sorted = sortChecks(verdict.checks);
  verdict.checks.splice(0, verdict.checks.length, ...sorted);
  verdict.state = state;
  const first =
    state === 'FAIL'
      ? sorted.find((c) => c.outcome === 'fail')
      : state === 'PENDING'
        ? sorted.find((c) => c.outcome === 'pending')
        : undefined;
  verdict.reasonCode = state === 'NOT_APPLICABLE' ? 'NOT_AN_AGENT_PR' : (first?.code ?? 'OK');
  verdict.statusState = buildStatusFor(state, verdict.mode);
  return verdict;
}

/**
 * What every caller runs: the CST's signature verified first (jose, asynchronous), then the
 * synchronous engine with that result. Any `cstSignatures` the caller passed is replaced, never
 * trusted.
 */
export async function verifyAndEvaluate(input: EvaluationInput): Promise<Verdict> {
  return evaluate({ ...input, cstSignatures: await verifyCstSignatures(input) });
}

/**
 * The ids a stored verdict records as consumed by its PR (anti-replay): the ids its bundle presents,
 * unless they are already another PR's (REPLAY) or the bundle is not bound to this PR (its work
 * commit is not one of the PR's, or it names another repository). A copy of another PR's bundle,
 * judged first, must not take that PR's ids (docs/clawsig-profile.md).
 */
export function idsToRecord(verdict: Pick<Verdict, 'consume' | 'checks'>): ConsumableId[] {
  const unbound = verdict.checks.some(
    (c) => (c.rule === 'profile.pr_binding' && c.outcome === 'fail') || c.code === 'REPLAY',
  );
  return unbound ? [] : [...verdict.consume];
}
