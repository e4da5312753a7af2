import { checkReplay, type ConsumableId, type ConsumedId } from './anti-replay';
import type { Check, RuleId } from './check';
import { isJsonObject, stringOrUndefined, type JsonObject } from './clawsig/json';
import { parseTimestamp } from './clawsig/rfc3339';
import type { CstSignatureResult } from './clawsig/cst-signature';
import type { CstIssuerKey, ParsedScopedToken, ScopedTokenParse } from './clawsig/scoped-token';
import type { ProofBundleResult } from './clawsig/verify-proof-bundle';
import { evidenceObject } from './evidence';
import { missionMatches } from './mission-pattern';
import type { ChangeSet } from './policy/change-set';

export interface ProfileInput {
  protocol: ProofBundleResult;
  /** Parsed CST, a parse failure, or undefined when none was supplied. */
  token: ScopedTokenParse | undefined;
  cstIssuers: readonly CstIssuerKey[];
  /**
   * The signatures verified before the engine ran (clawsig/cst-signature.ts, jose). A compact token
   * without a result here is taken as unverified: it fails, never passes.
   */
  cstSignatures: readonly CstSignatureResult[];
  maxCstTtlSeconds: number;
  /** Hash of the WPC that applies; undefined when none is given (CLI without --wpc). */
  policyHash?: string;
  /** True when the full profile applies (a WPC or a CST was given, or a PR is evaluated). */
  requireToken: boolean;
  change?: ChangeSet;
  consumed: readonly ConsumedId[];
  /** The workspace's opt-in `mission_id` pattern; without one the mission id is opaque (recorded only). */
  missionIdPattern?: string;
  revocations: { agentDids: readonly string[]; cstJtis: readonly string[]; bundleIds: readonly string[] };
}

export interface ProfileOutput {
  checks: Check[];
  consume: ConsumableId[];
  tokenSignatureVerified: boolean | null;
}

const pass = (rule: RuleId, evidence?: { [key: string]: unknown }): Check => ({
  rule,
  outcome: 'pass',
  code: 'OK',
  ...(evidence ? { evidence: evidenceObject(evidence) } : {}),
});
const skip = (rule: RuleId, reason: string): Check => ({ rule, outcome: 'skip', code: 'OK', evidence: { reason } });

/** The Bitbucket binding the agent signed: payload.metadata.bitbucket (docs/clawsig-profile.md). */
export function bitbucketBinding(
  metadata: JsonObject | undefined,
): { workspace?: string; repoSlug?: string; commit?: string; branch?: string } | undefined {
  const binding = metadata && isJsonObject(metadata.bitbucket) ? metadata.bitbucket : undefined;
  if (!binding) return undefined;
  return {
    workspace: stringOrUndefined(binding.workspace),
    repoSlug: stringOrUndefined(binding.repo_slug),
    commit: stringOrUndefined(binding.commit),
    branch: stringOrUndefined(binding.branch),
  };
}

type ProfileBundle = NonNullable<ProofBundleResult['bundle']>;

/** What every rule reads: the profile input and the verified bundle. */
interface RuleInput {
  readonly input: ProfileInput;
  readonly protocol: ProofBundleResult;
  readonly bundle: ProfileBundle;
}

/** What the token rules read besides: the parsed token. */
interface TokenRuleInput extends RuleInput {
  readonly token: ParsedScopedToken;
}

const TOKEN_RULES: readonly RuleId[] = [
  'profile.receipt_token_scope',
  'profile.cst_signature',
  'profile.cst_subject',
  'profile.cst_policy_pin',
  'profile.cst_ttl',
  'profile.cst_validity_window',
  'profile.cst_mission',
];

function receiptSubject(receipt: ProofBundleResult['gatewayReceipts'][number]): Check['subject'] {
  return { kind: 'gateway_receipt', id: receipt.receiptId ?? `#${receipt.index}` };
}

function signerIsAgent({ bundle }: RuleInput): Check[] {
  return [pass('profile.signer_is_agent', { agent_did: bundle.agentDid })];
}

