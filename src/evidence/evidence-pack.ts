import { z } from 'zod';
import { checkEnvelopeSignature } from '../core/clawsig/envelope';
import { jcs, sha256B64u, stringifyHashB64u } from '../core/clawsig/hashing';
import { isJsonObject, type JsonObject } from '../core/clawsig/json';
import { verifyAndEvaluate, type Verdict } from '../core/verdict';
import { verdictToJson } from '../render/verdict-json';
import { recordedInputSchema, restoreEngineInput, type RecordedInput } from './engine-input';

/**
 * Evidence packs (issue 12): one JSON document per evaluation — the bundle, URM, Trust Pulse, CST,
 * WPC, change set and settings the engine read (`engine_input`), the verdict it gave, the PR link
 * and commit SHAs, clawgate's version — signed by the deployment's own Ed25519 key.
 *
 * The document is a Clawsig-style envelope (`envelope_type: clawgate_evidence_pack`): Ed25519 by
 * `signer_did` (a did:key) over `payload_hash_b64u` = b64u(SHA-256(JSON.stringify(payload))). Unlike a
 * Clawsig envelope, every field that matters is inside the signed payload (the signing time too), and
 * the file must be exactly the service's serialization (`JSON.stringify(envelope)` plus one newline):
 * so a change to ANY byte of the file fails verification, not only a change to the payload's meaning.
 */

export const EVIDENCE_PACK_TYPE = 'clawgate_evidence_pack';
export const EVIDENCE_PACK_VERSION = '1';

export interface EvidencePackFacts {
  evaluationId: string;
  workspace: { uuid: string; slug?: string | null };
  repository: string;
  pullRequest: { id: number; url: string | null; sourceBranch?: string | null };
  headSha: string;
  commits: readonly string[];
  clawgateVersion: string;
  evaluatedAt: string;
  bundle: { id: string | null; sha256B64u: string | null; source: string | null };
  policyHashB64u: string | null;
  engineInput: RecordedInput;
  /** The stored verdict record (verdictToJson plus the pipeline's fields). */
  verdict: unknown;
}

export interface EvidenceSignerLike {
  readonly did: string;
  sign(message: string): string;
}

/** The signed document, serialized exactly as served (the verifier requires these bytes). */
export function signEvidencePack(facts: EvidencePackFacts, signer: EvidenceSignerLike, signedAt: string): string {
  const payload = {
    pack_version: EVIDENCE_PACK_VERSION,
    signed_at: signedAt,
    signer_did: signer.did,
    evaluation_id: facts.evaluationId,
    workspace: { uuid: facts.workspace.uuid, slug: facts.workspace.slug ?? null },
    repository: facts.repository,
    pull_request: {
      id: facts.pullRequest.id,
      url: facts.pullRequest.url,
      source_branch: facts.pullRequest.sourceBranch ?? null,
    },
    head_sha: facts.headSha,
    commits: [...facts.commits],
    clawgate_version: facts.clawgateVersion,
    evaluated_at: facts.evaluatedAt,
    bundle: { bundle_id: facts.bundle.id, sha256_b64u: facts.bundle.sha256B64u, source: facts.bundle.source },
    policy_hash_b64u: facts.policyHashB64u,
    engine_input: facts.engineInput,
    verdict: facts.verdict,
  };
  const hash = stringifyHashB64u(payload);
  const envelope = {
    envelope_version: '1',
    envelope_type: EVIDENCE_PACK_TYPE,
    payload,
    payload_hash_b64u: hash,
    hash_algorithm: 'SHA-256',
    signature_b64u: signer.sign(hash),
    algorithm: 'Ed25519',
    signer_did: signer.did,
  };
  return `${JSON.stringify(envelope)}\n`;
}

export function looksLikeEvidencePack(value: unknown): boolean {
  return isJsonObject(value) && value.envelope_type === EVIDENCE_PACK_TYPE;
}

export type EvidencePackCode =
  | 'OK'
  | 'EVIDENCE_NOT_CANONICAL'
  | 'EVIDENCE_MALFORMED'
  | 'EVIDENCE_HASH_MISMATCH'
  | 'EVIDENCE_SIGNATURE_INVALID'
  | 'EVIDENCE_SIGNER_UNTRUSTED'
  | 'EVIDENCE_INPUT_INVALID'
  | 'EVIDENCE_VERDICT_MISMATCH';

export interface EvidencePackResult {
  valid: boolean;
  code: EvidencePackCode;
  signerDid?: string;
  signatureValid: boolean;
  /** Whether the signer is one of the DIDs the caller trusts (pinned). */
  signerTrusted: boolean;
  evaluationId?: string;
  repository?: string;
  pullRequest?: { id: number; url: string | null };
  headSha?: string;
  recorded?: { state: string; reasonCode: string };
  derived?: Verdict;
  /** Top-level verdict fields whose re-derived value differs from the recorded one. */
  differences: string[];
  detail?: string;
}

const envelopeSchema = z.strictObject({
  envelope_version: z.literal('1'),
  envelope_type: z.literal(EVIDENCE_PACK_TYPE),
  payload: z.record(z.string(), z.unknown()),
  payload_hash_b64u: z.string(),
  hash_algorithm: z.literal('SHA-256'),
  signature_b64u: z.string(),
  algorithm: z.literal('Ed25519'),
  signer_did: z.string().startsWith('did:key:'),
});

