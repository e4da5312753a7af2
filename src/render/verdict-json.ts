import type { Check, JsonValue } from '../core/check';
import type { CommitSignatureResult } from '../core/clawsig/commit-signature';
import type { ExportBundleResult } from '../core/clawsig/verify-export-bundle';
import type { TrustPulseResult } from '../core/clawsig/trust-pulse';
import type { Verdict } from '../core/verdict';
import { toEvidence } from '../core/evidence';

/** The machine-readable verdict (docs/api.md): top-level status PASS|FAIL, reason_code, checks. */
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
    trust_pulse: trustPulseToJson(verdict.trustPulse),
  };
}

/** The Trust Pulse as the API, the pages and the evidence pack carry it (snake_case, self-reported). */
export function trustPulseToJson(result: TrustPulseResult): { [key: string]: JsonValue } {
  const s = result.summary;
  const c = result.comparison;
  return {
    status: result.status,
    evidence_class: 'self_reported',
    tier_uplift: false,
    problem: result.problem ?? null,
    hash_b64u: result.hashB64u ?? null,
    summary: s
      ? {
          trust_pulse_id: s.trustPulseId ?? null,
          run_id: s.runId,
          agent_did: s.agentDid,
          issued_at: s.issuedAt,
          started_at: s.startedAt ?? null,
          ended_at: s.endedAt ?? null,
          duration_ms: s.durationMs ?? null,
          tools: s.tools.map((t) => ({ name: t.name, calls: t.calls })),
          files: s.files.map((f) => ({ path: f.path, touches: f.touches })),
        }
      : null,
    comparison: c
      ? {
          unreported_diff_paths: c.unreportedDiffPaths,
          reported_not_in_diff: c.reportedNotInDiff,
          reported_denied: c.reportedDenied.map((d) => ({ path: d.path, glob: d.glob })),
          redacted: c.redacted,
        }
      : null,
  };
}

export function commitSignatureToJson(result: CommitSignatureResult, subject: string): { [key: string]: JsonValue } {
  const check: Check = result.valid
    ? { rule: 'protocol.commit_signature', outcome: 'pass', code: 'OK' }
    : {
        rule: 'protocol.commit_signature',
        outcome: 'fail',
        code: result.reasonCode,
        subject: { kind: 'commit', path: result.failurePath ?? '' },
      };
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
    checks: toEvidence([
      {
        rule: 'protocol.export_bundle',
        outcome: result.valid ? 'pass' : 'fail',
        code: result.reasonCode,
        ...(result.failurePath ? { subject: { kind: 'bundle', path: result.failurePath } } : {}),
      },
    ]),
    export_id: result.exportId ?? null,
    issuer_did: result.issuerDid ?? null,
    verified: toEvidence(result.verified),
  };
}