/** Every gateway receipt: signature-valid, trusted, bound — not only those the protocol counts. */
function gatewayReceipts({ protocol, bundle }: RuleInput): Check[] {
  const failures: Check[] = [];
  for (const receipt of protocol.gatewayReceipts) {
    const subject = {
      kind: 'gateway_receipt' as const,
      id: receipt.receiptId ?? `#${receipt.index}`,
      path: `payload.receipts[${receipt.index}]`,
    };
    const evidence = evidenceObject({ signer_did: receipt.signerDid, reason: receipt.code });
    if (!receipt.trusted)
      failures.push({
        rule: 'profile.gateway_receipts',
        outcome: 'fail',
        code: 'GATEWAY_RECEIPT_UNTRUSTED',
        subject,
        evidence,
      });
    else if (!receipt.signatureValid)
      failures.push({
        rule: 'profile.gateway_receipts',
        outcome: 'fail',
        code: 'GATEWAY_RECEIPT_SIGNATURE_INVALID',
        subject,
        evidence,
      });
    else if (!receipt.bound)
      failures.push({
        rule: 'profile.gateway_receipts',
        outcome: 'fail',
        code: 'GATEWAY_RECEIPT_UNBOUND',
        subject,
        evidence,
      });
  }
  // Each receipt once: a duplicate inflates the evidence (the protocol tolerates identical copies).
  const receiptIds = new Set<string>();
  for (const receipt of protocol.gatewayReceipts) {
    if (!receipt.receiptId) continue;
    if (receiptIds.has(receipt.receiptId)) {
      failures.push({
        rule: 'profile.gateway_receipts',
        outcome: 'fail',
        code: 'GATEWAY_RECEIPT_DUPLICATE',
        subject: { kind: 'gateway_receipt', id: receipt.receiptId, path: `payload.receipts[${receipt.index}]` },
      });
    }
    receiptIds.add(receipt.receiptId);
  }
  // Every model call the agent logged must be receipted by a gateway: a dropped receipt leaves its
  // llm_call event behind, and removing the event breaks the chain and the later bindings.
  const boundEvents = new Set(protocol.gatewayReceipts.filter((r) => r.bound).map((r) => r.binding?.eventHash));
  for (const event of bundle.events) {
    if (event.eventType === 'llm_call' && !boundEvents.has(event.eventHash)) {
      failures.push({
        rule: 'profile.gateway_receipts',
        outcome: 'fail',
        code: 'UNRECEIPTED_MODEL_CALL',
        subject: { kind: 'event', id: event.eventId },
      });
    }
  }
  return failures.length ? failures : [pass('profile.gateway_receipts', { receipts: protocol.gatewayReceipts.length })];
}

/** Receipts carry the WPC hash they were issued under. */
function receiptPolicyHash({ input, protocol }: RuleInput): Check[] {
  const policyHash = input.policyHash;
  if (policyHash === undefined) return [skip('profile.receipt_policy_hash', 'no_policy')];
  const bad = protocol.gatewayReceipts.filter((r) => r.binding?.policyHash !== policyHash);
  if (!bad.length) return [pass('profile.receipt_policy_hash', { policy_hash: policyHash })];
  return bad.map((r): Check => ({
    rule: 'profile.receipt_policy_hash',
    outcome: 'fail',
    code: 'RECEIPT_POLICY_HASH_MISMATCH',
    subject: receiptSubject(r),
    evidence: evidenceObject({ expected: policyHash, actual: r.binding?.policyHash ?? null }),
  }));
}

/** No token, or an unreadable one: `profile.cst` says why and every token rule is skipped. */
function missingOrUnreadableToken(input: ProfileInput): Check[] {
  if (input.token === undefined) {
    const cst: Check = input.requireToken
      ? { rule: 'profile.cst', outcome: 'fail', code: 'CST_MISSING', subject: { kind: 'token' } }
      : skip('profile.cst', 'no_token');
    return [cst, ...TOKEN_RULES.map((rule) => skip(rule, 'no_token'))];
  }
  if (input.token.ok) return [];
  return [
    {
      rule: 'profile.cst',
      outcome: 'fail',
      code: input.token.code,
      subject: { kind: 'token', path: input.token.path },
    },
    ...TOKEN_RULES.map((rule) => skip(rule, 'token_unreadable')),
  ];
}

