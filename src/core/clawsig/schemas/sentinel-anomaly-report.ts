/** `poh/sentinel_anomaly_report.v1.json`: Sentinel's behavioural anomaly assessment. */
import { z } from 'zod';
import { jsonArray, jsonInteger, jsonNumber } from './keywords';

export const SENTINEL_ANOMALY_TYPES = [
  'benign',
  'prompt_injection_suspected',
  'data_exfiltration_topology',
  'alien_trajectory',
  'model_impersonation',
] as const;

export const sentinelAnomalyReportV1Schema = z.strictObject({
  threat_score: jsonNumber({ minimum: 0, maximum: 100 }),
  anomaly_type: z.enum(SENTINEL_ANOMALY_TYPES),
  global_prevalence: jsonInteger().optional(),
  nearest_neighbors: jsonArray(z.string()).optional(),
  confidence: jsonNumber({ minimum: 0, maximum: 1 }).optional(),
});
export type SentinelAnomalyReportV1 = z.infer<typeof sentinelAnomalyReportV1Schema>;
