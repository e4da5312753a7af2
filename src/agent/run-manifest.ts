import { stringifyHashB64u } from '../core/clawsig/hashing';
import {
  MAX_TRUST_PULSE_BYTES,
  TRUST_PULSE_SCHEMA_ID,
  trustPulseSchema,
  type TrustPulse,
} from '../core/clawsig/trust-pulse';

export interface TrustPulseBinding {
  /** b64u(SHA-256(JSON.stringify(pulse))): the hash clawgate recomputes. */
  hashB64u: string;
  /** Put under the URM's `metadata.trust_pulse`. */
  urmMetadata: {
    trust_pulse: { schema: string; artifact_hash_b64u: string; evidence_class: 'self_reported'; tier_uplift: false };
  };
  /** Append to the URM's `outputs`. */
  urmOutput: {
    type: 'trust_pulse';
    hash_b64u: string;
    content_type: 'application/json';
    metadata: { schema: string; artifact_hash_b64u: string; evidence_class: 'self_reported'; tier_uplift: false };
  };
}

/**
 * What binds a Trust Pulse to its run's URM. The pulse is checked against trust_pulse.v1 and the
 * 64 KiB limit first; write the pulse file as `JSON.stringify(pulse)` (the hash is over that text).
 */
export function trustPulseBinding(pulse: TrustPulse): TrustPulseBinding {
  const parsed = trustPulseSchema.safeParse(pulse);
  if (!parsed.success)
    throw new TypeError(
      `trustPulseBinding: the pulse does not match trust_pulse.v1 at ${parsed.error.issues[0]?.path.join('.') ?? ''}`,
    );
  const text = JSON.stringify(pulse);
  if (Buffer.byteLength(text, 'utf8') > MAX_TRUST_PULSE_BYTES)
    throw new TypeError(`trustPulseBinding: the pulse is over ${MAX_TRUST_PULSE_BYTES} bytes`);
  const hashB64u = stringifyHashB64u(pulse);
  const ref = {
    schema: TRUST_PULSE_SCHEMA_ID,
    artifact_hash_b64u: hashB64u,
    evidence_class: 'self_reported' as const,
    tier_uplift: false as const,
  };
  return {
    hashB64u,
    urmMetadata: { trust_pulse: ref },
    urmOutput: { type: 'trust_pulse', hash_b64u: hashB64u, content_type: 'application/json', metadata: ref },
  };
}

/** `payload.urm`: the bundle's signed reference to its URM (hash = stringify hash of the URM). */
export function urmReference(urm: { urm_id: string } & Record<string, unknown>): {
  urm_version: '1';
  urm_id: string;
  resource_type: 'universal_run_manifest';
  resource_hash_b64u: string;
} {
  return {
    urm_version: '1',
    urm_id: urm.urm_id,
    resource_type: 'universal_run_manifest',
    resource_hash_b64u: stringifyHashB64u(urm),
  };
}
