/** `poh/trust_pulse.v1.json`: a self-reported, redacted, non-tier summary of a run (tools, file touches). */
import { z } from 'zod';
import { dateTime, didPrefixed, jsonArray, jsonInteger, jsonString, nonEmpty } from './keywords';

export const trustPulseV1Schema = z.strictObject({
  trust_pulse_version: z.literal('1'),
  trust_pulse_id: nonEmpty().optional(),
  run_id: nonEmpty(),
  agent_did: didPrefixed(),
  issued_at: dateTime(),
  evidence_class: z.literal('self_reported'),
  tier_uplift: z.literal(false),
  started_at: dateTime().optional(),
  ended_at: dateTime().optional(),
  duration_ms: jsonInteger({ minimum: 0 }).optional(),
  tools: jsonArray(
    z.strictObject({ name: jsonString({ minLength: 1, maxLength: 128 }), calls: jsonInteger({ minimum: 0 }) }),
    { maxItems: 128 },
  ),
  files: jsonArray(
    z.strictObject({
      // A safe relative path: no leading '/', no '~', no backslash, no '..' segment.
      path: jsonString({
        minLength: 1,
        maxLength: 1024,
        pattern: '^(?!/)(?!~)(?!.*\\\\)(?!.*(?:^|/)\\.\\.(?:/|$)).+$',
      }),
      touches: jsonInteger({ minimum: 0 }),
    }),
    { maxItems: 512 },
  ),
});
export type TrustPulseV1 = z.infer<typeof trustPulseV1Schema>;
