/**
 * Every official Clawsig schema file, by its path under the official `packages/schema/` tree, mapped
 * to our own definition, plus each file's `$id`. Tests iterate this to compare with the reference.
 */
import type { z } from 'zod';
import { binarySemanticEvidenceEnvelopeV1Schema, binarySemanticEvidenceV1Schema } from './binary-semantic-evidence';
import { coSignatureV1Schema } from './co-signature';
import { commitProofV1Schema } from './commit-proof';
import { coverageAttestationEnvelopeV1Schema, coverageAttestationV1Schema } from './coverage-attestation';
import { encryptedProofPayloadV1Schema } from './encrypted-proof-payload';
import { eventChainV1Schema } from './event-chain';
import { gatewayReceiptEnvelopeV1Schema, gatewayReceiptV1Schema } from './gateway-receipt';
import { humanApprovalReceiptEnvelopeV1Schema, humanApprovalReceiptV1Schema } from './human-approval-receipt';
import { kinematicFingerprintV1Schema } from './kinematic-fingerprint';
import { logInclusionProofV1Schema } from './log-inclusion-proof';
import { modelIdentityV1Schema } from './model-identity';
import { proofBundleV1Schema, proofBundleV2Schema } from './proof-bundle';
import { proofBundleEnvelopeV1Schema } from './proof-bundle-envelope';
import { receiptBindingV1Schema } from './receipt-binding';
import { scopedTokenClaimsV1Schema } from './scoped-token-claims';
import { selectiveDisclosureV1Schema } from './selective-disclosure';
import { sentinelAnomalyReportV1Schema } from './sentinel-anomaly-report';
import { sideEffectReceiptEnvelopeV1Schema, sideEffectReceiptV1Schema } from './side-effect-receipt';
import { urmV1Schema } from './urm';
import { trustPulseV1Schema } from './trust-pulse';
import {
  toolReceiptEnvelopeV1Schema,
  toolReceiptEnvelopeV2Schema,
  toolReceiptV1Schema,
  toolReceiptV2Schema,
} from './tool-receipt';
import { virEnvelopeV1Schema, virEnvelopeV2Schema, virV1Schema, virV2Schema } from './vir';
import { webReceiptEnvelopeV1Schema, webReceiptV1Schema } from './web-receipt';
import {
  workPolicyContractEnvelopeV1Schema,
  workPolicyContractV1Schema,
  workPolicyContractV2Schema,
} from './work-policy-contract';

const ORG = 'https://schemas.clawbureau.org/';
const COM = 'https://schemas.clawbureau.com/poh/';

/** File path → official `$id`. Note the two hosts: the draft-07 and tool v1 files live under `.com/poh/`. */
export const CLAWSIG_SCHEMA_IDS = {
  'auth/scoped_token_claims.v1.json': `${ORG}claw.auth.scoped_token_claims.v1.json`,
  'poh/binary_semantic_evidence.v1.json': `${ORG}claw.poh.binary_semantic_evidence.v1.json`,
  'poh/binary_semantic_evidence_envelope.v1.json': `${ORG}claw.poh.binary_semantic_evidence_envelope.v1.json`,
  'poh/co_signature.v1.json': `${ORG}claw.poh.co_signature.v1.json`,
  'poh/commit_proof.v1.json': `${ORG}claw.poh.commit_proof.v1.json`,
  'poh/coverage_attestation.v1.json': `${ORG}claw.poh.coverage_attestation.v1.json`,
  'poh/coverage_attestation_envelope.v1.json': `${ORG}claw.poh.coverage_attestation_envelope.v1.json`,
  'poh/encrypted_proof_payload.v1.json': `${ORG}claw.poh.encrypted_proof_payload.v1.json`,
  'poh/event_chain.v1.json': `${ORG}claw.poh.event_chain.v1.json`,
  'poh/gateway_receipt.v1.json': `${ORG}claw.poh.gateway_receipt.v1.json`,
  'poh/gateway_receipt_envelope.v1.json': `${ORG}claw.poh.gateway_receipt_envelope.v1.json`,
  'poh/human_approval_receipt.v1.json': `${COM}human_approval_receipt.v1.json`,
  'poh/human_approval_receipt_envelope.v1.json': `${COM}human_approval_receipt_envelope.v1.json`,
  'poh/kinematic_fingerprint.v1.json': `${ORG}claw.poh.kinematic_fingerprint.v1.json`,
  'poh/log_inclusion_proof.v1.json': `${ORG}claw.poh.log_inclusion_proof.v1.json`,
  'poh/model_identity.v1.json': `${ORG}claw.poh.model_identity.v1.json`,
  'poh/proof_bundle.v1.json': `${ORG}claw.poh.proof_bundle.v1.json`,
  'poh/proof_bundle.v2.json': `${ORG}claw.poh.proof_bundle.v2.json`,
  'poh/proof_bundle_envelope.v1.json': `${ORG}claw.poh.proof_bundle_envelope.v1.json`,
  'poh/receipt_binding.v1.json': `${ORG}claw.poh.receipt_binding.v1.json`,
  'poh/selective_disclosure.v1.json': `${ORG}claw.poh.selective_disclosure.v1.json`,
  'poh/sentinel_anomaly_report.v1.json': `${ORG}claw.poh.sentinel_anomaly_report.v1.json`,
  'poh/side_effect_receipt.v1.json': `${COM}side_effect_receipt.v1.json`,
  'poh/side_effect_receipt_envelope.v1.json': `${COM}side_effect_receipt_envelope.v1.json`,
  'poh/tool_receipt.v1.json': `${COM}tool_receipt.v1.json`,
  'poh/tool_receipt.v2.json': `${ORG}claw.poh.tool_receipt.v2.json`,
  'poh/tool_receipt_envelope.v1.json': `${COM}tool_receipt_envelope.v1.json`,
  'poh/tool_receipt_envelope.v2.json': `${ORG}claw.poh.tool_receipt_envelope.v2.json`,
  'poh/urm.v1.json': `${ORG}claw.poh.urm.v1.json`,
  'poh/trust_pulse.v1.json': `${ORG}claw.poh.trust_pulse.v1.json`,
  'poh/vir.v1.json': `${ORG}claw.poh.vir.v1.json`,
  'poh/vir.v2.json': `${ORG}claw.poh.vir.v2.json`,
  'poh/vir_envelope.v1.json': `${ORG}claw.poh.vir_envelope.v1.json`,
  'poh/vir_envelope.v2.json': `${ORG}claw.poh.vir_envelope.v2.json`,
  'poh/web_receipt.v1.json': `${ORG}claw.poh.web_receipt.v1.json`,
  'poh/web_receipt_envelope.v1.json': `${ORG}claw.poh.web_receipt_envelope.v1.json`,
  'policy/work_policy_contract.v1.json': `${ORG}claw.policy.work_policy_contract.v1.json`,
  'policy/work_policy_contract.v2.json': `${ORG}claw.policy.work_policy_contract.v2.json`,
  'policy/work_policy_contract_envelope.v1.json': `${ORG}claw.policy.work_policy_contract_envelope.v1.json`,
} as const;

