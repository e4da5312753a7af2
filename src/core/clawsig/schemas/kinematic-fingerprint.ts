/** `poh/kinematic_fingerprint.v1.json`: streaming-timing fingerprint of the serving hardware. */
import { z } from 'zod';
import { jsonInteger, jsonNumber } from './keywords';

export const kinematicFingerprintV1Schema = z.strictObject({
  ttft_ms: jsonNumber(),
  itl_p50_ms: jsonNumber(),
  itl_p95_ms: jsonNumber(),
  itl_stddev_ms: jsonNumber(),
  chunk_count: jsonInteger(),
  burst_signature_b64u: z.string(),
  hardware_inferred: z.string().optional(),
  confidence_score: jsonNumber({ minimum: 0, maximum: 1 }).optional(),
  total_tokens: jsonInteger().optional(),
  total_duration_ms: jsonNumber().optional(),
});
export type KinematicFingerprintV1 = z.infer<typeof kinematicFingerprintV1Schema>;
