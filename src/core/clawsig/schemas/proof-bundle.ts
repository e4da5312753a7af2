/**
 * `poh/proof_bundle.v1.json` and `poh/proof_bundle.v2.json`: the proof-bundle payload.
 *
 * v2 is v1 plus `bundle_version` "1"|"2", `schema_version`, `visibility`, `encrypted_payload` and
 * `viewer_keys` (required together when visibility is non-public), but v2's
 * `metadata.sentinels` does NOT know v1's `runtime_profile`, `runtime_hygiene` and
 * `egress_policy_receipt`: sentinels is closed, so a v1 bundle carrying them fails v2.
 */
import { z } from 'zod';
import { binarySemanticEvidenceEnvelopeV1Schema } from './binary-semantic-evidence';
import { coverageAttestationEnvelopeV1Schema } from './coverage-attestation';
import { eventChainEventSchema } from './event-chain';
import { proofBundleGatewayReceiptEnvelopeSchema } from './gateway-receipt';
import { proofBundleHumanApprovalReceiptSchema } from './human-approval-receipt';
import {
  anyObject,
  b64u,
  dateTime,
  didPrefixed,
  jsonArray,
  jsonInteger,
  jsonNumber,
  jsonString,
  nonEmpty,
  objectRule,
  requireAnyOf,
} from './keywords';
import { logInclusionProofV1Schema } from './log-inclusion-proof';
import { HASH_ALGORITHMS } from './signed-envelope';
import { proofBundleSideEffectReceiptSchema } from './side-effect-receipt';
import { proofBundleToolReceiptSchema } from './tool-receipt';
import { proofBundleVirReceiptSchema } from './vir';
import { webReceiptEnvelopeV1Schema } from './web-receipt';

const count = () => jsonNumber({ minimum: 0 }).optional();

/** The evidence keys of which the schema's `anyOf` requires at least one. */
export const PROOF_BUNDLE_EVIDENCE_KEYS = [
  'urm',
  'event_chain',
  'receipts',
  'vir_receipts',
  'web_receipts',
  'binary_semantic_evidence_attestations',
  'tool_receipts',
  'side_effect_receipts',
  'human_approval_receipts',
  'delegation_receipts',
  'attestations',
] as const;

export const proofBundleUrmReferenceSchema = z.strictObject({
  urm_version: z.literal('1'),
  urm_id: nonEmpty(),
  resource_type: nonEmpty(),
  resource_hash_b64u: b64u(),
  metadata: anyObject().optional(),
});

export const proofBundleDelegationReceiptSchema = z.looseObject({
  receipt_version: z.literal('1'),
  receipt_id: nonEmpty(),
  delegator_did: didPrefixed(),
  delegate_did: didPrefixed(),
  task_description_hash_b64u: b64u(),
  delegate_bundle_hash_b64u: b64u(),
  delegation_policy: z.string().optional(),
  hash_algorithm: z.enum(HASH_ALGORITHMS),
  delegated_at: dateTime(),
  completed_at: dateTime().optional(),
  binding: anyObject().optional(),
});

export const rateLimitClaimSchema = z.strictObject({
  claim_version: z.literal('1'),
  scope: z.enum(['agent', 'model', 'tool']),
  scope_key: nonEmpty(),
  window_start: dateTime(),
  window_end: dateTime(),
  max_requests: jsonNumber({ minimum: 0 }),
  observed_requests: jsonNumber({ minimum: 0 }),
  max_tokens_input: count(),
  observed_tokens_input: count(),
  max_tokens_output: count(),
  observed_tokens_output: count(),
  run_id: nonEmpty().optional(),
});
export type RateLimitClaim = z.infer<typeof rateLimitClaimSchema>;

export const proofBundleAttestationSchema = z.strictObject({
  attestation_id: nonEmpty(),
  attestation_type: z.enum(['owner', 'third_party']),
  attester_did: didPrefixed(),
  subject_did: didPrefixed(),
  expires_at: dateTime().optional(),
  signature_b64u: b64u(),
});
export type ProofBundleAttestation = z.infer<typeof proofBundleAttestationSchema>;

const destination = () => jsonString({ pattern: '^[a-z0-9.*:-]+$', minLength: 1 });

