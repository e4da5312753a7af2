import { RULES, type Check, type RuleId } from './check';
import type { ProofBundleResult } from './clawsig/verify-proof-bundle';

/** The proof-bundle protocol criteria, in RULES order (commit signatures and export bundles are separate). */
const PROTOCOL_RULES: RuleId[] = RULES.filter(
  (rule) => rule.startsWith('protocol.') && rule !== 'protocol.commit_signature' && rule !== 'protocol.export_bundle',
);

function failingRule(result: ProofBundleResult): RuleId {
  const path = result.failurePath ?? '';
  switch (result.phase) {
    case 'envelope':
    case 'payload':
      return 'protocol.envelope';
    case 'schema':
      return 'protocol.schema';
    case 'signature':
      return 'protocol.signature';
    case 'strict':
      return 'protocol.gateway_receipts';
    default:
      if (path.startsWith('payload.event_chain')) return 'protocol.event_chain';
      if (path.startsWith('payload.rate_limit_claims')) return 'protocol.rate_limits';
      if (path.startsWith('urm') || path.startsWith('payload.urm')) return 'protocol.urm';
      if (path.startsWith('payload.tool_receipts')) return 'protocol.tool_receipts';
      if (path.startsWith('payload.side_effect_receipts')) return 'protocol.side_effect_receipts';
      if (path.startsWith('payload.human_approval_receipts')) return 'protocol.human_approval_receipts';
      return 'protocol.causal';
  }
}

/** The protocol verification as checks: rules before the failure pass, the failing one fails, later ones were not reached. */
export function protocolChecks(result: ProofBundleResult): Check[] {
  const failed = result.valid ? undefined : failingRule(result);
  const failedIndex = failed ? PROTOCOL_RULES.indexOf(failed) : PROTOCOL_RULES.length;
  return PROTOCOL_RULES.map((rule, index): Check => {
    if (index < failedIndex) return { rule, outcome: 'pass', code: 'OK' };
    if (index === failedIndex) {
      return {
        rule,
        outcome: 'fail',
        code: result.reasonCode,
        subject: { kind: 'bundle', path: result.failurePath ?? '' },
      };
    }
    return { rule, outcome: 'skip', code: 'OK', evidence: { not_reached: true } };
  });
}