/** The token's claimed scope hash, when it states one, is the one recomputed from its claims. */
function cstScopeHash({ token }: TokenRuleInput): Check[] {
  const claimed = token.claims.token_scope_hash_b64u;
  if (claimed !== undefined && claimed !== token.scopeHash)
    return [
      {
        rule: 'profile.cst',
        outcome: 'fail',
        code: 'CST_SCOPE_HASH_MISMATCH',
        subject: { kind: 'token' },
        evidence: { claimed, recomputed: token.scopeHash },
      },
    ];
  return [pass('profile.cst', { scope_hash: token.scopeHash })];
}

/** Every receipt was issued under this token's scope. */
function receiptTokenScope({ protocol, token }: TokenRuleInput): Check[] {
  const bad = protocol.gatewayReceipts.filter((r) => r.binding?.tokenScopeHash !== token.scopeHash);
  if (!bad.length) return [pass('profile.receipt_token_scope', { scope_hash: token.scopeHash })];
  return bad.map((r): Check => ({
    rule: 'profile.receipt_token_scope',
    outcome: 'fail',
    code: 'RECEIPT_TOKEN_SCOPE_MISMATCH',
    subject: receiptSubject(r),
    evidence: evidenceObject({ expected: token.scopeHash, actual: r.binding?.tokenScopeHash ?? null }),
  }));
}

/** With issuer keys configured, the token must be a compact JWS one of them signed. */
function cstSignature({ input, token }: TokenRuleInput): { checks: Check[]; verified: boolean | null } {
  if (token.compact && input.cstIssuers.length > 0) {
    const compact = token.compact;
    const result = input.cstSignatures.find((r) => r.compact === compact);
    if (result?.verified === true) return { checks: [pass('profile.cst_signature')], verified: true };
    // No result for this exact token (the caller skipped the verification step) is a failure too.
    const evidence = result === undefined ? { evidence: { reason: 'not_verified' } } : {};
    return {
      checks: [
        {
          rule: 'profile.cst_signature',
          outcome: 'fail',
          code: 'CST_SIGNATURE_INVALID',
          subject: { kind: 'token' },
          ...evidence,
        },
      ],
      verified: false,
    };
  }
  if (!token.compact && input.cstIssuers.length > 0)
    return {
      checks: [
        { rule: 'profile.cst_signature', outcome: 'fail', code: 'CST_SIGNATURE_REQUIRED', subject: { kind: 'token' } },
      ],
      verified: false,
    };
  return { checks: [skip('profile.cst_signature', token.compact ? 'no_issuer_key' : 'claims_only')], verified: null };
}

/** The token was issued to the agent that signed the bundle. */
function cstSubject({ bundle, token }: TokenRuleInput): Check[] {
  const { claims } = token;
  if (claims.sub === bundle.agentDid && (claims.agent_did === undefined || claims.agent_did === bundle.agentDid))
    return [pass('profile.cst_subject')];
  return [
    {
      rule: 'profile.cst_subject',
      outcome: 'fail',
      code: 'CST_SUBJECT_MISMATCH',
      subject: { kind: 'token' },
      evidence: evidenceObject({ sub: claims.sub, agent_did: bundle.agentDid }),
    },
  ];
}

/** The token pins the WPC that applies. */
function cstPolicyPin({ input, token }: TokenRuleInput): Check[] {
  if (input.policyHash === undefined) return [skip('profile.cst_policy_pin', 'no_policy')];
  if (token.claims.policy_hash_b64u === input.policyHash) return [pass('profile.cst_policy_pin')];
  return [
    {
      rule: 'profile.cst_policy_pin',
      outcome: 'fail',
      code: 'CST_POLICY_PIN_MISMATCH',
      subject: { kind: 'token' },
      evidence: evidenceObject({ expected: input.policyHash, pinned: token.claims.policy_hash_b64u ?? null }),
    },
  ];
}

/** The token lives no longer than the workspace allows. */
function cstTtl({ input, token }: TokenRuleInput): Check[] {
  const ttl = token.claims.exp - token.claims.iat;
  if (ttl > 0 && ttl <= input.maxCstTtlSeconds) return [pass('profile.cst_ttl', { ttl_seconds: ttl })];
  return [
    {
      rule: 'profile.cst_ttl',
      outcome: 'fail',
      code: 'CST_TTL_TOO_LONG',
      subject: { kind: 'token' },
      evidence: { ttl_seconds: ttl, max_seconds: input.maxCstTtlSeconds },
    },
  ];
}

