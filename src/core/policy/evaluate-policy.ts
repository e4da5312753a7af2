import { RULES, type Check, type JsonValue } from '../check';
import type { ChangeSet, IdentityRole } from './change-set';
import { bitbucketWpcHash, type BitbucketWpc } from './bitbucket-wpc';
import { compileClawsigGlob } from './clawsig-glob';
import { compileDenyGlobs } from './deny-globs';
import { fileProvenance, type Provenance } from './file-provenance';
import { normalizeRepoPath, repoPathKey } from './repo-path';
import { scopeProblems } from './scope-privilege';

/** One gateway receipt as the policy sees it; `counted` is decided by the verifier. */
export interface PolicyGatewayReceipt {
  receiptId: string;
  provider: string;
  model: string;
  /** Signature-valid, from a trusted gateway, bound to the bundle's run and chain. */
  counted: boolean;
}

/** What verification established about the evidence, as input to the policy. */
export interface PolicyFacts {
  bundlePresent: boolean;
  gatewayReceipts: PolicyGatewayReceipt[];
  /** The CST's scopes; undefined = no CST known. */
  cstScopes?: string[];
  /** The bundle's work commit (40-hex), per the Bitbucket profile; undefined = none. */
  attestedCommit?: string;
}

type Evidence = { [key: string]: JsonValue };

/**
 * Evaluate every clause of the WPC (docs/policy.md) against a change. Returns one check per violation
 * (per file, per receipt, per scope…), one `pass` per clause that holds, and a `skip` per clause the
 * policy switches off, so a reader sees every criterion. Ordered by RULES, then subject id.
 */
export function evaluatePolicy(wpc: BitbucketWpc, change: ChangeSet, facts: PolicyFacts): Check[] {
  const checks: Check[] = [
    ...policyCheck(wpc),
    ...reposAllowlistChecks(wpc, change),
    ...writeActionChecks(wpc, change),
    ...pathChecks(wpc, change, facts),
    ...leastPrivilegeChecks(wpc, facts),
    ...identitySeparationChecks(wpc, change),
    ...attestationChecks(wpc, facts),
    ...modelChecks(wpc, facts),
    ...approvalChecks(wpc, change),
  ];
  return sortChecks(checks);
}

function policyCheck(wpc: BitbucketWpc): Check[] {
  const evidence: Evidence = { policy_hash_b64u: bitbucketWpcHash(wpc), tool: wpc.tool };
  if (wpc.policy_id !== undefined) evidence.policy_id = wpc.policy_id;
  return [
    {
      rule: 'policy.wpc',
      outcome: 'pass',
      code: 'OK',
      subject: { kind: 'policy', id: evidence.policy_hash_b64u as string },
      evidence,
    },
  ];
}

/**
 * Exact `workspace/repo_slug`, compared case-insensitively (Bitbucket slugs are). Both the pair the
 * surface reported and its full name must be listed, so a disagreement between them cannot slip by.
 */
function reposAllowlistChecks(wpc: BitbucketWpc, change: ChangeSet): Check[] {
  const clause = 'policy.repos_allowlist';
  const allowed = new Set(wpc.policy.repos_allowlist.map((r) => r.toLowerCase()));
  const names = [change.repoFullName, `${change.workspace}/${change.repoSlug}`];
  const failing = names.filter(
    (n, i) => !allowed.has(n.toLowerCase()) && names.findIndex((m) => m.toLowerCase() === n.toLowerCase()) === i,
  );
  if (failing.length === 0)
    return [
      {
        rule: clause,
        outcome: 'pass',
        code: 'OK',
        subject: { kind: 'repository', id: change.repoFullName },
        evidence: { clause },
      },
    ];
  return failing.map((repo) => ({
    rule: clause,
    outcome: 'fail',
    code: 'REPO_NOT_ALLOWED',
    subject: { kind: 'repository', id: repo },
    evidence: { clause, repo },
  }));
}

/** Deny wins; an action in neither list is not allowed (default deny). */
function writeActionChecks(wpc: BitbucketWpc, change: ChangeSet): Check[] {
  const clause = 'policy.write';
  const subject = { kind: 'action' as const, id: change.action };
  if (wpc.policy.write.deny.includes(change.action))
    return [
      {
        rule: 'policy.write_actions',
        outcome: 'fail',
        code: 'ACTION_DENIED',
        subject,
        evidence: { clause: 'policy.write.deny', action: change.action },
      },
    ];
  if (!wpc.policy.write.allow.includes(change.action))
    return [
      {
        rule: 'policy.write_actions',
        outcome: 'fail',
        code: 'ACTION_NOT_ALLOWED',
        subject,
        evidence: { clause: 'policy.write.allow', action: change.action },
      },
    ];
  return [
    { rule: 'policy.write_actions', outcome: 'pass', code: 'OK', subject, evidence: { clause, action: change.action } },
  ];
}

