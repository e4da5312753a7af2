import type { ReasonCode } from '../reason-codes';
import { countValidAttestations } from './attestation';
import { checkAnchoring, checkCausalGraph, collectCausalEntries } from './causal-bindings';
import { isDidFormat } from './did-key';
import { checkEnvelopeSignature, checkEnvelopeStructure } from './envelope';
import { verifyEventChain, type EventChainResult } from './event-chain';
import { verifyGatewayReceipt, type GatewayReceiptFacts } from './gateway-receipt';
import { jcs } from './hashing';
import { BUNDLE_BOUNDS, jsonBoundsExcess } from './json-bounds';
import { asArray, isJsonObject, jsonByteLength, stringOrUndefined, type JsonObject } from './json';
import { verifyRateLimitClaims } from './rate-limit-claims';
import { proofBundleEnvelopeV1Schema, validateWith } from './schemas';
import { verifyAnchoredReceipt, type AnchoredReceiptFacts } from './side-effect-receipt';
import { verifyToolReceipt, type ToolReceiptFacts } from './tool-receipt';
import { readUrmReference, verifyUrm, type UrmFacts } from './urm';
import { checkX402Bindings, type X402Outcome } from './x402-binding';

export interface ProofBundleVerifyOptions {
  /** Verification time in ms since the epoch (core reads no clock). */
  nowMs: number;
  /** Gateway receipt signer allowlist. Empty = no gateway can be trusted. */
  trustedGatewayDids: readonly string[];
  /** Attester allowlist for the sandbox tier. */
  trustedAttesterDids?: readonly string[];
  /** Clock skew tolerated on envelope `expires_at` (default 0, as the reference). */
  skewMs?: number;
  /**
   * The strict CLI/conformance layer (the reference CLI's `verify.ts`, which the conformance manifest expects): bound-looking receipts that do not verify
   * fail the bundle. Default true; the clawgate profile always applies it.
   */
  strict?: boolean;
  /**
   * The Universal Run Manifest document (parsed JSON) for a bundle whose payload references one
   * (`payload.urm`): from `--urm`, a sibling `<name>-urm.json`, the upload API or a file in the PR.
   * Undefined when none was supplied: a bundle that references a URM then fails URM_MISSING.
   */
  urm?: unknown;
}

export type ProofTier = 'unknown' | 'self' | 'gateway' | 'sandbox';

export interface ProofBundleFacts {
  bundleId: string;
  agentDid: string;
  signerDid: string;
  issuedAt: string;
  expiresAt?: string;
  payloadHash: string;
  runId?: string;
  chainRootHash?: string;
  events: EventChainResult['events'];
  metadata?: JsonObject;
}

export interface ProofBundleResult {
  valid: boolean;
  /** OK, or the first failure's code (check order decides which code a bundle gets). */
  reasonCode: ReasonCode;
  /** Where the failure was found, as a path into the input. */
  failurePath?: string;
  /** Present once the envelope and payload were readable (even if a later check failed). */
  bundle?: ProofBundleFacts;
  gatewayReceipts: GatewayReceiptFacts[];
  toolReceipts: ToolReceiptFacts[];
  sideEffects: AnchoredReceiptFacts[];
  humanApprovals: AnchoredReceiptFacts[];
  proofTier: ProofTier;
  /** The verified URM, when the bundle references one and it verified. */
  urm?: UrmFacts;
  /** The x402 payment-binding outcome, once the gateway receipts were verified. */
  x402?: X402Outcome;
  /** Which phase produced the verdict: the protocol core or the strict gateway layer. */
  phase: 'envelope' | 'schema' | 'payload' | 'signature' | 'components' | 'strict' | 'ok';
}

/** Bundle fields whose evidence clawgate cannot verify yet (docs/clawsig-profile.md). */
const UNVERIFIED_EVIDENCE_CLASSES = [
  'vir_receipts',
  'web_receipts',
  'coverage_attestations',
  'binary_semantic_evidence_attestations',
  'delegation_receipts',
] as const;

const LIMITS = { events: 1000, receipts: 1000, attestations: 100, metadataBytes: 16 * 1024 } as const;

const SPAN_FIELDS = /(^|\.)(span_id|spanId|parent_span_id|parentSpanId|tool_span_id|toolSpanId)$/;

/** Maps a schema failure to its code: binding span/phase/confidence fields have their own (the reference's schema step). */
function schemaFailureCode(path: (string | number)[]): ReasonCode {
  const joined = path.join('.');
  if (!/\.binding\./.test(`.${joined}`)) return 'SCHEMA_VALIDATION_FAILED';
  if (/\.binding\.phase$/.test(`.${joined}`)) return 'CAUSAL_PHASE_INVALID';
  if (/\.binding\.attribution_confidence$/.test(`.${joined}`)) return 'CAUSAL_CONFIDENCE_OUT_OF_RANGE';
  if (SPAN_FIELDS.test(joined)) return 'CAUSAL_BINDING_NORMALIZATION_FAILED';
  return 'SCHEMA_VALIDATION_FAILED';
}

