import type { Check } from '../core/check';
import type { CommitSignatureResult } from '../core/clawsig/commit-signature';
import type { ExportBundleResult } from '../core/clawsig/verify-export-bundle';
import type { Verdict } from '../core/verdict';
import { REASON_TEXT, RULE_TEXT } from './explanations';

const MARK = { pass: '✓', fail: '✗', pending: '…', skip: '-' } as const;

function describeSubject(check: Check): string {
  const s = check.subject;
  if (!s) return '';
  const id = s.id ? ` ${s.id}` : '';
  const at = s.path ? ` at ${s.path}` : '';
  return ` [${s.kind}${id}${at}]`;
}

/** One WPC clause and its outcome, e.g. `egress_allowlist: not enforceable on Bitbucket`. */
function clauseLabel(check: Check): string {
  const evidence = check.evidence ?? {};
  const clause = typeof evidence.clause === 'string' ? evidence.clause : check.rule;
  const subject = check.subject?.id !== undefined && check.subject.id !== clause ? ` [${check.subject.id}]` : '';
  if (check.rule === 'policy.wpc' && evidence.form !== undefined)
    return `WPC (${String(evidence.form)}, ${evidence.signed === true ? 'signed' : 'unsigned'}, Bitbucket clauses from ${evidence.bitbucket_clauses === 'defaults' ? 'clawgate defaults' : 'the document'})`;
  if (evidence.enforceable === false) return `${clause}: not enforceable on Bitbucket (reported, not enforced)`;
  const source =
    evidence.clause_source === 'clawgate_default'
      ? ' (clawgate default)'
      : evidence.clause_source === 'assignment'
        ? ' (decided by the assignment)'
        : '';
  const outcome =
    check.outcome === 'fail'
      ? `: ${check.code}`
      : check.outcome === 'skip'
        ? ': not evaluated'
        : check.outcome === 'pending'
          ? `: ${check.code}`
          : '';
  return `${clause}${subject}${source}${outcome}`;
}

/**
 * Text like `gh attestation verify`: what is being verified, the criteria enforced, then the verdict,
 * then every failure explained.
 */
export function verdictToText(verdict: Verdict, subject: string, profile: 'protocol' | 'clawgate'): string {
  const lines: string[] = [];
  lines.push(`Verifying ${subject}`);
  lines.push(
    `Profile: ${profile === 'clawgate' ? 'clawgate (protocol + profile + policy)' : 'Clawsig protocol + strict gateway layer'}`,
  );
  if (verdict.proof)
    lines.push(`Bundle: ${verdict.proof.bundleId}  agent ${verdict.proof.agentDid}  tier ${verdict.proof.proofTier}`);
  if (verdict.proof?.urm)
    lines.push(
      `Run manifest (URM): ${verdict.proof.urm.urmId}  harness ${verdict.proof.urm.harness.id} ${verdict.proof.urm.harness.version}  ${verdict.proof.urm.hashB64u}`,
    );
  if (verdict.policy)
    lines.push(
      `Policy: ${verdict.policy.id ?? '(no id)'}  ${verdict.policy.hash}  form ${verdict.policy.form}${verdict.policy.signerDid ? `, signed by ${verdict.policy.signerDid}` : ', unsigned'}`,
    );
  lines.push('');
  lines.push('Criteria enforced:');
  const seen = new Map<string, Check[]>();
  for (const check of verdict.checks) seen.set(check.rule, [...(seen.get(check.rule) ?? []), check]);
  for (const [rule, checks] of seen) {
    const outcome = checks.some((c) => c.outcome === 'fail')
      ? 'fail'
      : checks.some((c) => c.outcome === 'pending')
        ? 'pending'
        : checks.every((c) => c.outcome === 'skip')
          ? 'skip'
          : 'pass';
    const text = RULE_TEXT[rule as keyof typeof RULE_TEXT] ?? rule;
    lines.push(`  ${MARK[outcome]} ${text}${outcome === 'skip' ? ' (not evaluated)' : ''}`);
  }
  const clauses = verdict.checks.filter((c) => c.rule.startsWith('policy.'));
  if (clauses.length > 0) {
    lines.push('');
    lines.push('Policy clauses:');
    for (const check of clauses) lines.push(`  ${MARK[check.outcome]} ${clauseLabel(check)}`);
  }
  lines.push('');
  lines.push(
    `Verdict: ${verdict.state} (${verdict.reasonCode})${verdict.state === 'PASS' ? '' : ` — ${REASON_TEXT[verdict.reasonCode]}`}`,
  );
  const problems = verdict.checks.filter((c) => c.outcome === 'fail' || c.outcome === 'pending');
  for (const check of problems)
    lines.push(`  ${MARK[check.outcome]} ${check.code}: ${REASON_TEXT[check.code]}${describeSubject(check)}`);
  return `${lines.join('\n')}\n`;
}

export function commitSignatureToText(result: CommitSignatureResult, subject: string): string {
  const lines = [
    `Verifying commit signature ${subject}`,
    '',
    'Criteria enforced:',
    `  ${result.valid ? MARK.pass : MARK.fail} ${RULE_TEXT['protocol.commit_signature']}`,
    '',
  ];
  lines.push(
    result.valid
      ? `Verdict: PASS (OK) — commit ${result.commitSha} signed by ${result.did}`
      : `Verdict: FAIL (${result.reasonCode}) — ${REASON_TEXT[result.reasonCode]}`,
  );
  return `${lines.join('\n')}\n`;
}

export function exportBundleToText(result: ExportBundleResult, subject: string): string {
  const v = result.verified;
  const lines = [
    `Verifying export bundle ${subject}`,
    '',
    'Criteria enforced:',
    `  ${result.valid || v.manifestEntries > 0 ? MARK.pass : MARK.fail} Manifest entries hash their artifacts (JCS SHA-256): ${v.manifestEntries} checked`,
    `  ${result.valid ? MARK.pass : '-'} Bundle hash and the issuer's Ed25519 signature`,
    `  ${v.proofBundle ? MARK.pass : '-'} The nested proof bundle verifies (protocol + strict gateway layer)`,
    `  ${result.valid ? MARK.pass : '-'} Derivation attestations are signed by a trusted signer: ${v.derivationAttestations} checked (log inclusion proofs are not verified)`,
    '',
    result.valid
      ? `Verdict: PASS (OK) — export ${result.exportId ?? ''} by ${result.issuerDid ?? ''}`
      : `Verdict: FAIL (${result.reasonCode}) — ${REASON_TEXT[result.reasonCode]}${result.failurePath ? ` at ${result.failurePath}` : ''}`,
  ];
  return `${lines.join('\n')}\n`;
}
