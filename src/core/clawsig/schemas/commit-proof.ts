/** `poh/commit_proof.v1.json`: the payload of a `commit_proof` SignedEnvelope. */
import { z } from 'zod';
import { anyObject, jsonString } from './keywords';

export const commitProofV1Schema = z.strictObject({
  proof_version: z.literal('1'),
  repo_claim_id: jsonString({ minLength: 1 }),
  // Abbreviated SHAs (7 hex) pass the schema; either case is accepted.
  commit_sha: jsonString({ pattern: '^[a-fA-F0-9]{7,64}$' }),
  repository: jsonString({ minLength: 1 }),
  branch: z.string().optional(),
  run_id: z.string().optional(),
  proof_bundle_hash_b64u: z.string().optional(),
  harness: z
    .strictObject({
      id: z.string().optional(),
      version: z.string().optional(),
    })
    .optional(),
  metadata: anyObject().optional(),
});
export type CommitProofV1 = z.infer<typeof commitProofV1Schema>;