/** `metadata.sentinels.egress_policy_receipt` (v1 only): a signed egress-policy envelope. */
export const egressPolicyReceiptEnvelopeSchema = z.strictObject({
  envelope_version: z.literal('1'),
  envelope_type: z.literal('egress_policy_receipt'),
  payload: z.strictObject({
    receipt_version: z.literal('1'),
    receipt_id: nonEmpty(),
    policy_version: z.literal('1'),
    policy_hash_b64u: b64u(),
    effective_policy_hash_b64u: b64u().optional(),
    proofed_mode: z.literal(true),
    clawproxy_url: jsonString({ format: 'uri', minLength: 1 }),
    allowed_proxy_destinations: jsonArray(destination(), { minItems: 1 }),
    allowed_child_destinations: jsonArray(destination(), { minItems: 1 }),
    direct_provider_access_blocked: z.literal(true),
    blocked_attempt_count: jsonInteger({ minimum: 0 }),
    blocked_attempts_observed: z.boolean(),
    hash_algorithm: z.literal('SHA-256'),
    agent_did: didPrefixed(),
    timestamp: dateTime(),
    binding: z.strictObject({
      run_id: nonEmpty(),
      event_hash_b64u: b64u(),
    }),
    transparency: z
      .strictObject({
        inclusion_proof: logInclusionProofV1Schema,
        consistency_proof: z
          .strictObject({
            proof_version: z.literal('1'),
            log_id: nonEmpty(),
            from_tree_size: jsonInteger({ minimum: 1 }),
            to_tree_size: jsonInteger({ minimum: 1 }),
            from_root_hash_b64u: b64u(),
            to_root_hash_b64u: b64u(),
            consistency_path: jsonArray(b64u()),
            metadata: anyObject().optional(),
          })
          .optional(),
        anchor_id: nonEmpty().optional(),
        anchor_uri: jsonString({ format: 'uri', minLength: 1 }).optional(),
      })
      .optional(),
  }),
  payload_hash_b64u: b64u(),
  hash_algorithm: z.enum(['SHA-256']),
  signature_b64u: b64u(),
  algorithm: z.enum(['Ed25519']),
  signer_did: didPrefixed(),
  issued_at: dateTime(),
});

const sentinelCounters = {
  interpose_active: z.boolean(),
  shell_events: count(),
  fs_events: count(),
  net_events: count(),
  net_suspicious: count(),
  interpose_events: count(),
  interpose_gateway: count(),
  interpose_transcript: count(),
  interpose_tool_calls: count(),
  interpose_anomalies: count(),
  preload_llm_events: count(),
  tls_sni_events: count(),
  tls_sni_receipts: count(),
  tls_decrypt_receipts: count(),
  vir_receipts: count(),
};

const harnessSchema = z.looseObject({
  id: nonEmpty(),
  version: nonEmpty(),
  runtime: z.string().optional(),
  config_hash_b64u: b64u().optional(),
});

const sentinelsV1Schema = z.strictObject({
  ...sentinelCounters,
  runtime_profile: anyObject().optional(),
  runtime_hygiene: anyObject().optional(),
  egress_policy_receipt: egressPolicyReceiptEnvelopeSchema.optional(),
  interpose_state: anyObject().optional(),
});

const sentinelsV2Schema = z.strictObject({
  ...sentinelCounters,
  interpose_state: anyObject().optional(),
});

/** `metadata` is open: unknown keys (e.g. a commit SHA) are allowed and signed. */
export const proofBundleMetadataV1Schema = z.looseObject({
  harness: harnessSchema.optional(),
  sentinels: sentinelsV1Schema.optional(),
});

export const proofBundleMetadataV2Schema = z.looseObject({
  harness: harnessSchema.optional(),
  sentinels: sentinelsV2Schema.optional(),
});

