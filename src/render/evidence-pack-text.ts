import type { JsonValue } from '../core/check';
import type { EvidencePackCode, EvidencePackResult } from '../evidence/evidence-pack';
import { REASON_TEXT } from './explanations';
import { trustPulseToJson } from './verdict-json';

const EVIDENCE_TEXT: Record<EvidencePackCode, string> = {
  OK: 'the signature holds, the signer is pinned, and the verdict re-derives unchanged',
  EVIDENCE_NOT_CANONICAL:
    'the file is not byte for byte the document clawgate signed (whitespace, escapes or key copies were changed)',
  EVIDENCE_MALFORMED: 'the file is not a clawgate evidence pack',
  EVIDENCE_HASH_MISMATCH: 'the payload does not hash to the signed payload hash: the pack was changed after signing',
  EVIDENCE_SIGNATURE_INVALID: 'the Ed25519 signature does not verify for the signer did:key',
  EVIDENCE_SIGNER_UNTRUSTED:
    "the signature holds, but the signer is not a key you pinned with --evidence-signer (compare it with the deployment's /api/v1/evidence-keys)",
  EVIDENCE_INPUT_INVALID:
    'the recorded engine input cannot be restored (or does not match the recorded bundle or WPC hash)',
  EVIDENCE_VERDICT_MISMATCH: 'the verdict re-derived from the recorded input differs from the recorded verdict',
};

export function evidencePackToText(result: EvidencePackResult, subject: string): string {
  const MARK = (ok: boolean) => (ok ? '✓' : '✗');
  const lines = [`Verifying evidence pack ${subject}`];
  if (result.evaluationId)
    lines.push(
      `Evaluation ${result.evaluationId}: ${result.repository ?? ''} PR #${result.pullRequest?.id ?? ''} at ${result.headSha ?? ''}`,
    );
  if (result.pullRequest?.url) lines.push(`PR: ${result.pullRequest.url}`);
  lines.push(`Signer: ${result.signerDid ?? '(none)'}`);
  lines.push('', 'Criteria enforced:');
  lines.push(`  ${MARK(result.signatureValid)} Ed25519 signature of the deployment key over the payload hash`);
  lines.push(
    `  ${MARK(result.code !== 'EVIDENCE_NOT_CANONICAL' && result.signatureValid)} The file is exactly the signed serialization`,
  );
  lines.push(`  ${MARK(result.signerTrusted)} The signer is a pinned deployment key (--evidence-signer)`);
  lines.push(
    `  ${MARK(result.derived !== undefined && result.differences.length === 0)} The verdict re-derives offline from the recorded input`,
  );
  if (result.recorded) lines.push('', `Recorded verdict: ${result.recorded.state} (${result.recorded.reasonCode})`);
  if (result.derived)
    lines.push(
      `Re-derived verdict: ${result.derived.state} (${result.derived.reasonCode})${result.derived.reasonCode !== 'OK' && result.derived.state !== 'NOT_APPLICABLE' ? ` — ${REASON_TEXT[result.derived.reasonCode]}` : ''}`,
    );
  if (result.differences.length > 0) lines.push(`Differs in: ${result.differences.join(', ')}`);
  if (result.derived && result.derived.trustPulse.status !== 'absent')
    lines.push(`Trust Pulse (self-reported by the agent's harness): ${result.derived.trustPulse.status}`);
  lines.push(
    '',
    `Evidence: ${result.valid ? 'PASS' : 'FAIL'} (${result.code}) — ${EVIDENCE_TEXT[result.code]}${result.detail ? ` [${result.detail}]` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}

export function evidencePackToJson(result: EvidencePackResult, subject: string): { [key: string]: JsonValue } {
  return {
    status: result.valid ? 'PASS' : 'FAIL',
    kind: 'evidence_pack',
    reason_code: result.code,
    subject,
    signer_did: result.signerDid ?? null,
    signature_valid: result.signatureValid,
    signer_trusted: result.signerTrusted,
    evaluation_id: result.evaluationId ?? null,
    repository: result.repository ?? null,
    pull_request: result.pullRequest ? { id: result.pullRequest.id, url: result.pullRequest.url } : null,
    head_sha: result.headSha ?? null,
    recorded: result.recorded ? { state: result.recorded.state, reason_code: result.recorded.reasonCode } : null,
    derived: result.derived
      ? {
          state: result.derived.state,
          reason_code: result.derived.reasonCode,
          trust_pulse: trustPulseToJson(result.derived.trustPulse),
        }
      : null,
    differences: result.differences,
    detail: result.detail ?? null,
  };
}
