/** `poh/model_identity.v1.json`: what can and cannot be claimed about the model behind a receipt. */
import { z } from 'zod';
import { anyObject, b64u, dateTime, didPrefixed, jsonArray, jsonNumber, jsonString } from './keywords';

export const MODEL_IDENTITY_TIERS = [
  'closed_opaque',
  'closed_provider_manifest',
  'openweights_hashable',
  'tee_measured',
] as const;

const resourceRef = () =>
  z.strictObject({
    resource_type: jsonString({ minLength: 1 }),
    resource_hash_b64u: b64u(),
    uri: z.string().optional(),
  });

export const modelIdentityV1Schema = z.strictObject({
  model_identity_version: z.literal('1'),
  tier: z.enum(MODEL_IDENTITY_TIERS),
  model: z.strictObject({
    provider: jsonString({ minLength: 1 }),
    name: jsonString({ minLength: 1 }),
    family: z.string().optional(),
    endpoint: z.string().optional(),
    region: z.string().optional(),
    deployment_id: z.string().optional(),
    revision: z.string().optional(),
  }),
  gateway_observed: z
    .strictObject({
      gateway_id: didPrefixed(),
      observed_at: dateTime(),
      request_id: z.string().optional(),
      provider_response_fingerprint: z.string().optional(),
      transport: z
        .strictObject({
          provider_api: z.string().optional(),
          http_status: jsonNumber({ minimum: 0 }).optional(),
          latency_ms: jsonNumber({ minimum: 0 }).optional(),
        })
        .optional(),
    })
    .optional(),
  artifacts: z
    .strictObject({
      provider_manifest: z
        .strictObject({
          manifest_type: z.literal('provider_build_manifest'),
          uri: z.string().optional(),
          hash_b64u: b64u(),
          content_type: z.string().optional(),
          signature: z
            .strictObject({
              signer_did: didPrefixed(),
              signature_envelope_ref: resourceRef(),
            })
            .optional(),
        })
        .optional(),
      openweights: z
        .strictObject({
          weights_format: z.string().optional(),
          weights: jsonArray(
            z.strictObject({
              file_name: z.string().optional(),
              hash_b64u: b64u(),
              size_bytes: jsonNumber({ minimum: 0 }).optional(),
            }),
          ).optional(),
          tokenizer: anyObject().optional(),
          config: anyObject().optional(),
          serving_code: anyObject().optional(),
        })
        .optional(),
      tee_measurement: z
        .strictObject({
          attestation_type: z.string().optional(),
          attestation_report_ref: resourceRef().optional(),
          measurement: anyObject().optional(),
          tcb: anyObject().optional(),
        })
        .optional(),
    })
    .optional(),
  metadata: anyObject().optional(),
});
export type ModelIdentityV1 = z.infer<typeof modelIdentityV1Schema>;