/** Fields common to v1 and v2 after the identity fields, in the official property order. */
const evidenceShape = {
  urm: proofBundleUrmReferenceSchema.optional(),
  event_chain: jsonArray(eventChainEventSchema, { minItems: 1 }).optional(),
  vir_receipts: jsonArray(proofBundleVirReceiptSchema, { minItems: 1 }).optional(),
  receipts: jsonArray(proofBundleGatewayReceiptEnvelopeSchema, { minItems: 1 }).optional(),
  web_receipts: jsonArray(webReceiptEnvelopeV1Schema, { minItems: 1 }).optional(),
  coverage_attestations: jsonArray(coverageAttestationEnvelopeV1Schema).optional(),
  binary_semantic_evidence_attestations: jsonArray(binarySemanticEvidenceEnvelopeV1Schema).optional(),
  tool_receipts: jsonArray(proofBundleToolReceiptSchema, { maxItems: 1000 }).optional(),
  side_effect_receipts: jsonArray(proofBundleSideEffectReceiptSchema, { maxItems: 1000 }).optional(),
  human_approval_receipts: jsonArray(proofBundleHumanApprovalReceiptSchema, { maxItems: 1000 }).optional(),
  delegation_receipts: jsonArray(proofBundleDelegationReceiptSchema, { maxItems: 1000 }).optional(),
  rate_limit_claims: jsonArray(rateLimitClaimSchema, { maxItems: 256 }).optional(),
  attestations: jsonArray(proofBundleAttestationSchema, { minItems: 1 }).optional(),
};

const eip8004Shape = {
  eip8004_agent_id: jsonString({ pattern: '^[0-9]+$' }).optional(),
  eip8004_registry: jsonString({ pattern: '^eip155:[0-9]+:0x[0-9a-fA-F]{40}$' }).optional(),
};

export const proofBundleV1Schema = z
  .strictObject({
    bundle_version: z.literal('1'),
    bundle_id: nonEmpty(),
    agent_did: didPrefixed(),
    ...eip8004Shape,
    ...evidenceShape,
    metadata: proofBundleMetadataV1Schema.optional(),
  })
  .check(requireAnyOf(PROOF_BUNDLE_EVIDENCE_KEYS));
export type ProofBundleV1 = z.infer<typeof proofBundleV1Schema>;

export const PROOF_VISIBILITIES = ['public', 'owner', 'requester', 'auditor'] as const;
const ENCRYPTED_VISIBILITIES: readonly unknown[] = ['owner', 'requester', 'auditor'];

export const encryptedPayloadSchema = z.strictObject({
  ciphertext_b64u: b64u(1),
  iv_b64u: jsonString({ pattern: '^[A-Za-z0-9_-]{16}$' }),
  tag_b64u: jsonString({ pattern: '^[A-Za-z0-9_-]{22}$' }),
  plaintext_hash_b64u: b64u().optional(),
});

export const viewerKeySchema = z.strictObject({
  viewer_did: didPrefixed(),
  ephemeral_public_key_b64u: jsonString({ pattern: '^[A-Za-z0-9_-]{43}$' }),
  wrapped_key_b64u: b64u(43),
  wrapped_key_iv_b64u: jsonString({ pattern: '^[A-Za-z0-9_-]{16}$' }).optional(),
  wrapped_key_tag_b64u: jsonString({ pattern: '^[A-Za-z0-9_-]{22}$' }).optional(),
  role: z.enum(['owner', 'requester', 'auditor']).optional(),
  key_derivation: z.literal('X25519-HKDF-SHA256').optional(),
});

export const proofBundleV2Schema = z
  .strictObject({
    bundle_version: z.enum(['1', '2']),
    schema_version: z.literal('proof_bundle.v2').optional(),
    bundle_id: nonEmpty(),
    agent_did: didPrefixed(),
    ...eip8004Shape,
    // The schema's `default: "public"` is an annotation: nothing is filled in.
    visibility: z.enum(PROOF_VISIBILITIES).optional(),
    encrypted_payload: encryptedPayloadSchema.optional(),
    viewer_keys: jsonArray(viewerKeySchema, { minItems: 1, maxItems: 64 }).optional(),
    ...evidenceShape,
    metadata: proofBundleMetadataV2Schema.optional(),
  })
  .check(requireAnyOf(PROOF_BUNDLE_EVIDENCE_KEYS))
  .check(
    // if visibility ∈ {owner, requester, auditor} then encrypted_payload and viewer_keys are required.
    objectRule((value, ctx) => {
      if (!ENCRYPTED_VISIBILITIES.includes(value.visibility)) return;
      for (const key of ['encrypted_payload', 'viewer_keys']) {
        if (value[key] === undefined) {
          ctx.addIssue({
            code: 'custom',
            input: value,
            path: [key],
            message: `must have required property '${key}' when visibility is ${String(value.visibility)}`,
            params: { keyword: 'if' },
          });
        }
      }
    }),
  );
export type ProofBundleV2 = z.infer<typeof proofBundleV2Schema>;
