/** `poh/selective_disclosure.v1.json`: salted-leaf Merkle disclosure of tool arguments or results. */
import { z } from 'zod';
import { b64u, jsonArray, jsonRecord } from './keywords';

export const DISCLOSED_LEAF_TYPES = ['string', 'number', 'boolean', 'null', 'array', 'object'] as const;

export const disclosedLeafSchema = z.strictObject({
  type: z.enum(DISCLOSED_LEAF_TYPES),
  // `value: {}`: any JSON value, but the key must be present (it is required).
  value: z.unknown(),
  salt_b64u: b64u(),
});

export const selectiveDisclosureV1Schema = z.strictObject({
  disclosure_algorithm: z.literal('vir_v2_typed_lexicographical'),
  merkle_root_b64u: b64u(),
  redacted_leaf_hashes_b64u: jsonArray(b64u()),
  disclosed_leaves: jsonRecord(disclosedLeafSchema),
});
export type SelectiveDisclosureV1 = z.infer<typeof selectiveDisclosureV1Schema>;
