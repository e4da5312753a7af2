import type { Check, JsonValue } from '../core/check';
import type { CommitSignatureResult } from '../core/clawsig/commit-signature';
import type { ExportBundleResult } from '../core/clawsig/verify-export-bundle';
import type { Verdict } from '../core/verdict';
import { toEvidence } from '../core/evidence';

/** The machine-readable verdict (design §9): top-level status PASS|FAIL, reason_code, checks. */
export function verdictToJson(verdict: Verdict, subject: string): { [key: string]: JsonValue } {
  return {
    status: verdict.state === 'PASS' ? 'PASS' : 'FAIL',
    state: verdict.state,
    reason_code: verdict.reasonCode,
    mode: verdict.mode,
    subject,
    checks: toEvidence(verdict.checks),
    proof: toEvidence(verdict.proof ?? null),
    token: toEvidence(verdict.token ?? null),
    policy: toEvidence(verdict.policy ?? null),
    receipts: toEvidence(verdict.receipts),
    files: toEvidence(verdict.files),
    /** Why the PR counts as agent work (issue 9): PR author, commit author or pusher, a bundle. */
    agent_work: toEvidence(verdict.agentWork),
  };
}

export function commitSignatureToJson(result: CommitSignatureResult, subject: string): { [key: string]: JsonValue } {
  const check: Check = result.valid
    ? { rule: 'protocol.commit_signature', outcome: 'pass', code: 'OK' }
    : { rule: 'protocol.commit_signature', outcome: 'fail', code: result.reasonCode, subject: { kind: 'commit', path: result.failurePath ?? '' } };
  return {
    status: result.valid ? 'PASS' : 'FAIL',
    state: result.valid ? 'PASS' : 'FAIL',
    reason_code: result.reasonCode,
    subject,
    kind: 'commit_signature',
    checks: toEvidence([check]),
    commit_sha: result.commitSha ?? null,
    did: result.did ?? null,
  };
}

export function exportBundleToJson(result: ExportBundleResult, subject: string): { [key: string]: JsonValue } {
  return {
    status: result.valid ? 'PASS' : 'FAIL',
    state: result.valid ? 'PASS' : 'FAIL',
    reason_code: result.reasonCode,
    subject,
    kind: 'export_bundle',
    checks: toEvidence([{ rule: 'protocol.export_bundle', outcome: result.valid ? 'pass' : 'fail', code: result.reasonCode, ...(result.failurePath ? { subject: { kind: 'bundle', path: result.failurePath } } : {}) }]),
    export_id: result.exportId ?? null,
    issuer_did: result.issuerDid ?? null,
    verified: toEvidence(result.verified),
  };
}