/** Every receipt was issued while the token was valid. */
function cstValidityWindow({ protocol, token }: TokenRuleInput): Check[] {
  const { iat, exp } = token.claims;
  const outside = protocol.gatewayReceipts.filter((r) => {
    const at = parseTimestamp(r.timestamp);
    return at === null || at < iat * 1000 || at > exp * 1000;
  });
  if (!outside.length) return [pass('profile.cst_validity_window', { iat, exp })];
  return outside.map((r): Check => ({
    rule: 'profile.cst_validity_window',
    outcome: 'fail',
    code: 'RECEIPT_OUTSIDE_CST_VALIDITY',
    subject: receiptSubject(r),
    evidence: evidenceObject({ timestamp: r.timestamp ?? null, iat, exp }),
  }));
}

/**
 * `mission_id` is opaque (recorded, shown) unless the workspace opted into a mission pattern
 * (docs/clawsig-profile.md, revised 2026-12); with a pattern, a missing or non-matching mission fails.
 */
function cstMission({ input, token }: TokenRuleInput): Check[] {
  const missionId = token.claims.mission_id;
  const pattern = input.missionIdPattern;
  if (missionId === undefined)
    return [
      pattern === undefined
        ? skip('profile.cst_mission', 'no_mission')
        : {
            rule: 'profile.cst_mission',
            outcome: 'fail',
            code: 'CST_MISSION_MISMATCH',
            subject: { kind: 'token' },
            evidence: { mission_id: null, pattern },
          },
    ];
  if (pattern === undefined) return [pass('profile.cst_mission', { mission_id: missionId, opaque: true })];
  const change = input.change;
  if (!change) return [skip('profile.cst_mission', 'no_change')];
  if (missionMatches(pattern, missionId, change))
    return [pass('profile.cst_mission', { mission_id: missionId, pattern })];
  return [
    {
      rule: 'profile.cst_mission',
      outcome: 'fail',
      code: 'CST_MISSION_MISMATCH',
      subject: { kind: 'token' },
      evidence: { mission_id: missionId, pattern, repository: change.repoFullName },
    },
  ];
}

/** Every id the bundle and token present, for anti-replay. */
function consumableIds({ protocol, bundle }: RuleInput, token: ParsedScopedToken | undefined): ConsumableId[] {
  const consume: ConsumableId[] = [{ kind: 'bundle_id', value: bundle.bundleId }];
  if (bundle.runId) consume.push({ kind: 'run_id', value: bundle.runId });
  for (const r of protocol.gatewayReceipts) if (r.receiptId) consume.push({ kind: 'receipt_id', value: r.receiptId });
  if (token?.claims.jti) consume.push({ kind: 'cst_jti', value: token.claims.jti });
  if (token?.claims.nonce) consume.push({ kind: 'cst_nonce', value: token.claims.nonce });
  return consume;
}

function replay({ input }: RuleInput, consume: readonly ConsumableId[]): Check[] {
  const change = input.change;
  const replayContext = change?.pullRequest
    ? { repoFullName: change.repoFullName, pullRequestId: change.pullRequest.id }
    : undefined;
  return checkReplay(consume, input.consumed, replayContext);
}

function revocation({ input, bundle }: RuleInput, token: ParsedScopedToken | undefined): Check[] {
  const revoked: Check[] = [];
  if (input.revocations.agentDids.includes(bundle.agentDid))
    revoked.push({
      rule: 'profile.revocation',
      outcome: 'fail',
      code: 'REVOKED_AGENT',
      subject: { kind: 'bundle', id: bundle.agentDid },
    });
  if (token?.claims.jti && input.revocations.cstJtis.includes(token.claims.jti))
    revoked.push({
      rule: 'profile.revocation',
      outcome: 'fail',
      code: 'REVOKED_TOKEN',
      subject: { kind: 'token', id: token.claims.jti },
    });
  if (input.revocations.bundleIds.includes(bundle.bundleId))
    revoked.push({
      rule: 'profile.revocation',
      outcome: 'fail',
      code: 'REVOKED_BUNDLE',
      subject: { kind: 'bundle', id: bundle.bundleId },
    });
  return revoked.length ? revoked : [pass('profile.revocation')];
}