export type ClawsigSchemaFile = keyof typeof CLAWSIG_SCHEMA_IDS;

export const CLAWSIG_SCHEMAS: Record<ClawsigSchemaFile, z.ZodType> = {
  'auth/scoped_token_claims.v1.json': scopedTokenClaimsV1Schema,
  'poh/binary_semantic_evidence.v1.json': binarySemanticEvidenceV1Schema,
  'poh/binary_semantic_evidence_envelope.v1.json': binarySemanticEvidenceEnvelopeV1Schema,
  'poh/co_signature.v1.json': coSignatureV1Schema,
  'poh/commit_proof.v1.json': commitProofV1Schema,
  'poh/coverage_attestation.v1.json': coverageAttestationV1Schema,
  'poh/coverage_attestation_envelope.v1.json': coverageAttestationEnvelopeV1Schema,
  'poh/encrypted_proof_payload.v1.json': encryptedProofPayloadV1Schema,
  'poh/event_chain.v1.json': eventChainV1Schema,
  'poh/gateway_receipt.v1.json': gatewayReceiptV1Schema,
  'poh/gateway_receipt_envelope.v1.json': gatewayReceiptEnvelopeV1Schema,
  'poh/human_approval_receipt.v1.json': humanApprovalReceiptV1Schema,
  'poh/human_approval_receipt_envelope.v1.json': humanApprovalReceiptEnvelopeV1Schema,
  'poh/kinematic_fingerprint.v1.json': kinematicFingerprintV1Schema,
  'poh/log_inclusion_proof.v1.json': logInclusionProofV1Schema,
  'poh/model_identity.v1.json': modelIdentityV1Schema,
  'poh/proof_bundle.v1.json': proofBundleV1Schema,
  'poh/proof_bundle.v2.json': proofBundleV2Schema,
  'poh/proof_bundle_envelope.v1.json': proofBundleEnvelopeV1Schema,
  'poh/receipt_binding.v1.json': receiptBindingV1Schema,
  'poh/selective_disclosure.v1.json': selectiveDisclosureV1Schema,
  'poh/sentinel_anomaly_report.v1.json': sentinelAnomalyReportV1Schema,
  'poh/side_effect_receipt.v1.json': sideEffectReceiptV1Schema,
  'poh/side_effect_receipt_envelope.v1.json': sideEffectReceiptEnvelopeV1Schema,
  'poh/tool_receipt.v1.json': toolReceiptV1Schema,
  'poh/tool_receipt.v2.json': toolReceiptV2Schema,
  'poh/tool_receipt_envelope.v1.json': toolReceiptEnvelopeV1Schema,
  'poh/tool_receipt_envelope.v2.json': toolReceiptEnvelopeV2Schema,
  'poh/urm.v1.json': urmV1Schema,
  'poh/trust_pulse.v1.json': trustPulseV1Schema,
  'poh/vir.v1.json': virV1Schema,
  'poh/vir.v2.json': virV2Schema,
  'poh/vir_envelope.v1.json': virEnvelopeV1Schema,
  'poh/vir_envelope.v2.json': virEnvelopeV2Schema,
  'poh/web_receipt.v1.json': webReceiptV1Schema,
  'poh/web_receipt_envelope.v1.json': webReceiptEnvelopeV1Schema,
  'policy/work_policy_contract.v1.json': workPolicyContractV1Schema,
  'policy/work_policy_contract.v2.json': workPolicyContractV2Schema,
  'policy/work_policy_contract_envelope.v1.json': workPolicyContractEnvelopeV1Schema,
};

/** The same schemas keyed by official `$id`. */
export const CLAWSIG_SCHEMAS_BY_ID: Record<string, z.ZodType> = Object.fromEntries(
  (Object.keys(CLAWSIG_SCHEMA_IDS) as ClawsigSchemaFile[]).map((file) => [
    CLAWSIG_SCHEMA_IDS[file],
    CLAWSIG_SCHEMAS[file],
  ]),
);
