/** `poh/binary_semantic_evidence.v1.json` and its envelope: static binary capability evidence. */
import { z } from 'zod';
import { anyObject, b64u, jsonInteger } from './keywords';
import { standardEnvelopeWithoutExpiry } from './signed-envelope';

const presence = () => z.enum(['PRESENT', 'ABSENT', 'UNKNOWN']);

export const binarySemanticEvidenceV1Schema = z.strictObject({
  evidence_version: z.literal('1'),
  binary_hash_b64u: b64u(),
  binary_profile: z.strictObject({
    target_architecture: z.enum(['x86_64', 'arm64', 'x86', 'arm', 'riscv64', 'unknown']),
    linkage: z.enum(['STATIC', 'DYNAMIC', 'UNKNOWN']),
    symbols: z.enum(['STRIPPED', 'INTACT', 'UNKNOWN']),
    is_sip_protected: z.boolean(),
  }),
  extracted_claims: z.strictObject({
    network_egress: presence(),
    dynamic_code_generation: presence(),
  }),
  causality_metrics: z.strictObject({
    merkle_chain_intact: z.boolean(),
    unattested_children_spawned: z.boolean(),
  }),
  forensic_metrics: z.strictObject({
    static_analysis_budget_exhausted: z.boolean(),
    parser_timeout: z.boolean(),
    normalized_regions_scanned: jsonInteger({ minimum: 0 }),
  }),
  metadata: anyObject().optional(),
});
export type BinarySemanticEvidenceV1 = z.infer<typeof binarySemanticEvidenceV1Schema>;

export const binarySemanticEvidenceEnvelopeV1Schema = standardEnvelopeWithoutExpiry(
  'binary_semantic_evidence',
  binarySemanticEvidenceV1Schema,
);
export type BinarySemanticEvidenceEnvelopeV1 = z.infer<typeof binarySemanticEvidenceEnvelopeV1Schema>;