function formatPath(path: (string | number)[]): string {
  return path.reduce<string>(
    (acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part),
    '',
  );
}

/**
 * Legacy tolerance (the reference's schema step): receipts that carry `receipt_type` but no `envelope_type` are
 * dropped from the validated view. The signature still covers the original payload.
 */
function validatedView(envelope: JsonObject): JsonObject {
  const payload = envelope.payload;
  if (!isJsonObject(payload) || !Array.isArray(payload.receipts)) return envelope;
  const kept = payload.receipts.filter((r) => !(isJsonObject(r) && 'receipt_type' in r && !('envelope_type' in r)));
  if (kept.length === payload.receipts.length) return envelope;
  return { ...envelope, payload: { ...payload, receipts: kept } };
}

function earlyLimitFailure(envelope: JsonObject): string | undefined {
  const payload = isJsonObject(envelope.payload) ? envelope.payload : undefined;
  if (payload) {
    if (asArray(payload.event_chain).length > LIMITS.events) return 'payload.event_chain';
    if (asArray(payload.receipts).length > LIMITS.receipts) return 'payload.receipts';
    if (asArray(payload.attestations).length > LIMITS.attestations) return 'payload.attestations';
  }
  return jsonBoundsExcess(envelope, BUNDLE_BOUNDS)?.path;
}

/**
 * Verifies a proof-bundle envelope exactly in the reference order (clawverify-core's
 * `verify-proof-bundle.ts`: envelope, schema, semantics, hash, key, signature, components) and then
 * the strict gateway layer. Pure: time and allowlists are inputs.
 */
