import { checkReplay, type ConsumableId, type ConsumedId } from './anti-replay';
import type { Check, RuleId } from './check';
import { isJsonObject, stringOrUndefined, type JsonObject } from './clawsig/json';
import { parseTimestamp } from './clawsig/rfc3339';
import { verifyScopedTokenSignature, type CstIssuerKey, type ParsedScopedToken, type ScopedTokenParse } from './clawsig/scoped-token';
import type { ProofBundleResult } from './clawsig/verify-proof-bundle';
import { evidenceObject } from './evidence';
import { missionMatches } from './mission-pattern';
import type { ChangeSet } from './policy/change-set';

export interface ProfileInput {
  protocol: ProofBundleResult;
  /** Parsed CST, a parse failure, or undefined when none was supplied. */
  token: ScopedTokenParse | undefined;
  cstIssuers: readonly CstIssuerKey[];
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

const pass = (rule: RuleId, evidence?: { [key: string]: unknown }): Check => ({ rule, outcome: 'pass', code: 'OK', ...(evidence ? { evidence: evidenceObject(evidence) } : {}) });
const skip = (rule: RuleId, reason: string): Check => ({ rule, outcome: 'skip', code: 'OK', evidence: { reason } });

/** The Bitbucket binding the agent signed: payload.metadata.bitbucket (design §5). */
export function bitbucketBinding(metadata: JsonObject | undefined): { workspace?: string; repoSlug?: string; commit?: string; branch?: string } | undefined {
  const binding = metadata && isJsonObject(metadata.bitbucket) ? metadata.bitbucket : undefined;
  if (!binding) return undefined;
  return {
    workspace: stringOrUndefined(binding.workspace),
    repoSlug: stringOrUndefined(binding.repo_slug),
    commit: stringOrUndefined(binding.commit),
    branch: stringOrUndefined(binding.branch),
  };
}

/**
 * The clawgate profile (design §6), applied after protocol verification succeeded. Each rule has its
 * own reason code; receipts failing a rule fail one check each, so a reader sees which receipt.
 */
export function evaluateProfile(input: ProfileInput): ProfileOutput {
  const checks: Check[] = [];
  const { protocol, change } = input;
  const bundle = protocol.bundle;
  if (!bundle) return { checks, consume: [], tokenSignatureVerified: null };

  checks.push(pass('profile.signer_is_agent', { agent_did: bundle.agentDid }));

  // Every gateway receipt: signature-valid, trusted, bound — not only those the protocol counts.
  const receiptChecks: Check[] = [];
  for (const receipt of protocol.gatewayReceipts) {
    const subject = { kind: 'gateway_receipt' as const, id: receipt.receiptId ?? `#${receipt.index}`, path: `payload.receipts[${receipt.index}]` };
    const evidence = evidenceObject({ signer_did: receipt.signerDid, reason: receipt.code });
    if (!receipt.trusted) receiptChecks.push({ rule: 'profile.gateway_receipts', outcome: 'fail', code: 'GATEWAY_RECEIPT_UNTRUSTED', subject, evidence });
    else if (!receipt.signatureValid) receiptChecks.push({ rule: 'profile.gateway_receipts', outcome: 'fail', code: 'GATEWAY_RECEIPT_SIGNATURE_INVALID', subject, evidence });
    else if (!receipt.bound) receiptChecks.push({ rule: 'profile.gateway_receipts', outcome: 'fail', code: 'GATEWAY_RECEIPT_UNBOUND', subject, evidence });
  }
  // Each receipt once: a duplicate inflates the evidence (the protocol tolerates identical copies).
  const receiptIds = new Set<string>();
  for (const receipt of protocol.gatewayReceipts) {
    if (!receipt.receiptId) continue;
    if (receiptIds.has(receipt.receiptId)) {
      receiptChecks.push({ rule: 'profile.gateway_receipts', outcome: 'fail', code: 'GATEWAY_RECEIPT_DUPLICATE', subject: { kind: 'gateway_receipt', id: receipt.receiptId, path: `payload.receipts[${receipt.index}]` } });
    }
    receiptIds.add(receipt.receiptId);
  }
  // Every model call the agent logged must be receipted by a gateway: a dropped receipt leaves its
  // llm_call event behind, and removing the event breaks the chain and the later bindings.
  const boundEvents = new Set(protocol.gatewayReceipts.filter((r) => r.bound).map((r) => r.binding?.eventHash));
  for (const event of bundle.events) {
    if (event.eventType === 'llm_call' && !boundEvents.has(event.eventHash)) {
      receiptChecks.push({ rule: 'profile.gateway_receipts', outcome: 'fail', code: 'UNRECEIPTED_MODEL_CALL', subject: { kind: 'event', id: event.eventId } });
    }
  }
  checks.push(...(receiptChecks.length ? receiptChecks : [pass('profile.gateway_receipts', { receipts: protocol.gatewayReceipts.length })]));

  // Receipts carry the WPC hash they were issued under.
  if (input.policyHash !== undefined) {
    const bad = protocol.gatewayReceipts.filter((r) => r.binding?.policyHash !== input.policyHash);
    checks.push(
      ...(bad.length
        ? bad.map((r): Check => ({
            rule: 'profile.receipt_policy_hash',
            outcome: 'fail',
            code: 'RECEIPT_POLICY_HASH_MISMATCH',
            subject: { kind: 'gateway_receipt', id: r.receiptId ?? `#${r.index}` },
            evidence: evidenceObject({ expected: input.policyHash, actual: r.binding?.policyHash ?? null }),
          }))
        : [pass('profile.receipt_policy_hash', { policy_hash: input.policyHash })]),
    );
  } else {
    checks.push(skip('profile.receipt_policy_hash', 'no_policy'));
  }

  // The scoped token.
  let tokenSignatureVerified: boolean | null = null;
  let token: ParsedScopedToken | undefined;
  const tokenRules: RuleId[] = ['profile.receipt_token_scope', 'profile.cst_signature', 'profile.cst_subject', 'profile.cst_policy_pin', 'profile.cst_ttl', 'profile.cst_validity_window', 'profile.cst_mission'];
  if (input.token === undefined) {
    if (input.requireToken) checks.push({ rule: 'profile.cst', outcome: 'fail', code: 'CST_MISSING', subject: { kind: 'token' } });
    else checks.push(skip('profile.cst', 'no_token'));
    for (const rule of tokenRules) checks.push(skip(rule, 'no_token'));
  } else if (!input.token.ok) {
    checks.push({ rule: 'profile.cst', outcome: 'fail', code: input.token.code, subject: { kind: 'token', path: input.token.path } });
    for (const rule of tokenRules) checks.push(skip(rule, 'token_unreadable'));
  } else {
    const parsed = input.token.token;
    token = parsed;
    const claims = parsed.claims;
    const claimedScopeHash = claims.token_scope_hash_b64u;
    checks.push(
      claimedScopeHash !== undefined && claimedScopeHash !== token.scopeHash
        ? { rule: 'profile.cst', outcome: 'fail', code: 'CST_SCOPE_HASH_MISMATCH', subject: { kind: 'token' }, evidence: { claimed: claimedScopeHash, recomputed: token.scopeHash } }
        : pass('profile.cst', { scope_hash: token.scopeHash }),
    );

    const badScope = protocol.gatewayReceipts.filter((r) => r.binding?.tokenScopeHash !== parsed.scopeHash);
    checks.push(
      ...(badScope.length
        ? badScope.map((r): Check => ({
            rule: 'profile.receipt_token_scope',
            outcome: 'fail',
            code: 'RECEIPT_TOKEN_SCOPE_MISMATCH',
            subject: { kind: 'gateway_receipt', id: r.receiptId ?? `#${r.index}` },
            evidence: evidenceObject({ expected: parsed.scopeHash, actual: r.binding?.tokenScopeHash ?? null }),
          }))
        : [pass('profile.receipt_token_scope', { scope_hash: token.scopeHash })]),
    );

    if (token.compact && input.cstIssuers.length > 0) {
      tokenSignatureVerified = verifyScopedTokenSignature(token, input.cstIssuers);
      checks.push(tokenSignatureVerified ? pass('profile.cst_signature') : { rule: 'profile.cst_signature', outcome: 'fail', code: 'CST_SIGNATURE_INVALID', subject: { kind: 'token' } });
    } else if (!token.compact && input.cstIssuers.length > 0) {
      tokenSignatureVerified = false;
      checks.push({ rule: 'profile.cst_signature', outcome: 'fail', code: 'CST_SIGNATURE_REQUIRED', subject: { kind: 'token' } });
    } else {
      checks.push(skip('profile.cst_signature', token.compact ? 'no_issuer_key' : 'claims_only'));
    }

    const subjectOk = claims.sub === bundle.agentDid && (claims.agent_did === undefined || claims.agent_did === bundle.agentDid);
    checks.push(
      subjectOk
        ? pass('profile.cst_subject')
        : { rule: 'profile.cst_subject', outcome: 'fail', code: 'CST_SUBJECT_MISMATCH', subject: { kind: 'token' }, evidence: evidenceObject({ sub: claims.sub, agent_did: bundle.agentDid }) },
    );

    if (input.policyHash !== undefined) {
      checks.push(
        claims.policy_hash_b64u === input.policyHash
          ? pass('profile.cst_policy_pin')
          : { rule: 'profile.cst_policy_pin', outcome: 'fail', code: 'CST_POLICY_PIN_MISMATCH', subject: { kind: 'token' }, evidence: evidenceObject({ expected: input.policyHash, pinned: claims.policy_hash_b64u ?? null }) },
      );
    } else {
      checks.push(skip('profile.cst_policy_pin', 'no_policy'));
    }

    const ttl = claims.exp - claims.iat;
    checks.push(
      ttl > 0 && ttl <= input.maxCstTtlSeconds
        ? pass('profile.cst_ttl', { ttl_seconds: ttl })
        : { rule: 'profile.cst_ttl', outcome: 'fail', code: 'CST_TTL_TOO_LONG', subject: { kind: 'token' }, evidence: { ttl_seconds: ttl, max_seconds: input.maxCstTtlSeconds } },
    );

    const outside = protocol.gatewayReceipts.filter((r) => {
      const at = parseTimestamp(r.timestamp);
      return at === null || at < claims.iat * 1000 || at > claims.exp * 1000;
    });
    checks.push(
      ...(outside.length
        ? outside.map((r): Check => ({
            rule: 'profile.cst_validity_window',
            outcome: 'fail',
            code: 'RECEIPT_OUTSIDE_CST_VALIDITY',
            subject: { kind: 'gateway_receipt', id: r.receiptId ?? `#${r.index}` },
            evidence: evidenceObject({ timestamp: r.timestamp ?? null, iat: claims.iat, exp: claims.exp }),
          }))
        : [pass('profile.cst_validity_window', { iat: claims.iat, exp: claims.exp })]),
    );

    // mission_id is opaque unless the workspace opted into a pattern (design §6, revised 2026-12).
    const pattern = input.missionIdPattern;
    if (claims.mission_id === undefined) checks.push(pattern === undefined ? skip('profile.cst_mission', 'no_mission') : { rule: 'profile.cst_mission', outcome: 'fail', code: 'CST_MISSION_MISMATCH', subject: { kind: 'token' }, evidence: { mission_id: null, pattern } });
    else if (pattern === undefined) checks.push(pass('profile.cst_mission', { mission_id: claims.mission_id, opaque: true }));
    else if (!change) checks.push(skip('profile.cst_mission', 'no_change'));
    else
      checks.push(
        missionMatches(pattern, claims.mission_id, change)
          ? pass('profile.cst_mission', { mission_id: claims.mission_id, pattern })
          : { rule: 'profile.cst_mission', outcome: 'fail', code: 'CST_MISSION_MISMATCH', subject: { kind: 'token' }, evidence: { mission_id: claims.mission_id, pattern, repository: change.repoFullName } },
      );
  }

  // Anti-replay over every id the bundle and token present.
  const consume: ConsumableId[] = [{ kind: 'bundle_id', value: bundle.bundleId }];
  if (bundle.runId) consume.push({ kind: 'run_id', value: bundle.runId });
  for (const r of protocol.gatewayReceipts) if (r.receiptId) consume.push({ kind: 'receipt_id', value: r.receiptId });
  if (token?.claims.jti) consume.push({ kind: 'cst_jti', value: token.claims.jti });
  if (token?.claims.nonce) consume.push({ kind: 'cst_nonce', value: token.claims.nonce });
  const replayContext = change?.pullRequest ? { repoFullName: change.repoFullName, pullRequestId: change.pullRequest.id } : undefined;
  checks.push(...checkReplay(consume, input.consumed, replayContext));

  // Revocations.
  const revoked: Check[] = [];
  if (input.revocations.agentDids.includes(bundle.agentDid)) revoked.push({ rule: 'profile.revocation', outcome: 'fail', code: 'REVOKED_AGENT', subject: { kind: 'bundle', id: bundle.agentDid } });
  if (token?.claims.jti && input.revocations.cstJtis.includes(token.claims.jti)) revoked.push({ rule: 'profile.revocation', outcome: 'fail', code: 'REVOKED_TOKEN', subject: { kind: 'token', id: token.claims.jti } });
  if (input.revocations.bundleIds.includes(bundle.bundleId)) revoked.push({ rule: 'profile.revocation', outcome: 'fail', code: 'REVOKED_BUNDLE', subject: { kind: 'bundle', id: bundle.bundleId } });
  checks.push(...(revoked.length ? revoked : [pass('profile.revocation')]));

  // Binding to this PR: the signed metadata names the workspace, repo and the agent's work commit.
  if (change) {
    const binding = bitbucketBinding(bundle.metadata);
    const sameRepo =
      binding?.workspace?.toLowerCase() === change.workspace.toLowerCase() && binding?.repoSlug?.toLowerCase() === change.repoSlug.toLowerCase();
    const declared = change.pullRequest?.declaredBundleIds ?? [];
    if (!binding || !sameRepo) {
      checks.push({ rule: 'profile.pr_binding', outcome: 'fail', code: 'BUNDLE_BINDING_MISMATCH', subject: { kind: 'bundle', id: bundle.bundleId }, evidence: evidenceObject({ signed: binding ?? null, repository: change.repoFullName }) });
    } else if (declared.length > 0 && !declared.includes(bundle.bundleId)) {
      checks.push({ rule: 'profile.pr_binding', outcome: 'fail', code: 'BUNDLE_BINDING_MISMATCH', subject: { kind: 'bundle', id: bundle.bundleId }, evidence: { declared } });
    } else if (!binding.commit || !change.commits.some((c) => c.hash.toLowerCase() === binding.commit?.toLowerCase())) {
      checks.push({ rule: 'profile.pr_binding', outcome: 'fail', code: 'BUNDLE_COMMIT_NOT_IN_PR', subject: { kind: 'commit', id: binding.commit ?? '' } });
    } else {
      checks.push(pass('profile.pr_binding', { commit: binding.commit }));
    }

    const identity = change.actor.agentIdentity;
    if (!identity) checks.push(skip('profile.agent_identity', 'author_not_registered'));
    else if (identity.agentDid !== undefined && identity.agentDid !== bundle.agentDid)
      checks.push({ rule: 'profile.agent_identity', outcome: 'fail', code: 'AGENT_DID_MISMATCH', subject: { kind: 'actor', id: change.actor.accountId }, evidence: { registered: identity.agentDid, bundle: bundle.agentDid } });
    else if (identity.role !== 'write')
      checks.push({ rule: 'profile.agent_identity', outcome: 'fail', code: 'AGENT_ROLE_INSUFFICIENT', subject: { kind: 'actor', id: change.actor.accountId }, evidence: { role: identity.role, action: change.action } });
    else checks.push(pass('profile.agent_identity', { role: identity.role }));
  } else {
    checks.push(skip('profile.pr_binding', 'no_change'), skip('profile.agent_identity', 'no_change'));
  }

  return { checks, consume, tokenSignatureVerified };
}