/** Binding to this PR: the signed metadata names the workspace, repo and the agent's work commit. */
function prBinding({ bundle }: RuleInput, change: ChangeSet): Check[] {
  const binding = bitbucketBinding(bundle.metadata);
  const sameRepo =
    binding?.workspace?.toLowerCase() === change.workspace.toLowerCase() &&
    binding?.repoSlug?.toLowerCase() === change.repoSlug.toLowerCase();
  const declared = change.pullRequest?.declaredBundleIds ?? [];
  if (!binding || !sameRepo) {
    return [
      {
        rule: 'profile.pr_binding',
        outcome: 'fail',
        code: 'BUNDLE_BINDING_MISMATCH',
        subject: { kind: 'bundle', id: bundle.bundleId },
        evidence: evidenceObject({ signed: binding ?? null, repository: change.repoFullName }),
      },
    ];
  }
  if (declared.length > 0 && !declared.includes(bundle.bundleId))
    return [
      {
        rule: 'profile.pr_binding',
        outcome: 'fail',
        code: 'BUNDLE_BINDING_MISMATCH',
        subject: { kind: 'bundle', id: bundle.bundleId },
        evidence: { declared },
      },
    ];
  if (!binding.commit || !change.commits.some((c) => c.hash.toLowerCase() === binding.commit?.toLowerCase())) {
    return [
      {
        rule: 'profile.pr_binding',
        outcome: 'fail',
        code: 'BUNDLE_COMMIT_NOT_IN_PR',
        subject: { kind: 'commit', id: binding.commit ?? '' },
      },
    ];
  }
  return [pass('profile.pr_binding', { commit: binding.commit })];
}

/** The PR's author, when registered as an agent identity, is this agent with write access. */
function agentIdentity({ bundle }: RuleInput, change: ChangeSet): Check[] {
  const identity = change.actor.agentIdentity;
  if (!identity) return [skip('profile.agent_identity', 'author_not_registered')];
  if (identity.agentDid !== undefined && identity.agentDid !== bundle.agentDid) {
    return [
      {
        rule: 'profile.agent_identity',
        outcome: 'fail',
        code: 'AGENT_DID_MISMATCH',
        subject: { kind: 'actor', id: change.actor.accountId },
        evidence: { registered: identity.agentDid, bundle: bundle.agentDid },
      },
    ];
  }
  if (identity.role !== 'write')
    return [
      {
        rule: 'profile.agent_identity',
        outcome: 'fail',
        code: 'AGENT_ROLE_INSUFFICIENT',
        subject: { kind: 'actor', id: change.actor.accountId },
        evidence: { role: identity.role, action: change.action },
      },
    ];
  return [pass('profile.agent_identity', { role: identity.role })];
}

/**
 * The clawgate profile (docs/clawsig-profile.md), applied after protocol verification succeeded: one function per
 * rule above, run in this order. Each rule has its own reason code; receipts failing a rule fail one
 * check each, so a reader sees which receipt.
 */
export function evaluateProfile(input: ProfileInput): ProfileOutput {
  const bundle = input.protocol.bundle;
  if (!bundle) return { checks: [], consume: [], tokenSignatureVerified: null };
  const rule: RuleInput = { input, protocol: input.protocol, bundle };
  const checks: Check[] = [
    ...signerIsAgent(rule),
    ...gatewayReceipts(rule),
    ...receiptPolicyHash(rule),
    ...missingOrUnreadableToken(input),
  ];

  const token = input.token?.ok ? input.token.token : undefined;
  let tokenSignatureVerified: boolean | null = null;
  if (token) {
    const tokenRule: TokenRuleInput = { ...rule, token };
    const signature = cstSignature(tokenRule);
    tokenSignatureVerified = signature.verified;
    checks.push(
      ...cstScopeHash(tokenRule),
      ...receiptTokenScope(tokenRule),
      ...signature.checks,
      ...cstSubject(tokenRule),
      ...cstPolicyPin(tokenRule),
      ...cstTtl(tokenRule),
      ...cstValidityWindow(tokenRule),
      ...cstMission(tokenRule),
    );
  }

  const consume = consumableIds(rule, token);
  checks.push(...replay(rule, consume), ...revocation(rule, token));
  if (input.change) checks.push(...prBinding(rule, input.change), ...agentIdentity(rule, input.change));
  else checks.push(skip('profile.pr_binding', 'no_change'), skip('profile.agent_identity', 'no_change'));
  return { checks, consume, tokenSignatureVerified };
}