export function verifyProofBundle(input: unknown, options: ProofBundleVerifyOptions): ProofBundleResult {
  const result: ProofBundleResult = {
    valid: false,
    reasonCode: 'MALFORMED_ENVELOPE',
    gatewayReceipts: [],
    toolReceipts: [],
    sideEffects: [],
    humanApprovals: [],
    proofTier: 'unknown',
    phase: 'envelope',
  };
  const fail = (code: ReasonCode, path: string, phase: ProofBundleResult['phase']): ProofBundleResult =>
    Object.assign(result, { valid: false, reasonCode: code, failurePath: path, phase });

  // 1–9: envelope structure.
  const structure = checkEnvelopeStructure(input, 'proof_bundle', options.nowMs, options.skewMs ?? 0);
  if (structure || !isJsonObject(input))
    return fail(structure?.code ?? 'MALFORMED_ENVELOPE', structure?.path ?? '', 'envelope');
  const envelope = input;

  // Bounds before any costly step: a junk bundle of 100,000 receipts used to be schema-validated in
  // full (every issue collected) before step 12 refused it. The named limits of step 12 keep their
  // own paths; any other array, the nesting and the number of values are bounded too (clawgate's
  // addition: the reference bounds only the named lists).
  const early = earlyLimitFailure(envelope);
  if (early) return fail('MALFORMED_ENVELOPE', early, 'envelope');

  // 10: full schema validation (before the hash check: several vectors rely on this order).
  const schema = validateWith(proofBundleEnvelopeV1Schema, validatedView(envelope));
  if (!schema.ok) {
    const first =
      schema.issues.find((issue) => schemaFailureCode(issue.path) !== 'SCHEMA_VALIDATION_FAILED') ?? schema.issues[0];
    return fail(
      first ? schemaFailureCode(first.path) : 'SCHEMA_VALIDATION_FAILED',
      first ? formatPath(first.path) : '',
      'schema',
    );
  }
  const payload = envelope.payload;
  if (!isJsonObject(payload)) return fail('MALFORMED_ENVELOPE', 'payload', 'payload');

  // 11: payload semantics, stricter than the schema's anyOf.
  if (payload.bundle_version !== '1') return fail('MALFORMED_ENVELOPE', 'payload.bundle_version', 'payload');
  if (typeof payload.bundle_id !== 'string' || payload.bundle_id.length === 0)
    return fail('MALFORMED_ENVELOPE', 'payload.bundle_id', 'payload');
  if (typeof payload.agent_did !== 'string' || !payload.agent_did.startsWith('did:'))
    return fail('MALFORMED_ENVELOPE', 'payload.agent_did', 'payload');
  const chain = asArray(payload.event_chain);
  const receipts = asArray(payload.receipts);
  const attestations = asArray(payload.attestations);
  if (payload.urm === undefined && chain.length === 0 && receipts.length === 0 && attestations.length === 0) {
    return fail('MALFORMED_ENVELOPE', 'payload', 'payload');
  }

  // 12: limits.
  if (chain.length > LIMITS.events) return fail('MALFORMED_ENVELOPE', 'payload.event_chain', 'payload');
  if (receipts.length > LIMITS.receipts) return fail('MALFORMED_ENVELOPE', 'payload.receipts', 'payload');
  if (attestations.length > LIMITS.attestations) return fail('MALFORMED_ENVELOPE', 'payload.attestations', 'payload');
  if (payload.metadata !== undefined && jsonByteLength(payload.metadata) > LIMITS.metadataBytes)
    return fail('MALFORMED_ENVELOPE', 'payload.metadata', 'payload');
  if (
    isJsonObject(payload.urm) &&
    payload.urm.metadata !== undefined &&
    jsonByteLength(payload.urm.metadata) > LIMITS.metadataBytes
  ) {
    return fail('MALFORMED_ENVELOPE', 'payload.urm.metadata', 'payload');
  }
  for (let i = 0; i < receipts.length; i++) {
    const receipt = receipts[i];
    const metadata = isJsonObject(receipt) && isJsonObject(receipt.payload) ? receipt.payload.metadata : undefined;
    if (metadata !== undefined && jsonByteLength(metadata) > LIMITS.metadataBytes)
      return fail('MALFORMED_ENVELOPE', `payload.receipts[${i}].payload.metadata`, 'payload');
  }
  const eventIds = new Set<unknown>();
  for (let i = 0; i < chain.length; i++) {
    const id = isJsonObject(chain[i]) ? (chain[i] as JsonObject).event_id : undefined;
    if (eventIds.has(id)) return fail('MALFORMED_ENVELOPE', `payload.event_chain[${i}].event_id`, 'payload');
    eventIds.add(id);
  }

  // 13: agent DID, and the signer is the agent.
  const agentDid = payload.agent_did;
  if (!isDidFormat(agentDid)) return fail('INVALID_DID_FORMAT', 'payload.agent_did', 'payload');
  if (envelope.signer_did !== agentDid) return fail('INVALID_DID_FORMAT', 'signer_did', 'payload');

  result.bundle = {
    bundleId: payload.bundle_id,
    agentDid,
    signerDid: String(envelope.signer_did),
    issuedAt: String(envelope.issued_at),
    expiresAt: stringOrUndefined(envelope.expires_at),
    payloadHash: String(envelope.payload_hash_b64u),
    events: [],
    metadata: isJsonObject(payload.metadata) ? payload.metadata : undefined,
  };

  // 14–16: hash over the payload as received, did:key, Ed25519 over the hash string.
  const signature = checkEnvelopeSignature(envelope);
  if (signature) return fail(signature.code, signature.path, 'signature');

  // 17a: event chain.
  const chainResult = verifyEventChain(payload.event_chain);
  if (chainResult.failure) return fail(chainResult.failure.code, chainResult.failure.path, 'components');
  result.bundle.runId = chainResult.runId;
  result.bundle.chainRootHash = chainResult.chainRootHash;
  result.bundle.events = chainResult.events;

  // 17b: rate-limit claims.
  const rate = verifyRateLimitClaims(payload.rate_limit_claims, chainResult.runId);
  if (rate) return fail(rate.code, rate.path, 'components');

  // 17d: the URM the bundle references must be supplied and match it (the reference core refuses a URM reference without its document).
  const urmReference = readUrmReference(payload.urm);
  if (urmReference) {
    const chainFacts =
      chainResult.valid && chainResult.runId !== undefined && chainResult.chainRootHash !== undefined
        ? { runId: chainResult.runId, rootHash: chainResult.chainRootHash }
        : undefined;
    const urm = verifyUrm(urmReference, options.urm, { agentDid, chain: chainFacts });
    if (!urm.ok) return fail(urm.code, urm.path, 'components');
    result.urm = urm.facts;
  }

  // 17e: gateway receipts are verified and counted; they never fail the core.
  const trusted = new Set(options.trustedGatewayDids);
  result.gatewayReceipts = receipts.map((receipt, index) =>
    isJsonObject(receipt) && receipt.envelope_type === 'gateway_receipt'
      ? verifyGatewayReceipt(index, receipt, chainResult, trusted, options.nowMs)
      : {
          index,
          signatureValid: false,
          trusted: false,
          bound: false,
          claimsBinding: false,
          code: 'MALFORMED_ENVELOPE' as const,
        },
  );

  // 17e': x402 payment claims on gateway receipts (the reference service's x402 binding suite).
  result.x402 = checkX402Bindings(receipts, result.gatewayReceipts);
  if (result.x402.claimed > 0 && result.x402.reasonCode !== 'X402_BOUND') {
    return fail(
      'EVIDENCE_MISMATCH',
      `payload.receipts[${result.x402.receiptIndex ?? 0}].payload.metadata`,
      'components',
    );
  }

  // 17f: tool receipts.
  const toolReceipts = asArray(payload.tool_receipts);
  for (let i = 0; i < toolReceipts.length; i++) {
    const outcome = verifyToolReceipt(i, toolReceipts[i], agentDid, chainResult, options.nowMs);
    result.toolReceipts.push(outcome.facts);
    if (outcome.failure) return fail(outcome.failure.code, outcome.failure.path, 'components');
  }

  // 17g–h: side effects and approvals (their causal anchoring comes after the graph checks).
  const sideEffects = asArray(payload.side_effect_receipts);
  const approvals = asArray(payload.human_approval_receipts);
  for (const [kind, entries, sink] of [
    ['side_effect', sideEffects, result.sideEffects],
    ['human_approval', approvals, result.humanApprovals],
  ] as const) {
    for (let i = 0; i < entries.length; i++) {
      const outcome = verifyAnchoredReceipt(kind, i, entries[i], agentDid);
      sink.push(outcome.facts);
      if (outcome.failure) return fail(outcome.failure.code, outcome.failure.path, 'components');
    }
  }

  // 17i: causal bindings of the gateway receipts (normalization, then in-bundle replay, then the graph).
  const causal = collectCausalEntries(receipts);
  if ('failure' in causal) return fail(causal.failure.code, causal.failure.path, 'components');

  // In-bundle receipt replay — one receipt_id, two payloads that differ in JCS.
  // Canonical forms are computed only for ids seen twice (the common case has none; JCS is costly).
  const seen = new Map<string, JsonObject>();
  for (let i = 0; i < receipts.length; i++) {
    const receipt = receipts[i];
    const receiptPayload = isJsonObject(receipt) ? receipt.payload : undefined;
    if (!isJsonObject(receiptPayload) || typeof receiptPayload.receipt_id !== 'string') continue;
    const previous = seen.get(receiptPayload.receipt_id);
    if (previous !== undefined && jcs(previous) !== jcs(receiptPayload)) {
      return fail('CAUSAL_RECEIPT_REPLAY_DETECTED', `payload.receipts[${i}].payload.receipt_id`, 'components');
    }
    if (previous === undefined) seen.set(receiptPayload.receipt_id, receiptPayload);
  }

  // The graph: clock, phases, confidence, dangling references, reuse, cycles, connectivity. clawgate
  // always runs the reference's strict profile (connectivity enforced), so anchoring always applies.
  const graph = checkCausalGraph(causal.entries);
  if ('failure' in graph) return fail(graph.failure.code, graph.failure.path, 'components');
  const orphan =
    checkAnchoring('side_effect', sideEffects, graph.spanIds) ??
    checkAnchoring('human_approval', approvals, graph.spanIds);
  if (orphan) return fail(orphan.code, orphan.path, 'components');

  // 17j: evidence classes clawgate does not verify (VIR, witnessed web, coverage/CLDD, binary
  // semantic evidence, delegation). The reference verifies them and may reject the bundle for
  // them; ignoring them would make clawgate more lenient than the reference, so it fails closed.
  for (const field of UNVERIFIED_EVIDENCE_CLASSES) {
    if (asArray(payload[field]).length > 0) return fail('EVIDENCE_CLASS_UNSUPPORTED', `payload.${field}`, 'components');
  }

  // 17k–l: attestations and tier.
  const attested = countValidAttestations(
    payload.attestations,
    agentDid,
    new Set(options.trustedAttesterDids ?? []),
    options.nowMs,
  );
  result.proofTier =
    attested > 0
      ? 'sandbox'
      : result.gatewayReceipts.some((r) => r.signatureValid && r.trusted && r.bound)
        ? 'gateway'
        : 'self';

  // Strict layer: receipts that claim a binding must verify and be bound.
  if (options.strict ?? true) {
    const claiming = result.gatewayReceipts.filter((r) => r.claimsBinding);
    if (claiming.length > 0) {
      if (trusted.size === 0) return fail('DEPENDENCY_NOT_CONFIGURED', 'payload.receipts', 'strict');
      const broken = claiming.find((r) => !(r.signatureValid && r.bound));
      if (broken) {
        const code = claiming.every((r) => r.signatureValid)
          ? 'RECEIPT_BINDING_MISMATCH'
          : 'RECEIPT_VERIFICATION_FAILED';
        return fail(code, `payload.receipts[${broken.index}]`, 'strict');
      }
    }
  }

  return Object.assign(result, {
    valid: true,
    reasonCode: 'OK' as const,
    phase: 'ok' as const,
    failurePath: undefined,
  });
}