/**
 * Every changed path is matched: added, modified, removed (its old path), and both sides of a rename.
 * One failing check per (path, side), pinned to the file for an annotation.
 */
function pathChecks(wpc: BitbucketWpc, change: ChangeSet, facts: PolicyFacts): Check[] {
  const clause = 'policy.paths.deny_globs';
  const matcher = compileDenyGlobs(wpc.policy.paths.deny_globs);
  const provenance = fileProvenance(change, facts.attestedCommit);
  const seen = new Set<string>();
  const checks: Check[] = [];
  change.files.forEach((file, index) => {
    // A removal has only an old side; anything else has a new side and, when the old path differs
    // (renames), an old side too.
    const sides: { path: string; side: 'new' | 'old' }[] = [
      { path: file.path, side: file.status === 'removed' ? 'old' : 'new' },
    ];
    if (file.oldPath !== undefined && repoPathKey(file.oldPath) !== repoPathKey(file.path))
      sides.push({ path: file.oldPath, side: 'old' });
    for (const { path, side } of sides) {
      const normalized = normalizeRepoPath(path);
      const key = `${side}\u0000${normalized.toLowerCase()}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const hit = matcher.match(path);
      if (hit === undefined) continue;
      const evidence: Evidence = {
        clause,
        glob: hit.glob,
        globs: hit.globs,
        status: file.status,
        side,
        provenance: (provenance[index]?.provenance ?? 'unattested') satisfies Provenance,
      };
      if (hit.matched !== normalized) evidence.matched_directory = hit.matched;
      if (normalized !== path) evidence.path_as_given = path;
      if (sides.length > 1) {
        if (path === file.path) evidence.renamed_from = file.oldPath ?? null;
        else evidence.renamed_to = file.path;
      }
      checks.push({
        rule: 'policy.paths',
        outcome: 'fail',
        code: 'PATH_DENIED',
        subject: { kind: 'file', id: normalized },
        evidence,
      });
    }
  });
  if (checks.length > 0) return checks;
  return [
    {
      rule: 'policy.paths',
      outcome: 'pass',
      code: 'OK',
      evidence: { clause, globs: wpc.policy.paths.deny_globs.length, paths_checked: seen.size },
    },
  ];
}

/** No wildcard and no admin scope in the CST; no CST known while required fails closed (CST_MISSING). */
function leastPrivilegeChecks(wpc: BitbucketWpc, facts: PolicyFacts): Check[] {
  const clause = 'policy.auth.least_privilege_scopes_required';
  if (!wpc.policy.auth.least_privilege_scopes_required)
    return [{ rule: 'policy.auth', outcome: 'skip', code: 'OK', evidence: { clause, required: false } }];
  if (facts.cstScopes === undefined)
    return [
      { rule: 'policy.auth', outcome: 'fail', code: 'CST_MISSING', subject: { kind: 'token' }, evidence: { clause } },
    ];
  const checks: Check[] = [];
  for (const scope of [...new Set(facts.cstScopes)]) {
    const problems = scopeProblems(scope);
    if (problems.length > 0)
      checks.push({
        rule: 'policy.auth',
        outcome: 'fail',
        code: 'SCOPE_NOT_LEAST_PRIVILEGE',
        subject: { kind: 'token', id: scope },
        evidence: { clause, scope, problems },
      });
  }
  if (checks.length > 0) return checks;
  return [
    {
      rule: 'policy.auth',
      outcome: 'pass',
      code: 'OK',
      subject: { kind: 'token' },
      evidence: { clause, scopes: [...facts.cstScopes] },
    },
  ];
}

const accountKey = (accountId: string) => accountId.trim().toLowerCase();

/**
 * The actor must be a registered write identity and not also a read identity; no registered account
 * may hold both roles. Account ids compare trimmed and case-insensitively (UUIDs and account ids are
 * case-insensitive hex forms), so a re-spelled id cannot register one account twice.
 */
function identitySeparationChecks(wpc: BitbucketWpc, change: ChangeSet): Check[] {
  const clause = 'policy.auth.separate_identities_for_read_vs_write';
  if (!wpc.policy.auth.separate_identities_for_read_vs_write)
    return [{ rule: 'policy.auth', outcome: 'skip', code: 'OK', evidence: { clause, required: false } }];

  const roles = new Map<string, Set<IdentityRole>>();
  const addRole = (accountId: string, role: IdentityRole) => {
    const key = accountKey(accountId);
    roles.set(key, (roles.get(key) ?? new Set<IdentityRole>()).add(role));
  };
  for (const identity of change.agentIdentities ?? []) addRole(identity.accountId, identity.role);
  if (change.actor.agentIdentity !== undefined) addRole(change.actor.accountId, change.actor.agentIdentity.role);

  const actorKey = accountKey(change.actor.accountId);
  const actorRoles = roles.get(actorKey) ?? new Set<IdentityRole>();
  const fail = (accountId: string, problem: string): Check => ({
    rule: 'policy.auth',
    outcome: 'fail',
    code: 'IDENTITIES_NOT_SEPARATED',
    subject: { kind: 'actor', id: accountId },
    evidence: { clause, problem },
  });
  const checks: Check[] = [];
  if (!actorRoles.has('write')) checks.push(fail(change.actor.accountId, 'actor_not_write_identity'));
  if (actorRoles.has('read')) checks.push(fail(change.actor.accountId, 'actor_is_read_identity'));
  const reported = new Set([actorKey]);
  for (const identity of change.agentIdentities ?? []) {
    const key = accountKey(identity.accountId);
    if (reported.has(key)) continue;
    const held = roles.get(key);
    if (held?.has('read') && held.has('write')) {
      reported.add(key);
      checks.push(fail(identity.accountId, 'account_has_both_roles'));
    }
  }
  if (checks.length > 0) return checks;
  const readIdentities = [...roles.values()].filter((r) => r.has('read')).length;
  return [
    {
      rule: 'policy.auth',
      outcome: 'pass',
      code: 'OK',
      subject: { kind: 'actor', id: change.actor.accountId },
      evidence: { clause, read_identities: readIdentities },
    },
  ];
}

function attestationChecks(wpc: BitbucketWpc, facts: PolicyFacts): Check[] {
  const { emit_proof_bundle: bundleRequired, require_gateway_receipts: receiptsRequired } = wpc.policy.attestation;
  const checks: Check[] = [];
  const bundleClause = 'policy.attestation.emit_proof_bundle';
  if (!bundleRequired)
    checks.push({
      rule: 'policy.attestation',
      outcome: 'skip',
      code: 'OK',
      evidence: { clause: bundleClause, required: false },
    });
  else if (!facts.bundlePresent)
    checks.push({
      rule: 'policy.attestation',
      outcome: 'fail',
      code: 'BUNDLE_REQUIRED',
      subject: { kind: 'bundle' },
      evidence: { clause: bundleClause },
    });
  else
    checks.push({
      rule: 'policy.attestation',
      outcome: 'pass',
      code: 'OK',
      subject: { kind: 'bundle' },
      evidence: { clause: bundleClause },
    });

  const receiptsClause = 'policy.attestation.require_gateway_receipts';
  const counted = facts.gatewayReceipts.filter((r) => r.counted).length;
  const receiptEvidence = { clause: receiptsClause, counted, present: facts.gatewayReceipts.length };
  if (!receiptsRequired)
    checks.push({
      rule: 'policy.attestation',
      outcome: 'skip',
      code: 'OK',
      evidence: { clause: receiptsClause, required: false },
    });
  else if (counted === 0)
    checks.push({
      rule: 'policy.attestation',
      outcome: 'fail',
      code: 'GATEWAY_RECEIPTS_REQUIRED',
      subject: { kind: 'bundle' },
      evidence: receiptEvidence,
    });
  else
    checks.push({
      rule: 'policy.attestation',
      outcome: 'pass',
      code: 'OK',
      subject: { kind: 'bundle' },
      evidence: receiptEvidence,
    });
  return checks;
}

/**
 * `allowed_providers` and `allowed_models` against EVERY gateway receipt, counted or not (an
 * untrusted receipt still says what was called). Both lists must allow (AND). The reference's v1→v2
 * conversion makes them alternatives (provider OR model), under which `anthropic/llama-3` passes
 * `providers=[anthropic], models=[claude-*]`; a policy author listing both means both.
 */
function modelChecks(wpc: BitbucketWpc, facts: PolicyFacts): Check[] {
  const checks: Check[] = [];
  const receiptEvidence = (r: PolicyGatewayReceipt, clause: string): Evidence => ({
    clause,
    provider: r.provider,
    model: r.model,
    counted: r.counted,
  });
  const subject = (r: PolicyGatewayReceipt) => ({ kind: 'gateway_receipt' as const, id: r.receiptId });

  const providers = wpc.allowed_providers;
  if (providers === undefined)
    checks.push({
      rule: 'policy.models',
      outcome: 'skip',
      code: 'OK',
      evidence: { clause: 'allowed_providers', configured: false },
    });
  else {
    const allowed = new Set<string>(providers);
    const failing = facts.gatewayReceipts.filter((r) => !allowed.has(r.provider));
    for (const r of failing)
      checks.push({
        rule: 'policy.models',
        outcome: 'fail',
        code: 'PROVIDER_NOT_ALLOWED',
        subject: subject(r),
        evidence: receiptEvidence(r, 'allowed_providers'),
      });
    if (failing.length === 0)
      checks.push({
        rule: 'policy.models',
        outcome: 'pass',
        code: 'OK',
        evidence: { clause: 'allowed_providers', receipts_checked: facts.gatewayReceipts.length },
      });
  }

  const models = wpc.allowed_models;
  if (models === undefined)
    checks.push({
      rule: 'policy.models',
      outcome: 'skip',
      code: 'OK',
      evidence: { clause: 'allowed_models', configured: false },
    });
  else {
    const patterns = models.map(compileClawsigGlob);
    const failing = facts.gatewayReceipts.filter((r) => !patterns.some((re) => re.test(r.model)));
    for (const r of failing)
      checks.push({
        rule: 'policy.models',
        outcome: 'fail',
        code: 'MODEL_NOT_ALLOWED',
        subject: subject(r),
        evidence: receiptEvidence(r, 'allowed_models'),
      });
    if (failing.length === 0)
      checks.push({
        rule: 'policy.models',
        outcome: 'pass',
        code: 'OK',
        evidence: { clause: 'allowed_models', receipts_checked: facts.gatewayReceipts.length },
      });
  }
  return checks;
}

/**
 * Pending until someone who is not an agent identity approves. An approval does not count when the
 * surface flags the approver as an agent, when the approver is registered as an agent identity in
 * either role, or when the approver is the actor itself.
 */
function approvalChecks(wpc: BitbucketWpc, change: ChangeSet): Check[] {
  const clause = 'policy.write.approval_required';
  if (!wpc.policy.write.approval_required)
    return [{ rule: 'policy.approval', outcome: 'skip', code: 'OK', evidence: { clause, required: false } }];
  const agents = new Set((change.agentIdentities ?? []).map((i) => accountKey(i.accountId)));
  if (change.actor.agentIdentity !== undefined) agents.add(accountKey(change.actor.accountId));
  const actorKey = accountKey(change.actor.accountId);
  // Approvals count only when given after the current head was pushed (issue 9): an approval of an
  // earlier head does not cover what was pushed since. Unknown push time: none can be shown to count.
  const headPushedAtMs = change.pullRequest?.headPushedAtMs;
  const afterHead = (a: ChangeSet['approvals'][number]) =>
    headPushedAtMs === undefined || (headPushedAtMs !== null && a.atMs !== undefined && a.atMs >= headPushedAtMs);
  const byHumans = change.approvals.filter(
    (a) => !a.isAgentIdentity && !agents.has(accountKey(a.accountId)) && accountKey(a.accountId) !== actorKey,
  );
  const counting = byHumans.filter(afterHead);
  const subject =
    change.pullRequest === undefined
      ? { kind: 'pull_request' as const }
      : { kind: 'pull_request' as const, id: String(change.pullRequest.id) };
  if (counting.length === 0) {
    const stale = byHumans.length - counting.length;
    return [
      {
        rule: 'policy.approval',
        outcome: 'pending',
        code: 'APPROVAL_REQUIRED',
        subject,
        evidence: {
          clause,
          approvals: change.approvals.length,
          counted: 0,
          ...(stale > 0 ? { before_head_push: stale } : {}),
        },
      },
    ];
  }
  return [
    {
      rule: 'policy.approval',
      outcome: 'pass',
      code: 'OK',
      subject,
      evidence: {
        clause,
        approvals: change.approvals.length,
        counted: counting.length,
        approvers: counting.map((a) => a.accountId),
      },
    },
  ];
}

/** RULES order, then subject id (code-unit order, locale-free); ties keep emission order. */
function sortChecks(checks: Check[]): Check[] {
  const ruleIndex = (c: Check) => (RULES as readonly string[]).indexOf(c.rule);
  return checks
    .map((check, index) => ({ check, index }))
    .sort((a, b) => {
      const byRule = ruleIndex(a.check) - ruleIndex(b.check);
      if (byRule !== 0) return byRule;
      const ida = a.check.subject?.id ?? '';
      const idb = b.check.subject?.id ?? '';
      if (ida !== idb) return ida < idb ? -1 : 1;
      return a.index - b.index;
    })
    .map(({ check }) => check);
}
