import type { Check, JsonValue } from '../check';
import type { BitbucketWpc } from './bitbucket-wpc';
import type { ChangeSet } from './change-set';
import { evaluatePolicy, type PolicyFacts } from './evaluate-policy';
import { normalizeRepoPath } from './repo-path';
import type { OfficialWpcFacts } from './wpc-forms';
import { evaluateStatements, statementIsEvaluated, type WpcContext } from './wpc-v2';

/** A WPC as the engine holds it: the effective Bitbucket clauses, the hash, and what its form adds. */
export interface EnginePolicy {
  wpc: BitbucketWpc;
  hash: string;
  /** Absent for callers that only know the Bitbucket shape (treated as `form: bitbucket`). */
  official?: OfficialWpcFacts;
}

export interface WpcFacts extends PolicyFacts {
  /** The verified bundle's agent DID (v2 context `Agent:DID`). */
  agentDid?: string;
}

type Evidence = { [key: string]: JsonValue };

const BITBUCKET_CLAUSE_RULES = new Set([
  'policy.repos_allowlist',
  'policy.write_actions',
  'policy.paths',
  'policy.auth',
  'policy.attestation',
  'policy.approval',
]);

/**
 * Every clause of a WPC of any form against a change (docs/policy.md): the Bitbucket clauses
 * (evaluate-policy.ts), then what the official forms add — the form and signer on `policy.wpc`,
 * each v1/v2 field clawgate cannot enforce reported as such, and the v2 statements over the
 * Bitbucket action vocabulary (`bitbucket:<action>` on the repository, `bitbucket:write_path` on
 * every changed path, `model:invoke` on every gateway receipt's model).
 */
export function evaluateWpc(policy: EnginePolicy, change: ChangeSet, facts: WpcFacts): Check[] {
  const official: OfficialWpcFacts = policy.official ?? {
    form: 'bitbucket',
    bitbucketClauses: 'document',
    unenforceable: [],
  };
  const defaults = official.bitbucketClauses === 'defaults';
  const checks: Check[] = [];
  for (const check of evaluatePolicy(policy.wpc, change, facts)) {
    if (check.rule === 'policy.wpc') continue;
    if (defaults && check.rule === 'policy.repos_allowlist') continue;
    checks.push(
      defaults && BITBUCKET_CLAUSE_RULES.has(check.rule)
        ? { ...check, evidence: { ...(check.evidence ?? {}), clause_source: 'clawgate_default' } }
        : check,
    );
  }

  const wpcEvidence: Evidence = {
    policy_hash_b64u: policy.hash,
    form: official.form,
    signed: official.signerDid !== undefined,
    bitbucket_clauses: official.bitbucketClauses,
  };
  if (official.signerDid !== undefined) wpcEvidence.signer_did = official.signerDid;
  if (policy.wpc.policy_id !== undefined) wpcEvidence.policy_id = policy.wpc.policy_id;
  checks.push({
    rule: 'policy.wpc',
    outcome: 'pass',
    code: 'OK',
    subject: { kind: 'policy', id: policy.hash },
    evidence: wpcEvidence,
  });
  if (defaults) {
    checks.push({
      rule: 'policy.repos_allowlist',
      outcome: 'skip',
      code: 'OK',
      subject: { kind: 'repository', id: change.repoFullName },
      evidence: { clause: 'policy.repos_allowlist', clause_source: 'assignment' },
    });
  }
  for (const field of official.unenforceable) {
    checks.push({
      rule: 'policy.wpc',
      outcome: 'skip',
      code: 'OK',
      subject: { kind: 'policy', id: field },
      evidence: { clause: field, enforceable: false, reason: 'not_enforceable_on_bitbucket' },
    });
  }
  if (official.statements) checks.push(...statementChecks(official, change, facts));
  return checks;
}

