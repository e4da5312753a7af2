/**
 * Our own zod definitions of every official Clawsig JSON Schema (shared/clawsig/schema, upstream
 * clawbureau/clawbureau packages/schema @ 3a7808e), accepting and rejecting exactly what the
 * reference validator (Ajv 2020, strict:false, allErrors, ajv-formats) does on JSON input.
 * test/core/clawsig/schemas.equivalence.test.ts holds them to that.
 */
export { formatIssuePath, validateWith } from './validate-with';
export type { SchemaIssue, SchemaValidation } from './validate-with';
export { CLAWSIG_SCHEMAS, CLAWSIG_SCHEMAS_BY_ID, CLAWSIG_SCHEMA_IDS } from './registry';
export type { ClawsigSchemaFile } from './registry';
export { codePointLength } from './keywords';
export { isJsonSchemaUri } from './uri-format';

export { proofBundleEnvelopeV1Schema } from './proof-bundle-envelope';
export type { ProofBundleEnvelopeV1 } from './proof-bundle-envelope';
export {
  PROOF_BUNDLE_EVIDENCE_KEYS,
  PROOF_VISIBILITIES,
  egressPolicyReceiptEnvelopeSchema,
  encryptedPayloadSchema,
  proofBundleAttestationSchema,
  proofBundleDelegationReceiptSchema,
  proofBundleMetadataV1Schema,
  proofBundleMetadataV2Schema,
  proofBundleUrmReferenceSchema,
  proofBundleV1Schema,
  proofBundleV2Schema,
  rateLimitClaimSchema,
  viewerKeySchema,
} from './proof-bundle';
export type { ProofBundleAttestation, ProofBundleV1, ProofBundleV2, RateLimitClaim } from './proof-bundle';
export {
  gatewayReceiptEnvelopeV1Schema,
  gatewayReceiptStandaloneMetadataSchema,
  gatewayReceiptV1Schema,
  proofBundleGatewayReceiptEnvelopeSchema,
  proofBundleGatewayReceiptSchema,
} from './gateway-receipt';
export type {
  GatewayReceiptEnvelopeV1,
  GatewayReceiptV1,
  ProofBundleGatewayReceipt,
  ProofBundleGatewayReceiptEnvelope,
} from './gateway-receipt';
export { CAUSAL_PHASES, receiptBindingV1Schema } from './receipt-binding';
export type { ReceiptBindingV1 } from './receipt-binding';
export { eventChainEventSchema, eventChainV1Schema } from './event-chain';
export type { EventChainEvent, EventChainV1 } from './event-chain';
export {
  TOOL_RESULT_STATUSES,
  proofBundleToolReceiptSchema,
  toolReceiptEnvelopeV1Schema,
  toolReceiptEnvelopeV2Schema,
  toolReceiptV1Schema,
  toolReceiptV2Schema,
} from './tool-receipt';
export type {
  ProofBundleToolReceipt,
  ToolReceiptEnvelopeV1,
  ToolReceiptEnvelopeV2,
  ToolReceiptV1,
  ToolReceiptV2,
} from './tool-receipt';
export { CO_SIGNATURE_ROLES, coSignatureV1Schema } from './co-signature';
export type { CoSignatureV1 } from './co-signature';
export { DISCLOSED_LEAF_TYPES, disclosedLeafSchema, selectiveDisclosureV1Schema } from './selective-disclosure';
export type { SelectiveDisclosureV1 } from './selective-disclosure';
export {
  SIDE_EFFECT_CLASSES,
  proofBundleSideEffectReceiptSchema,
  sideEffectReceiptEnvelopeV1Schema,
  sideEffectReceiptV1Schema,
} from './side-effect-receipt';
export type {
  ProofBundleSideEffectReceipt,
  SideEffectReceiptEnvelopeV1,
  SideEffectReceiptV1,
} from './side-effect-receipt';
export {
  APPROVAL_TYPES,
  humanApprovalReceiptEnvelopeV1Schema,
  humanApprovalReceiptV1Schema,
  proofBundleHumanApprovalReceiptSchema,
} from './human-approval-receipt';
export type {
  HumanApprovalReceiptEnvelopeV1,
  HumanApprovalReceiptV1,
  ProofBundleHumanApprovalReceipt,
} from './human-approval-receipt';
export {
  VIR_SOURCES,
  proofBundleVirReceiptSchema,
  virEnvelopeV1Schema,
  virEnvelopeV2Schema,
  virV1Schema,
  virV2Schema,
} from './vir';
export type { ProofBundleVirReceipt, VirEnvelopeV1, VirEnvelopeV2, VirV1, VirV2 } from './vir';
export { WEB_RECEIPT_SOURCES, webReceiptEnvelopeV1Schema, webReceiptV1Schema } from './web-receipt';
export type { WebReceiptEnvelopeV1, WebReceiptV1 } from './web-receipt';
export { coverageAttestationEnvelopeV1Schema, coverageAttestationV1Schema } from './coverage-attestation';
export type { CoverageAttestationEnvelopeV1, CoverageAttestationV1 } from './coverage-attestation';
export { binarySemanticEvidenceEnvelopeV1Schema, binarySemanticEvidenceV1Schema } from './binary-semantic-evidence';
export type { BinarySemanticEvidenceEnvelopeV1, BinarySemanticEvidenceV1 } from './binary-semantic-evidence';
export { commitProofV1Schema } from './commit-proof';
export type { CommitProofV1 } from './commit-proof';
export { encryptedProofPayloadV1Schema } from './encrypted-proof-payload';
export type { EncryptedProofPayloadV1 } from './encrypted-proof-payload';
export { MODEL_IDENTITY_TIERS, modelIdentityV1Schema } from './model-identity';
export type { ModelIdentityV1 } from './model-identity';
export { logInclusionProofV1Schema } from './log-inclusion-proof';
export type { LogInclusionProofV1 } from './log-inclusion-proof';
export { kinematicFingerprintV1Schema } from './kinematic-fingerprint';
export type { KinematicFingerprintV1 } from './kinematic-fingerprint';
export { SENTINEL_ANOMALY_TYPES, sentinelAnomalyReportV1Schema } from './sentinel-anomaly-report';
export type { SentinelAnomalyReportV1 } from './sentinel-anomaly-report';
export { scopedTokenClaimsV1Schema } from './scoped-token-claims';
export type { ScopedTokenClaimsV1 } from './scoped-token-claims';
export {
  WPC_CONDITION_OPERATORS,
  workPolicyContractEnvelopeV1Schema,
  workPolicyContractV1Schema,
  workPolicyContractV2Schema,
  wpcConditionMapSchema,
  wpcPolicyStatementSchema,
  wpcWitnessedWebPolicySchema,
} from './work-policy-contract';
export type {
  WorkPolicyContractEnvelopeV1,
  WorkPolicyContractV1,
  WorkPolicyContractV2,
  WpcPolicyStatement,
} from './work-policy-contract';
export { urmV1Schema } from './urm';
export type { UrmV1 } from './urm';
