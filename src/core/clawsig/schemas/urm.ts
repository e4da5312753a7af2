/** `poh/urm.v1.json`: the Universal Run Manifest a proof bundle's `payload.urm` references by hash. */
import { z } from 'zod';
import { anyObject, b64u, dateTime, didPrefixed, jsonArray, jsonInteger, jsonString, nonEmpty } from './keywords';

const resource = z.strictObject({
  type: nonEmpty(),
  hash_b64u: b64u(),
  content_type: z.string().optional(),
  uri: jsonString({ format: 'uri' }).optional(),
  path: z.string().optional(),
  size_bytes: jsonInteger({ minimum: 0 }).optional(),
  metadata: anyObject().optional(),
});

export const urmV1Schema = z.strictObject({
  urm_version: z.literal('1'),
  urm_id: nonEmpty(),
  run_id: nonEmpty(),
  agent_did: didPrefixed(),
  issued_at: dateTime(),
  harness: z.strictObject({
    id: nonEmpty(),
    version: nonEmpty(),
    runtime: z.string().optional(),
    config_hash_b64u: b64u().optional(),
    metadata: anyObject().optional(),
  }),
  inputs: jsonArray(resource),
  outputs: jsonArray(resource),
  event_chain_root_hash_b64u: b64u().optional(),
  receipts_root_hash_b64u: b64u().optional(),
  proof_bundle_hash_b64u: b64u().optional(),
  metadata: anyObject().optional(),
});
export type UrmV1 = z.infer<typeof urmV1Schema>;