function statementChecks(official: OfficialWpcFacts, change: ChangeSet, facts: WpcFacts): Check[] {
  const statements = official.statements ?? [];
  const checks: Check[] = [];
  for (const statement of statements) {
    if (!statementIsEvaluated(statement)) {
      checks.push({
        rule: 'policy.wpc',
        outcome: 'skip',
        code: 'OK',
        subject: { kind: 'policy', id: statement.sid },
        evidence: {
          clause: `statements[${statement.sid}]`,
          actions: statement.actions,
          enforceable: false,
          reason: 'not_enforceable_on_bitbucket',
        },
      });
    }
  }
  const base: Record<string, string | undefined> = {
    'Agent:DID': facts.agentDid,
    'Bitbucket:Repository': change.repoFullName,
    'Bitbucket:Workspace': change.workspace,
    'Bitbucket:Actor': change.actor.accountId,
    'Bitbucket:SourceBranch': change.pullRequest?.sourceBranch,
    'Bitbucket:DestinationBranch': change.pullRequest?.destinationBranch,
  };
  const context: WpcContext = base;

  // The Bitbucket action itself, on the repository.
  const action = `bitbucket:${change.action}`;
  const actionDecision = evaluateStatements(statements, { action, resource: change.repoFullName, context });
  const actionEvidence: Evidence = {
    clause: 'statements',
    action,
    resource: change.repoFullName,
    decision: actionDecision.reason,
  };
  if (actionDecision.sid !== undefined) actionEvidence.sid = actionDecision.sid;
  checks.push(
    actionDecision.decision === 'ALLOW'
      ? {
          rule: 'policy.write_actions',
          outcome: 'pass',
          code: 'OK',
          subject: { kind: 'action', id: change.action },
          evidence: actionEvidence,
        }
      : {
          rule: 'policy.write_actions',
          outcome: 'fail',
          code: actionDecision.reason === 'explicit_deny' ? 'ACTION_DENIED' : 'ACTION_NOT_ALLOWED',
          subject: { kind: 'action', id: change.action },
          evidence: actionEvidence,
        },
  );

  // Every path the change writes (both sides of a rename, the old side of a removal).
  const paths = new Set<string>();
  for (const file of change.files) {
    paths.add(normalizeRepoPath(file.path));
    if (file.oldPath !== undefined) paths.add(normalizeRepoPath(file.oldPath));
  }
  let pathFailures = 0;
  for (const path of paths) {
    const decision = evaluateStatements(statements, { action: 'bitbucket:write_path', resource: path, context });
    if (decision.decision === 'ALLOW') continue;
    pathFailures++;
    const evidence: Evidence = { clause: 'statements', action: 'bitbucket:write_path', decision: decision.reason };
    if (decision.sid !== undefined) evidence.sid = decision.sid;
    checks.push({
      rule: 'policy.paths',
      outcome: 'fail',
      code: 'PATH_DENIED',
      subject: { kind: 'file', id: path },
      evidence,
    });
  }
  if (pathFailures === 0)
    checks.push({
      rule: 'policy.paths',
      outcome: 'pass',
      code: 'OK',
      evidence: { clause: 'statements', action: 'bitbucket:write_path', paths_checked: paths.size },
    });

  // Every model call a gateway receipt records, counted or not.
  let modelFailures = 0;
  for (const receipt of facts.gatewayReceipts) {
    const decision = evaluateStatements(statements, {
      action: 'model:invoke',
      resource: receipt.model,
      context: { ...base, 'Model:Provider': receipt.provider, 'Model:Name': receipt.model },
    });
    if (decision.decision === 'ALLOW') continue;
    modelFailures++;
    const evidence: Evidence = {
      clause: 'statements',
      action: 'model:invoke',
      provider: receipt.provider,
      model: receipt.model,
      decision: decision.reason,
    };
    if (decision.sid !== undefined) evidence.sid = decision.sid;
    checks.push({
      rule: 'policy.models',
      outcome: 'fail',
      code: 'MODEL_NOT_ALLOWED',
      subject: { kind: 'gateway_receipt', id: receipt.receiptId },
      evidence,
    });
  }
  if (modelFailures === 0)
    checks.push({
      rule: 'policy.models',
      outcome: 'pass',
      code: 'OK',
      evidence: { clause: 'statements', action: 'model:invoke', receipts_checked: facts.gatewayReceipts.length },
    });
  return checks;
}
