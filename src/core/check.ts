import type { ReasonCode } from './reason-codes';

/** JSON-safe evidence attached to a check; renderers and pages read it, the engine never formats it. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * pass: the rule held. fail: it did not. pending: it may still hold (approval gate).
 * skip: the rule did not apply (e.g. no CST issuer key configured; recorded so a reader sees it).
 */
export type CheckOutcome = 'pass' | 'fail' | 'pending' | 'skip';

export interface CheckSubject {
  kind:
    | 'bundle'
    | 'envelope'
    | 'event'
    | 'gateway_receipt'
    | 'tool_receipt'
    | 'side_effect_receipt'
    | 'human_approval_receipt'
    | 'rate_limit_claim'
    | 'token'
    | 'policy'
    | 'file'
    | 'commit'
    | 'pull_request'
    | 'repository'
    | 'actor'
    | 'action'
    | 'workspace';
  /** receipt id, file path, commit hash, DID… */
  id?: string;
  /** JSON pointer-ish path into the bundle (e.g. `payload.receipts[3].payload.binding.run_id`). */
  path?: string;
}

/** One criterion evaluated. `rule` names the criterion (stable id); `code` is OK or the failure reason. */
export interface Check {
  rule: RuleId;
  outcome: CheckOutcome;
  code: ReasonCode;
  subject?: CheckSubject;
  evidence?: { [key: string]: JsonValue };
}

/** Stable ids of the criteria clawgate enforces, in the order they are listed to a reader. */
export const RULES = [
  'profile.freeze',
  'profile.envelope_required',
  'protocol.envelope',
  'protocol.schema',
  'protocol.signature',
  'protocol.event_chain',
  'protocol.rate_limits',
  'protocol.urm',
  'protocol.tool_receipts',
  'protocol.side_effect_receipts',
  'protocol.human_approval_receipts',
  'protocol.causal',
  'protocol.gateway_receipts',
  'protocol.commit_signature',
  'protocol.export_bundle',
  'profile.signer_is_agent',
  'profile.gateway_receipts',
  'profile.receipt_policy_hash',
  'profile.receipt_token_scope',
  'profile.cst',
  'profile.cst_signature',
  'profile.cst_subject',
  'profile.cst_policy_pin',
  'profile.cst_ttl',
  'profile.cst_validity_window',
  'profile.cst_mission',
  'profile.anti_replay',
  'profile.revocation',
  'profile.pr_binding',
  'profile.proof_covers_head',
  'profile.agent_identity',
  'policy.wpc',
  'policy.repos_allowlist',
  'policy.write_actions',
  'policy.paths',
  'policy.auth',
  'policy.attestation',
  'policy.models',
  'policy.approval',
  'system.evidence',
] as const;
export type RuleId = (typeof RULES)[number];
