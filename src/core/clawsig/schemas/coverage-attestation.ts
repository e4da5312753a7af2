/** `poh/coverage_attestation.v1.json` and its envelope: monitoring completeness and absence of bypass. */
import { z } from 'zod';
import { anyObject, b64u, dateTime, didPrefixed, jsonInteger, jsonString } from './keywords';
import { standardEnvelope } from './signed-envelope';

export const coverageAttestationV1Schema = z.strictObject({
  attestation_version: z.literal('1'),
  attestation_id: jsonString({ minLength: 1 }),
  run_id: jsonString({ minLength: 1 }),
  agent_did: didPrefixed(),
  sentinel_did: didPrefixed(),
  issued_at: dateTime(),
  binding: z.strictObject({
    event_chain_root_hash_b64u: b64u(),
  }),
  metrics: z.strictObject({
    lineage: z.strictObject({
      root_pid: jsonInteger({ minimum: 1 }),
      processes_tracked: jsonInteger({ minimum: 0 }),
      unmonitored_spawns: jsonInteger({ minimum: 0 }),
      escapes_suspected: z.boolean(),
    }),
    egress: z.strictObject({
      connections_total: jsonInteger({ minimum: 0 }),
      unmediated_connections: jsonInteger({ minimum: 0 }),
    }),
    liveness: z.strictObject({
      status: z.enum(['continuous', 'interrupted']),
      uptime_ms: jsonInteger({ minimum: 0 }),
      heartbeat_interval_ms: jsonInteger({ minimum: 1 }),
      max_gap_ms: jsonInteger({ minimum: 0 }),
    }),
  }),
  metadata: anyObject().optional(),
});
export type CoverageAttestationV1 = z.infer<typeof coverageAttestationV1Schema>;

export const coverageAttestationEnvelopeV1Schema = standardEnvelope(
  'coverage_attestation',
  coverageAttestationV1Schema,
);
export type CoverageAttestationEnvelopeV1 = z.infer<typeof coverageAttestationEnvelopeV1Schema>;
