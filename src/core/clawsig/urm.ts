import type { ReasonCode } from '../reason-codes';
import { stringifyHashB64u } from './hashing';
import { isJsonObject } from './json';
import { formatIssuePath, urmV1Schema, validateWith, type UrmV1 } from './schemas';

/**
 * Universal Run Manifest (URM) verification, as the reference core does it when a bundle's payload
 * carries `urm` (clawverify-core POH-US-015). The bundle signs only a reference
 * (`{urm_version, urm_id, resource_type, resource_hash_b64u}`); the manifest itself travels beside
 * the bundle. Without it the bundle fails: a reference to nothing proves nothing.
 *
 * Order and codes (each aborts):
 * 1. no manifest supplied                                   URM_MISSING
 * 2. manifest breaks `poh/urm.v1.json`                      SCHEMA_VALIDATION_FAILED
 * 3. `urm_id` ≠ the reference's `urm_id`                    URM_MISMATCH
 * 4. `agent_did` ≠ the bundle's `agent_did`                 URM_MISMATCH
 * 5. (event chain valid) `run_id` ≠ the chain's run id      URM_MISMATCH
 * 6. (event chain valid) `event_chain_root_hash_b64u`, when present, ≠ the chain root   URM_MISMATCH
 * 7. stringify-hash of the manifest ≠ `resource_hash_b64u`  HASH_MISMATCH
 * (ids are compared after trimming, as the reference does.)
 */

/** The reference a bundle signs (`proof_bundle.v1.json` `urm`). */
export interface UrmReference {
  urmVersion: '1';
  urmId: string;
  resourceType: string;
  resourceHashB64u: string;
}

/** What a verified manifest tells a reader (and what issue 12's Trust Pulse binding reads). */
export interface UrmFacts {
  urmId: string;
  runId: string;
  agentDid: string;
  issuedAt: string;
  harness: { id: string; version: string; runtime?: string };
  /** The manifest's stringify-hash (= the reference's `resource_hash_b64u` once verified). */
  hashB64u: string;
  /** Declared outputs (type, hash), e.g. the `trust_pulse` artifact hash. */
  outputs: { type: string; hashB64u: string; path?: string }[];
  /** `metadata.trust_pulse.artifact_hash_b64u`, when the harness recorded a Trust Pulse. */
  trustPulseHashB64u?: string;
}

export interface UrmContext {
  agentDid: string;
  /** The event chain's run id and root hash, when the chain verified. */
  chain?: { runId: string; rootHash: string };
}

export type UrmOutcome = { ok: true; facts: UrmFacts } | { ok: false; code: ReasonCode; path: string };

/** Reads `payload.urm`; undefined when it is not a well-formed reference (the schema already ran). */
export function readUrmReference(value: unknown): UrmReference | undefined {
  if (!isJsonObject(value)) return undefined;
  const { urm_version, urm_id, resource_type, resource_hash_b64u } = value;
  if (
    urm_version !== '1' ||
    typeof urm_id !== 'string' ||
    typeof resource_type !== 'string' ||
    typeof resource_hash_b64u !== 'string'
  )
    return undefined;
  return { urmVersion: '1', urmId: urm_id, resourceType: resource_type, resourceHashB64u: resource_hash_b64u };
}

function trimmed(value: unknown): string | null {
  return typeof value === 'string' ? value.trim() : null;
}

function factsOf(urm: UrmV1, hash: string): UrmFacts {
  const pulse =
    isJsonObject(urm.metadata) && isJsonObject(urm.metadata.trust_pulse)
      ? urm.metadata.trust_pulse.artifact_hash_b64u
      : undefined;
  return {
    urmId: urm.urm_id,
    runId: urm.run_id,
    agentDid: urm.agent_did,
    issuedAt: urm.issued_at,
    harness: { id: urm.harness.id, version: urm.harness.version, runtime: urm.harness.runtime },
    hashB64u: hash,
    outputs: urm.outputs.map((o) => ({ type: o.type, hashB64u: o.hash_b64u, path: o.path })),
    trustPulseHashB64u: typeof pulse === 'string' ? pulse : undefined,
  };
}

/** Verifies a supplied manifest (`document`, parsed JSON) against the bundle's reference. Pure. */
export function verifyUrm(reference: UrmReference, document: unknown, context: UrmContext): UrmOutcome {
  if (document === undefined) return { ok: false, code: 'URM_MISSING', path: 'urm' };
  const schema = validateWith(urmV1Schema, document);
  if (!schema.ok) {
    const first = schema.issues[0];
    return { ok: false, code: 'SCHEMA_VALIDATION_FAILED', path: first ? `urm.${formatIssuePath(first.path)}` : 'urm' };
  }
  const urm = schema.value;
  if (trimmed(urm.urm_id) !== reference.urmId) return { ok: false, code: 'URM_MISMATCH', path: 'urm.urm_id' };
  if (trimmed(urm.agent_did) !== context.agentDid) return { ok: false, code: 'URM_MISMATCH', path: 'urm.agent_did' };
  if (context.chain) {
    if (trimmed(urm.run_id) !== context.chain.runId) return { ok: false, code: 'URM_MISMATCH', path: 'urm.run_id' };
    const root = trimmed(urm.event_chain_root_hash_b64u);
    if (root !== null && root !== context.chain.rootHash)
      return { ok: false, code: 'URM_MISMATCH', path: 'urm.event_chain_root_hash_b64u' };
  }
  // The manifest as received (parsed, then JSON.stringify-hashed, like every Clawsig payload).
  const hash = stringifyHashB64u(document);
  if (hash !== reference.resourceHashB64u)
    return { ok: false, code: 'HASH_MISMATCH', path: 'payload.urm.resource_hash_b64u' };
  return { ok: true, facts: factsOf(urm, hash) };
}

/**
 * The sibling file name the reference CLI loads for a bundle file: `<name>-bundle.json` →
 * `<name>-urm.json` (and `-trust-pulse.json` for the Trust Pulse). Undefined for other names.
 */
export function siblingArtifactName(bundleFileName: string, kind: 'urm' | 'trust-pulse'): string | undefined {
  const match = /^(.*)-bundle\.json$/.exec(bundleFileName);
  return match ? `${match[1]}-${kind}.json` : undefined;
}
