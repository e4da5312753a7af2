/**
 * The one registry of reason codes. Every check the engine emits carries one of these; renderers map
 * them to words (src/render). `layer` says who defines the code:
 * - protocol: Clawsig verification (clawsig.md §2–§4), the codes the conformance manifest expects;
 * - profile: the clawgate profile on top of the protocol (design §6), stricter, fails closed;
 * - policy: the Bitbucket Work Policy Contract evaluated against the change (design §6);
 * - system: state of the evaluation itself (no bundle, clawgate error, not applicable).
 */
export const REASON_CODES = {
  OK: { layer: 'system' },

  // protocol — envelope and bundle structure
  MALFORMED_ENVELOPE: { layer: 'protocol' },
  UNKNOWN_ENVELOPE_VERSION: { layer: 'protocol' },
  UNKNOWN_ENVELOPE_TYPE: { layer: 'protocol' },
  UNKNOWN_ALGORITHM: { layer: 'protocol' },
  UNKNOWN_HASH_ALGORITHM: { layer: 'protocol' },
  INVALID_DID_FORMAT: { layer: 'protocol' },
  EXPIRED_TTL: { layer: 'protocol' },
  SCHEMA_VALIDATION_FAILED: { layer: 'protocol' },
  HASH_MISMATCH: { layer: 'protocol' },
  SIGNATURE_INVALID: { layer: 'protocol' },
  UNKNOWN_VERSION: { layer: 'protocol' },
  UNKNOWN_TYPE: { layer: 'protocol' },
  UNKNOWN_ALGO: { layer: 'protocol' },
  COMMIT_MESSAGE_INVALID: { layer: 'protocol' },
  // protocol — receipts
  RECEIPT_BINDING_MISMATCH: { layer: 'protocol' },
  RECEIPT_VERIFICATION_FAILED: { layer: 'protocol' },
  DEPENDENCY_NOT_CONFIGURED: { layer: 'protocol' },
  CLAIM_NOT_FOUND: { layer: 'protocol' },
  PROOF_BUNDLE_AGENT_MISMATCH: { layer: 'protocol' },
  CO_SIGNATURE_INVALID: { layer: 'protocol' },
  DISCLOSURE_ALGORITHM_UNKNOWN: { layer: 'protocol' },
  DISCLOSURE_ROOT_MISMATCH: { layer: 'protocol' },
  DISCLOSURE_TYPE_MISMATCH: { layer: 'protocol' },
  CAUSAL_PHASE_INVALID: { layer: 'protocol' },
  CAUSAL_CONFIDENCE_OUT_OF_RANGE: { layer: 'protocol' },
  CAUSAL_BINDING_NORMALIZATION_FAILED: { layer: 'protocol' },
  CAUSAL_SIDE_EFFECT_ORPHANED: { layer: 'protocol' },
  CAUSAL_HUMAN_APPROVAL_ORPHANED: { layer: 'protocol' },
  CAUSAL_RECEIPT_REPLAY_DETECTED: { layer: 'protocol' },
  RATE_LIMIT_CLAIM_INCONSISTENT: { layer: 'protocol' },
  RATE_LIMIT_WINDOW_INVALID: { layer: 'protocol' },
  RATE_LIMIT_EXCEEDED: { layer: 'protocol' },

  // profile — clawgate's rules on top of the protocol (design §6)
  BARE_PAYLOAD_REJECTED: { layer: 'profile' },
  GATEWAY_RECEIPT_SIGNATURE_INVALID: { layer: 'profile' },
  GATEWAY_RECEIPT_UNTRUSTED: { layer: 'profile' },
  GATEWAY_RECEIPT_UNBOUND: { layer: 'profile' },
  GATEWAY_RECEIPTS_REQUIRED: { layer: 'profile' },
  GATEWAY_RECEIPT_DUPLICATE: { layer: 'profile' },
  UNRECEIPTED_MODEL_CALL: { layer: 'profile' },
  RECEIPT_POLICY_HASH_MISMATCH: { layer: 'profile' },
  RECEIPT_TOKEN_SCOPE_MISMATCH: { layer: 'profile' },
  RECEIPT_OUTSIDE_CST_VALIDITY: { layer: 'profile' },
  CST_MISSING: { layer: 'profile' },
  CST_MALFORMED: { layer: 'profile' },
  CST_UNSUPPORTED_ALG: { layer: 'profile' },
  CST_SIGNATURE_INVALID: { layer: 'profile' },
  CST_SIGNATURE_REQUIRED: { layer: 'profile' },
  CST_SUBJECT_MISMATCH: { layer: 'profile' },
  CST_POLICY_PIN_MISMATCH: { layer: 'profile' },
  CST_SCOPE_HASH_MISMATCH: { layer: 'profile' },
  CST_TTL_TOO_LONG: { layer: 'profile' },
  CST_MISSION_MISMATCH: { layer: 'profile' },
  REPLAY: { layer: 'profile' },
  BUNDLE_BINDING_MISMATCH: { layer: 'profile' },
  BUNDLE_COMMIT_NOT_IN_PR: { layer: 'profile' },
  AGENT_DID_MISMATCH: { layer: 'profile' },
  AGENT_ROLE_INSUFFICIENT: { layer: 'profile' },
  REVOKED_AGENT: { layer: 'profile' },
  REVOKED_TOKEN: { layer: 'profile' },
  REVOKED_BUNDLE: { layer: 'profile' },
  WORKSPACE_FROZEN: { layer: 'profile' },

  // policy — the Bitbucket WPC (design §6)
  REPO_NOT_ALLOWED: { layer: 'policy' },
  ACTION_DENIED: { layer: 'policy' },
  ACTION_NOT_ALLOWED: { layer: 'policy' },
  APPROVAL_REQUIRED: { layer: 'policy' },
  PATH_DENIED: { layer: 'policy' },
  SCOPE_NOT_LEAST_PRIVILEGE: { layer: 'policy' },
  IDENTITIES_NOT_SEPARATED: { layer: 'policy' },
  BUNDLE_REQUIRED: { layer: 'policy' },
  PROVIDER_NOT_ALLOWED: { layer: 'policy' },
  MODEL_NOT_ALLOWED: { layer: 'policy' },

  // system — the evaluation itself
  NOT_AN_AGENT_PR: { layer: 'system' },
  BUNDLE_NOT_FOUND: { layer: 'system' },
  BUNDLE_UNREADABLE: { layer: 'system' },
  WPC_NOT_ASSIGNED: { layer: 'system' },
  CLAWGATE_ERROR: { layer: 'system' },
} as const satisfies Record<string, { layer: 'protocol' | 'profile' | 'policy' | 'system' }>;

export type ReasonCode = keyof typeof REASON_CODES;
export type ReasonLayer = (typeof REASON_CODES)[ReasonCode]['layer'];
