/** `poh/log_inclusion_proof.v1.json`: a Merkle inclusion proof for a clawlogs entry. */
import { z } from 'zod';
import { anyObject, b64u, dateTime, didPrefixed, jsonArray, jsonNumber, jsonString } from './keywords';

export const logInclusionProofV1Schema = z.strictObject({
  proof_version: z.literal('1'),
  log_id: jsonString({ minLength: 1 }),
  tree_size: jsonNumber({ minimum: 0 }),
  leaf_hash_b64u: b64u(),
  root_hash_b64u: b64u(),
  audit_path: jsonArray(b64u()),
  root_published_at: dateTime(),
  root_signature: z.strictObject({
    signer_did: didPrefixed(),
    sig_b64u: b64u(),
  }),
  metadata: anyObject().optional(),
});
export type LogInclusionProofV1 = z.infer<typeof logInclusionProofV1Schema>;
