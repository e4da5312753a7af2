/**
 * Verifiable Inference Receipts: `poh/vir.v1.json`, `poh/vir.v2.json`, `poh/vir_envelope.v1.json`,
 * `poh/vir_envelope.v2.json`, and the `oneOf` that `proof_bundle.v1.json` applies to `vir_receipts[]`.
 * Both payload versions are open objects (unknown keys allowed); the envelopes are strict and,
 * unlike most envelopes, have no `expires_at`.
 */
import { z } from 'zod';
import {
  anyObject,
  b64u,
  dateTime,
  didPrefixed,
  field,
  jsonArray,
  jsonNumber,
  jsonRecord,
  jsonString,
  nonEmpty,
  oneOf,
} from './keywords';
import { standardEnvelopeWithoutExpiry } from './signed-envelope';

const atLeast8 = () => jsonString({ minLength: 8 });

export const VIR_SOURCES = ['tls_decrypt', 'gateway', 'interpose', 'preload', 'sni'] as const;

export const virV1Schema = z.looseObject({
  receipt_version: z.literal('1'),
  receipt_id: nonEmpty(),
  source: z.enum(VIR_SOURCES),
  provider: nonEmpty(),
  model: nonEmpty(),
  model_claimed: z.string().optional(),
  model_observed: z.string().optional(),
  request_hash_b64u: z.string(),
  response_hash_b64u: z.string(),
  tokens_input: jsonNumber({ minimum: 0 }),
  tokens_output: jsonNumber({ minimum: 0 }),
  latency_ms: jsonNumber({ minimum: 0 }),
  agent_did: didPrefixed(),
  timestamp: dateTime(),
  binding: z
    .looseObject({
      run_id: nonEmpty().optional(),
      event_hash_b64u: atLeast8().optional(),
      nonce: nonEmpty().optional(),
    })
    .optional(),
  transport_attestation: z
    .strictObject({
      source: z.enum(VIR_SOURCES).optional(),
      keylog_present: z.boolean().optional(),
      cipher_spool_present: z.boolean().optional(),
      decrypted_match: z.boolean().nullable().optional(),
    })
    .optional(),
  process_attestation: z
    .strictObject({
      harness_attestation_hash: z.string().nullable().optional(),
      harness_recheck_match: z.boolean().optional(),
      interpose_active: z.boolean().optional(),
    })
    .optional(),
  semantic_attestation: z
    .strictObject({
      tool_calls_count: jsonNumber({ minimum: 0 }).optional(),
      side_effect_receipts_count: jsonNumber({ minimum: 0 }).optional(),
      event_chain_len: jsonNumber({ minimum: 0 }).optional(),
    })
    .optional(),
  selective_disclosure: z
    .looseObject({
      merkle_root_b64u: b64u().optional(),
      leaf_hashes_b64u: jsonArray(atLeast8()).optional(),
      disclosed_leaves: jsonRecord(atLeast8()).optional(),
      redacted_fields: jsonArray(nonEmpty()).optional(),
    })
    .optional(),
  merkle_disclosure: z
    .strictObject({
      chain_hash: nonEmpty().optional(),
      event_count: jsonNumber({ minimum: 0 }).optional(),
    })
    .optional(),
  metadata: anyObject().optional(),
});
export type VirV1 = z.infer<typeof virV1Schema>;

export const virV2Schema = z.looseObject({
  receipt_version: z.literal('2'),
  receipt_id: nonEmpty(),
  source: z.enum(VIR_SOURCES),
  provider: nonEmpty(),
  model: nonEmpty().optional(),
  model_claimed: z.string(),
  model_observed: z.string(),
  request_hash_b64u: atLeast8().optional(),
  response_hash_b64u: atLeast8().optional(),
  tokens_input: jsonNumber({ minimum: 0 }).optional(),
  tokens_output: jsonNumber({ minimum: 0 }).optional(),
  latency_ms: jsonNumber({ minimum: 0 }).optional(),
  agent_did: didPrefixed(),
  timestamp: dateTime(),
  binding: z
    .looseObject({
      run_id: nonEmpty().optional(),
      event_hash_b64u: atLeast8().optional(),
      nonce: nonEmpty().optional(),
      subject: didPrefixed().optional(),
      subject_did: didPrefixed().optional(),
      scope: nonEmpty().optional(),
      scope_hash_b64u: atLeast8().optional(),
    })
    .optional(),
  legal_binding: z.strictObject({
    nonce: atLeast8(),
    subject_did: didPrefixed(),
    scope_hash_b64u: atLeast8(),
    job_id: z.string().optional(),
    contract_id: z.string().optional(),
    policy_hash_b64u: atLeast8().optional(),
    jurisdiction: z.string().optional(),
  }),
  evidence_conflicts: jsonArray(
    z.strictObject({
      field: nonEmpty(),
      authoritative_source: z.enum(VIR_SOURCES),
      divergent_source: z.enum(VIR_SOURCES),
      authoritative_value: z.unknown(),
      divergent_value: z.unknown(),
    }),
  ).optional(),
  selective_disclosure: z.strictObject({
    disclosure_algorithm: z.enum(['vir_v2_typed_lexicographical']),
    merkle_root_b64u: b64u(),
    redacted_leaf_hashes_b64u: jsonArray(b64u()),
    disclosed_leaves: jsonRecord(
      z.strictObject({
        // Narrower than selective_disclosure.v1: no "array"/"object" leaves.
        type: z.enum(['string', 'number', 'boolean', 'null']),
        value: z.unknown(),
        salt_b64u: b64u(),
      }),
    ),
  }),
  metadata: anyObject().optional(),
});
export type VirV2 = z.infer<typeof virV2Schema>;

export const virEnvelopeV1Schema = standardEnvelopeWithoutExpiry('vir_receipt', virV1Schema);
export type VirEnvelopeV1 = z.infer<typeof virEnvelopeV1Schema>;

/** Same `envelope_version: "1"` as the v1 envelope; only the payload differs. */
export const virEnvelopeV2Schema = standardEnvelopeWithoutExpiry('vir_receipt', virV2Schema);
export type VirEnvelopeV2 = z.infer<typeof virEnvelopeV2Schema>;

/** `proof_bundle.v1#/properties/vir_receipts/items`: exactly one of the four forms. */
export const proofBundleVirReceiptSchema = oneOf([
  { name: 'vir.v1', schema: virV1Schema, admits: (v) => field(v, 'receipt_version') === '1' },
  { name: 'vir.v2', schema: virV2Schema, admits: (v) => field(v, 'receipt_version') === '2' },
  {
    name: 'vir_envelope.v1',
    schema: virEnvelopeV1Schema,
    admits: (v) => field(v, 'envelope_version') === '1' && field(field(v, 'payload'), 'receipt_version') === '1',
  },
  {
    name: 'vir_envelope.v2',
    schema: virEnvelopeV2Schema,
    admits: (v) => field(v, 'envelope_version') === '1' && field(field(v, 'payload'), 'receipt_version') === '2',
  },
]);
export type ProofBundleVirReceipt = z.infer<typeof proofBundleVirReceiptSchema>;
