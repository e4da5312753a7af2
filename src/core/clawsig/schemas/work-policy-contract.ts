/**
 * Work Policy Contracts: `policy/work_policy_contract.v1.json`, `policy/work_policy_contract.v2.json`
 * and `policy/work_policy_contract_envelope.v1.json` (whose payload is v1 only).
 */
import { z } from 'zod';
import { anyObject, b64u, dateTime, jsonArray, jsonNumber, jsonRecord, jsonString, maxProperties } from './keywords';

const policyId = () => jsonString({ minLength: 1, maxLength: 128 });
const issuerDid = () => jsonString({ pattern: '^did:', minLength: 4, maxLength: 256 });

export const workPolicyContractV1Schema = z.strictObject({
  policy_version: z.literal('1'),
  policy_id: policyId(),
  issuer_did: issuerDid(),
  allowed_providers: jsonArray(z.enum(['openai', 'anthropic', 'google']), { maxItems: 16 }).optional(),
  allowed_models: jsonArray(jsonString({ minLength: 1, maxLength: 256 }), { maxItems: 256 }).optional(),
  minimum_model_identity_tier: z
    .enum(['closed_opaque', 'closed_provider_manifest', 'openweights_hashable', 'tee_measured'])
    .optional(),
  required_audit_packs: jsonArray(jsonString({ pattern: '^[A-Za-z0-9_-]+$', minLength: 8, maxLength: 128 }), {
    maxItems: 64,
  }).optional(),
  redaction_rules: jsonArray(
    z.strictObject({
      path: jsonString({ minLength: 1, maxLength: 512 }),
      action: z.enum(['remove', 'hash', 'mask']),
    }),
    { maxItems: 256 },
  ).optional(),
  receipt_privacy_mode: z.enum(['hash_only', 'encrypted']).optional(),
  egress_allowlist: jsonArray(jsonString({ minLength: 1, maxLength: 256 }), { maxItems: 256 }).optional(),
  metadata: anyObject().optional(),
});
export type WorkPolicyContractV1 = z.infer<typeof workPolicyContractV1Schema>;

/** `$defs/ConditionMap`: up to 16 context keys, each mapped to a string of at most 512 characters. */
export const wpcConditionMapSchema = jsonRecord(jsonString({ maxLength: 512 })).check(maxProperties(16));

export const WPC_CONDITION_OPERATORS = [
  'StringEquals',
  'StringNotEquals',
  'StringLike',
  'StringNotLike',
  'NumericEquals',
  'NumericLessThan',
  'NumericGreaterThan',
  'Bool',
  'IpAddress',
] as const;

/** `$defs/PolicyStatement`. */
export const wpcPolicyStatementSchema = z.strictObject({
  sid: jsonString({ minLength: 1, maxLength: 128 }),
  effect: z.enum(['Allow', 'Deny']),
  actions: jsonArray(jsonString({ minLength: 1, maxLength: 256 }), { minItems: 1, maxItems: 64 }),
  resources: jsonArray(jsonString({ minLength: 1, maxLength: 512 }), { minItems: 1, maxItems: 256 }),
  conditions: z
    .strictObject({
      StringEquals: wpcConditionMapSchema.optional(),
      StringNotEquals: wpcConditionMapSchema.optional(),
      StringLike: wpcConditionMapSchema.optional(),
      StringNotLike: wpcConditionMapSchema.optional(),
      NumericEquals: wpcConditionMapSchema.optional(),
      NumericLessThan: wpcConditionMapSchema.optional(),
      NumericGreaterThan: wpcConditionMapSchema.optional(),
      Bool: wpcConditionMapSchema.optional(),
      IpAddress: wpcConditionMapSchema.optional(),
    })
    .optional(),
});
export type WpcPolicyStatement = z.infer<typeof wpcPolicyStatementSchema>;

/** `$defs/WitnessedWebPolicy` (its `default`s are annotations: nothing is filled in). */
export const wpcWitnessedWebPolicySchema = z.strictObject({
  mode: z.enum(['warn', 'enforce']).optional(),
  quorum: z
    .strictObject({
      m: jsonNumber({ minimum: 1 }),
      n: jsonNumber({ minimum: 1 }),
    })
    .optional(),
  transparency: z
    .strictObject({
      mode: z.enum(['optional', 'warn', 'enforce']).optional(),
      required_after: dateTime().optional(),
    })
    .optional(),
});

export const workPolicyContractV2Schema = z.strictObject({
  policy_version: z.literal('2'),
  policy_id: policyId(),
  issuer_did: issuerDid(),
  inherits: jsonString({ minLength: 1, maxLength: 128 }).optional(),
  coverage_enforcement: z.enum(['observe', 'warn', 'enforce']).optional(),
  witnessed_web_policy: wpcWitnessedWebPolicySchema.optional(),
  statements: jsonArray(wpcPolicyStatementSchema, { minItems: 1, maxItems: 64 }),
  metadata: anyObject().optional(),
});
export type WorkPolicyContractV2 = z.infer<typeof workPolicyContractV2Schema>;

export const workPolicyContractEnvelopeV1Schema = z.strictObject({
  envelope_version: z.literal('1'),
  envelope_type: z.literal('work_policy_contract'),
  payload: workPolicyContractV1Schema,
  payload_hash_b64u: b64u(),
  hash_algorithm: z.literal('SHA-256'),
  signature_b64u: b64u(),
  algorithm: z.literal('Ed25519'),
  signer_did: jsonString({ pattern: '^did:', minLength: 4 }),
  issued_at: dateTime(),
});
export type WorkPolicyContractEnvelopeV1 = z.infer<typeof workPolicyContractEnvelopeV1Schema>;
