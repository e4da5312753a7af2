/**
 * `poh/gateway_receipt.v1.json` and `poh/gateway_receipt_envelope.v1.json`.
 *
 * The proof bundle does not reference these files: `proof_bundle.v1.json` inlines its own copy of
 * the receipt envelope, whose `metadata` knows fewer keys (no x402_*, log_inclusion_proof,
 * kinematic_fingerprint, sentinel_anomaly_report). Since `metadata` is open, those keys are
 * unchecked inside a bundle but checked here; both variants are exported.
 */
import { z } from 'zod';
import { b64u, dateTime, jsonArray, jsonInteger, jsonNumber, nonEmpty } from './keywords';
import { kinematicFingerprintV1Schema } from './kinematic-fingerprint';
import { logInclusionProofV1Schema } from './log-inclusion-proof';
import { modelIdentityV1Schema } from './model-identity';
import { receiptBindingV1Schema } from './receipt-binding';
import { sentinelAnomalyReportV1Schema } from './sentinel-anomaly-report';
import { standardEnvelope } from './signed-envelope';

const auditResultRef = z.strictObject({
  resource_type: z.string().optional(),
  resource_hash_b64u: b64u(),
  uri: z.string().optional(),
});

/** Metadata keys the bundle's inline receipt schema knows. */
const inlineMetadataShape = {
  model_identity: modelIdentityV1Schema.optional(),
  model_identity_hash_b64u: b64u().optional(),
  audit_result_refs: jsonArray(auditResultRef).optional(),
};

const standaloneMetadataShape = {
  ...inlineMetadataShape,
  x402_payment_ref: nonEmpty().optional(),
  x402_amount_minor: jsonInteger({ minimum: 0 }).optional(),
  x402_currency: nonEmpty().optional(),
  x402_network: nonEmpty().optional(),
  x402_payment_auth_hash_b64u: b64u().optional(),
  log_inclusion_proof: logInclusionProofV1Schema.optional(),
  kinematic_fingerprint: kinematicFingerprintV1Schema.optional(),
  sentinel_anomaly_report: sentinelAnomalyReportV1Schema.optional(),
};

function gatewayReceiptPayload<M extends z.core.$ZodLooseShape>(metadataShape: M) {
  return z.strictObject({
    receipt_version: z.literal('1'),
    receipt_id: nonEmpty(),
    gateway_id: nonEmpty(),
    provider: nonEmpty(),
    model: nonEmpty(),
    request_hash_b64u: b64u(),
    response_hash_b64u: b64u(),
    // Plain numbers >= 0 in the schema; integer-ness and upper bounds are verifier rules.
    tokens_input: jsonNumber({ minimum: 0 }),
    tokens_output: jsonNumber({ minimum: 0 }),
    latency_ms: jsonNumber({ minimum: 0 }),
    timestamp: dateTime(),
    binding: receiptBindingV1Schema.optional(),
    metadata: z.looseObject(metadataShape).optional(),
  });
}

export const gatewayReceiptV1Schema = gatewayReceiptPayload(standaloneMetadataShape);

/**
 * The standalone schema's `metadata`: the only part where it differs from the bundle's inline copy,
 * so a receipt that passed the bundle schema needs only this checked against the standalone one.
 */
export const gatewayReceiptStandaloneMetadataSchema = z.looseObject(standaloneMetadataShape);
export type GatewayReceiptV1 = z.infer<typeof gatewayReceiptV1Schema>;

export const gatewayReceiptEnvelopeV1Schema = standardEnvelope('gateway_receipt', gatewayReceiptV1Schema);
export type GatewayReceiptEnvelopeV1 = z.infer<typeof gatewayReceiptEnvelopeV1Schema>;

/** A `payload.receipts[i].payload` as `proof_bundle.v1.json` validates it (inline copy). */
export const proofBundleGatewayReceiptSchema = gatewayReceiptPayload(inlineMetadataShape);
export type ProofBundleGatewayReceipt = z.infer<typeof proofBundleGatewayReceiptSchema>;

/** A `payload.receipts[i]` as `proof_bundle.v1.json` validates it (inline copy). */
export const proofBundleGatewayReceiptEnvelopeSchema = standardEnvelope(
  'gateway_receipt',
  proofBundleGatewayReceiptSchema,
);
export type ProofBundleGatewayReceiptEnvelope = z.infer<typeof proofBundleGatewayReceiptEnvelopeSchema>;