const payloadSchema = z.strictObject({
  pack_version: z.literal(EVIDENCE_PACK_VERSION),
  signed_at: z.string(),
  signer_did: z.string(),
  evaluation_id: z.string(),
  workspace: z.strictObject({ uuid: z.string(), slug: z.string().nullable() }),
  repository: z.string(),
  pull_request: z.strictObject({
    id: z.number().int(),
    url: z.string().nullable(),
    source_branch: z.string().nullable(),
  }),
  head_sha: z.string(),
  commits: z.array(z.string()),
  clawgate_version: z.string(),
  evaluated_at: z.string(),
  bundle: z.strictObject({
    bundle_id: z.string().nullable(),
    sha256_b64u: z.string().nullable(),
    source: z.string().nullable(),
  }),
  policy_hash_b64u: z.string().nullable(),
  engine_input: recordedInputSchema,
  verdict: z.record(z.string(), z.unknown()),
});

/** The verdict fields the engine decides (the pipeline's own fields — trigger, delivery id… — are not re-derived). */
export const DERIVED_VERDICT_FIELDS = [
  'status',
  'state',
  'reason_code',
  'mode',
  'checks',
  'proof',
  'token',
  'policy',
  'receipts',
  'files',
  'trust_pulse',
] as const;

/**
 * Verify an evidence pack from its exact text: canonical form, envelope, payload hash, Ed25519
 * signature, signer pinned by the caller, then re-derive the verdict with today's engine from the
 * recorded input and compare it, field by field, with the recorded verdict. Pure (no clock, no I/O).
 */
export async function verifyEvidencePack(
  text: string,
  options: { trustedSignerDids: readonly string[] },
): Promise<EvidencePackResult> {
  const result: EvidencePackResult = {
    valid: false,
    code: 'EVIDENCE_MALFORMED',
    signatureValid: false,
    signerTrusted: false,
    differences: [],
  };
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    return { ...result, detail: 'not JSON' };
  }
  const envelope = envelopeSchema.safeParse(value);
  if (!envelope.success)
    return {
      ...result,
      detail: `envelope: ${envelope.error.issues[0]?.path.join('.') ?? ''} ${envelope.error.issues[0]?.message ?? ''}`,
    };
  result.signerDid = envelope.data.signer_did;
  if (stringifyHashB64u(envelope.data.payload) !== envelope.data.payload_hash_b64u)
    return { ...result, code: 'EVIDENCE_HASH_MISMATCH' };
  const signature = checkEnvelopeSignature(value as JsonObject);
  if (signature)
    return {
      ...result,
      code: signature.code === 'HASH_MISMATCH' ? 'EVIDENCE_HASH_MISMATCH' : 'EVIDENCE_SIGNATURE_INVALID',
    };
  result.signatureValid = true;
  // Bytes outside the payload's meaning (whitespace, escapes, a second copy of a key) are not signed:
  // the file must be exactly the serialization the service signed and served.
  if (text !== `${JSON.stringify(value)}\n` && text !== JSON.stringify(value))
    return { ...result, code: 'EVIDENCE_NOT_CANONICAL' };
  const payload = payloadSchema.safeParse(envelope.data.payload);
  if (!payload.success)
    return {
      ...result,
      detail: `payload: ${payload.error.issues[0]?.path.join('.') ?? ''} ${payload.error.issues[0]?.message ?? ''}`,
    };
  const p = payload.data;
  if (p.signer_did !== envelope.data.signer_did)
    return { ...result, code: 'EVIDENCE_SIGNATURE_INVALID', detail: 'the payload names another signer' };
  Object.assign(result, {
    evaluationId: p.evaluation_id,
    repository: p.repository,
    pullRequest: { id: p.pull_request.id, url: p.pull_request.url },
    headSha: p.head_sha,
    recorded: { state: String(p.verdict.state), reasonCode: String(p.verdict.reason_code) },
  });
  result.signerTrusted = options.trustedSignerDids.includes(envelope.data.signer_did);

  const restored = restoreEngineInput(p.engine_input);
  if (!restored.ok) return { ...result, code: 'EVIDENCE_INPUT_INVALID', detail: restored.problem };
  if (
    restored.input.bundle !== undefined &&
    p.engine_input.bundle_text !== undefined &&
    p.bundle.sha256_b64u !== null
  ) {
    // The recorded bundle must be the bundle the evaluation recorded (its SHA-256 over the exact text).
    if (sha256B64u(p.engine_input.bundle_text) !== p.bundle.sha256_b64u)
      return {
        ...result,
        code: 'EVIDENCE_INPUT_INVALID',
        detail: 'the bundle text does not match the recorded bundle SHA-256',
      };
  }
  const derived = await verifyAndEvaluate(restored.input);
  result.derived = derived;
  const derivedJson = verdictToJson(derived, String(p.verdict.subject ?? ''));
  for (const field of DERIVED_VERDICT_FIELDS) {
    if (jcs(derivedJson[field] ?? null) !== jcs(p.verdict[field] ?? null)) result.differences.push(field);
  }
  if (result.differences.length > 0) return { ...result, code: 'EVIDENCE_VERDICT_MISMATCH' };
  if (!result.signerTrusted) return { ...result, code: 'EVIDENCE_SIGNER_UNTRUSTED' };
  return { ...result, valid: true, code: 'OK' };
}
