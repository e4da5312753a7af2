import { randomUUID } from 'node:crypto';
import { encodeB64u, encodeBase64Std } from '../core/clawsig/base64url';
import { computeEventHash } from '../core/clawsig/event-chain';
import { jcs, sha256B64u, stringifyHashB64u } from '../core/clawsig/hashing';
import type { JsonObject } from '../core/clawsig/json';
import { computeTokenScopeHash, cstKeyId } from '../core/clawsig/scoped-token';
import { jcsHashB64u } from '../core/clawsig/hashing';
import { createTestKey, type TestKey } from './keys';

/**
 * Produces Clawsig evidence from fresh keys exactly as a Clawsig producer must (docs/clawsig-profile.md): stringify-hash
 * envelopes, events and receipts; sign the UTF-8 hash string; JCS for the WPC and the CST scope hash.
 * Used by the tests, the demo and the benchmarks. Nothing here is used to verify.
 */

export function signEnvelope(
  envelopeType: string,
  payload: JsonObject,
  key: TestKey,
  times: { issuedAt: string; expiresAt?: string },
): JsonObject {
  const hash = stringifyHashB64u(payload);
  const envelope: JsonObject = {
    envelope_version: '1',
    envelope_type: envelopeType,
    payload,
    payload_hash_b64u: hash,
    hash_algorithm: 'SHA-256',
    signature_b64u: key.signB64u(hash),
    algorithm: 'Ed25519',
    signer_did: key.did,
    issued_at: times.issuedAt,
  };
  if (times.expiresAt) envelope.expires_at = times.expiresAt;
  return envelope;
}

/** Re-signs an envelope after its payload was changed (for mutation tests that must get past the signature). */
export function resignEnvelope(envelope: JsonObject, key: TestKey): JsonObject {
  const hash = stringifyHashB64u(envelope.payload);
  return { ...envelope, payload_hash_b64u: hash, signature_b64u: key.signB64u(hash) };
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A Bitbucket WPC like the seed of docs/policy.md §1. */
export function makeBitbucketWpc(options: {
  repos: string[];
  allowedModels?: string[];
  allowedProviders?: string[];
  approvalRequired?: boolean;
  denyGlobs?: string[];
}): JsonObject {
  const wpc: JsonObject = {
    tool: 'bitbucket_via_official_api',
    policy: {
      repos_allowlist: options.repos,
      read: { allow: ['list_repos', 'get_file', 'get_diff', 'list_prs', 'get_pr'] },
      write: {
        allow: ['create_branch', 'create_pr', 'comment_pr'],
        deny: ['merge_pr', 'delete_branch', 'change_repo_permissions', 'direct_push_main'],
        approval_required: options.approvalRequired ?? false,
      },
      paths: {
        deny_globs: options.denyGlobs ?? [
          '**/bitbucket-pipelines.yml',
          '**/.pipeline/**',
          '**/.github/**',
          '**/SECURITY*',
        ],
      },
      auth: { least_privilege_scopes_required: true, separate_identities_for_read_vs_write: false },
      attestation: { require_gateway_receipts: true, emit_proof_bundle: true },
    },
  };
  if (options.allowedProviders) wpc.allowed_providers = options.allowedProviders;
  if (options.allowedModels) wpc.allowed_models = options.allowedModels;
  return wpc;
}

export function wpcHash(wpc: JsonObject): string {
  return jcsHashB64u(wpc);
}

export interface CstOptions {
  issuer: TestKey;
  sub: string;
  policyHash?: string;
  missionId?: string;
  scope?: string[];
  aud?: string | string[];
  iat: number;
  exp: number;
  jti?: string;
  nonce?: string;
  alg?: string;
  includeScopeHash?: boolean;
}

export function makeCstClaims(options: Omit<CstOptions, 'issuer' | 'alg'>): JsonObject {
  const claims: JsonObject = {
    token_version: '1',
    sub: options.sub,
    aud: options.aud ?? 'clawproxy',
    scope: options.scope ?? ['proxy:call', 'bitbucket:pr:write'],
    iat: options.iat,
    exp: options.exp,
  };
  if (options.policyHash) claims.policy_hash_b64u = options.policyHash;
  if (options.missionId) claims.mission_id = options.missionId;
  claims.jti = options.jti ?? randomUUID();
  claims.nonce = options.nonce ?? randomUUID();
  if (options.includeScopeHash ?? true) claims.token_scope_hash_b64u = computeTokenScopeHash(claims);
  return claims;
}

/** A compact EdDSA JWS as clawscope issues it (kid = first 16 hex of SHA-256(raw key)). */
export function signCst(claims: JsonObject, issuer: TestKey, alg = 'EdDSA'): string {
  const header = { alg, typ: 'JWT', kid: cstKeyId(issuer.publicKey) };
  const h = encodeB64u(Buffer.from(JSON.stringify(header)));
  const p = encodeB64u(Buffer.from(JSON.stringify(claims)));
  return `${h}.${p}.${issuer.signB64u(`${h}.${p}`)}`;
}

export interface BundleOptions {
  agent?: TestKey;
  gateway?: TestKey;
  bundleId?: string;
  runId?: string;
  /** Gateway receipts to produce (one llm_call event each). Default 1. */
  receipts?: number;
  provider?: string;
  model?: string;
  /** The WPC hash every receipt is bound to. */
  policyHash?: string;
  /** The CST scope hash every receipt is bound to. */
  tokenScopeHash?: string;
  /** Start of the run; events and receipts follow at one-second steps. */
  startMs?: number;
  metadata?: JsonObject;
  toolReceipts?: number;
  sideEffects?: { effectClass: 'filesystem_write' | 'network_egress' | 'external_api_write'; target: string }[];
  /** Envelope expiry (omitted by default). */
  expiresAt?: string;
  /** Reference a Universal Run Manifest from the payload and produce it (as harnesses do). */
  urm?: boolean;
  /**
   * Also produce a URM (referenced from `payload.urm`) and a Trust Pulse bound to it, reporting these
   * tools and files (as a harness would write `-urm.json` and `-trust-pulse.json` beside the bundle).
   */
  trustPulse?: {
    tools?: { name: string; calls: number }[];
    files?: { path: string; touches: number }[];
    durationMs?: number;
  };
}

export interface ProducedBundle {
  envelope: JsonObject;
  agent: TestKey;
  gateway: TestKey;
  bundleId: string;
  runId: string;
  /** The URM document, when `urm` was asked for (the harness's `<name>-urm.json`). */
  urmDocument?: JsonObject;
  /** Present with `trustPulse`: the URM document and the pulse, as parsed JSON. */
  urm?: JsonObject;
  trustPulse?: JsonObject;
}

/** A Universal Run Manifest for a run, shaped like the pi harness writes it. */
export function makeUrm(options: {
  runId: string;
  agentDid: string;
  chainRootHash?: string;
  issuedAt: string;
  urmId?: string;
}): JsonObject {
  const urm: JsonObject = {
    urm_version: '1',
    urm_id: options.urmId ?? `urm_${randomUUID()}`,
    run_id: options.runId,
    agent_did: options.agentDid,
    issued_at: options.issuedAt,
    harness: { id: 'clawgate-testkit', version: '1.0.0', runtime: 'host' },
    inputs: [{ type: 'command', hash_b64u: sha256B64u('echo test'), metadata: { command: 'echo test' } }],
    outputs: [{ type: 'exit_code', hash_b64u: sha256B64u('0'), metadata: { exitCode: 0 } }],
  };
  if (options.chainRootHash) urm.event_chain_root_hash_b64u = options.chainRootHash;
  return urm;
}

/** The reference a bundle payload carries for a URM document (`resource_hash_b64u` = its stringify-hash). */
export function urmReference(urm: JsonObject): JsonObject {
  return {
    urm_version: '1',
    urm_id: urm.urm_id,
    resource_type: 'universal_run_manifest',
    resource_hash_b64u: stringifyHashB64u(urm),
  };
}

/** A Trust Pulse and the URM that binds it (metadata.trust_pulse and an output of type trust_pulse). */
export function makeRunManifest(options: {
  agentDid: string;
  runId: string;
  chainRootHash?: string;
  issuedAt: string;
  tools?: { name: string; calls: number }[];
  files?: { path: string; touches: number }[];
  durationMs?: number;
}): { urm: JsonObject; trustPulse: JsonObject; urmHashB64u: string } {
  const trustPulse: JsonObject = {
    trust_pulse_version: '1',
    trust_pulse_id: `tp_${randomUUID()}`,
    run_id: options.runId,
    agent_did: options.agentDid,
    issued_at: options.issuedAt,
    evidence_class: 'self_reported',
    tier_uplift: false,
    ...(options.durationMs !== undefined ? { duration_ms: options.durationMs } : {}),
    tools: options.tools ?? [],
    files: options.files ?? [],
  };
  const pulseHash = sha256B64u(JSON.stringify(trustPulse));
  const pulseRef: JsonObject = {
    schema: 'https://schemas.clawbureau.org/claw.poh.trust_pulse.v1.json',
    artifact_hash_b64u: pulseHash,
    evidence_class: 'self_reported',
    tier_uplift: false,
  };
  const urm: JsonObject = {
    urm_version: '1',
    urm_id: `urm_${randomUUID()}`,
    run_id: options.runId,
    agent_did: options.agentDid,
    issued_at: options.issuedAt,
    harness: { id: 'clawgate-testkit', version: '1.0.0', runtime: 'host' },
    inputs: [],
    outputs: [{ type: 'trust_pulse', hash_b64u: pulseHash, content_type: 'application/json', metadata: pulseRef }],
    ...(options.chainRootHash ? { event_chain_root_hash_b64u: options.chainRootHash } : {}),
    metadata: { trust_pulse: pulseRef },
  };
  return { urm, trustPulse, urmHashB64u: sha256B64u(JSON.stringify(urm)) };
}

/** A complete, valid proof bundle: event chain, bound gateway receipts, optional tool and side-effect receipts. */
export function makeProofBundle(options: BundleOptions = {}): ProducedBundle {
  const agent = options.agent ?? createTestKey();
  const gateway = options.gateway ?? createTestKey();
  const bundleId = options.bundleId ?? `bundle_${randomUUID()}`;
  const runId = options.runId ?? `run_${randomUUID()}`;
  const start = options.startMs ?? Date.UTC(2026, 10, 25, 12, 0, 0);
  const count = options.receipts ?? 1;
  const events: JsonObject[] = [];
  let prev: string | null = null;
  // One llm_call event per gateway receipt (each receipt binds its own call); a run_start when none.
  const eventCount = Math.max(count, 1);
  for (let i = 0; i < eventCount; i++) {
    const event: JsonObject = {
      event_id: `${runId}_evt_${String(i).padStart(4, '0')}`,
      run_id: runId,
      event_type: count === 0 ? 'run_start' : 'llm_call',
      timestamp: iso(start + i * 1000),
      payload_hash_b64u: sha256B64u(`event payload ${i}`),
      prev_hash_b64u: prev,
    };
    event.event_hash_b64u = computeEventHash({
      event_id: event.event_id,
      run_id: event.run_id,
      event_type: event.event_type,
      timestamp: event.timestamp,
      payload_hash_b64u: event.payload_hash_b64u,
      prev_hash_b64u: event.prev_hash_b64u,
    });
    prev = String(event.event_hash_b64u);
    events.push(event);
  }
  const receipts: JsonObject[] = [];
  for (let i = 0; i < count; i++) {
    const event = events[i];
    const binding: JsonObject = {
      run_id: runId,
      event_hash_b64u: event?.event_hash_b64u ?? null,
      nonce: `nonce_${runId}_${i}`,
      span_id: `span_${i}`,
    };
    // One connected span tree, as the reference's enforced causal connectivity requires: every later
    // call is a child of the first.
    if (i > 0) binding.parent_span_id = 'span_0';
    if (options.policyHash) binding.policy_hash = options.policyHash;
    if (options.tokenScopeHash) binding.token_scope_hash_b64u = options.tokenScopeHash;
    const payload: JsonObject = {
      receipt_version: '1',
      receipt_id: `rcpt_${runId}_${i}`,
      gateway_id: 'gw_clawproxy_test',
      provider: options.provider ?? 'anthropic',
      model: options.model ?? 'claude-sonnet-4',
      request_hash_b64u: sha256B64u(`request ${i}`),
      response_hash_b64u: sha256B64u(`response ${i}`),
      tokens_input: 1200 + i,
      tokens_output: 300 + i,
      latency_ms: 850 + i,
      timestamp: iso(start + i * 1000 + 500),
      binding,
    };
    receipts.push(signEnvelope('gateway_receipt', payload, gateway, { issuedAt: iso(start + i * 1000 + 500) }));
  }
  const payload: JsonObject = {
    bundle_version: '1',
    bundle_id: bundleId,
    agent_did: agent.did,
    event_chain: events,
    receipts,
  };
  if (options.toolReceipts) {
    const tools: JsonObject[] = [];
    for (let i = 0; i < options.toolReceipts; i++) {
      const toolPayload: JsonObject = {
        receipt_version: '1',
        receipt_id: `tool_${runId}_${i}`,
        tool_name: i % 2 === 0 ? 'write_file' : 'bash',
        args_hash_b64u: sha256B64u(`args ${i}`),
        result_hash_b64u: sha256B64u(`result ${i}`),
        hash_algorithm: 'SHA-256',
        agent_did: agent.did,
        timestamp: iso(start + i * 1000 + 700),
        latency_ms: 40 + i,
        binding: { run_id: runId, event_hash_b64u: events[Math.min(i, events.length - 1)]?.event_hash_b64u ?? null },
      };
      tools.push(signEnvelope('tool_receipt', toolPayload, agent, { issuedAt: iso(start + i * 1000 + 800) }));
    }
    payload.tool_receipts = tools;
  }
  if (options.sideEffects?.length) {
    payload.side_effect_receipts = options.sideEffects.map((effect, i) => ({
      receipt_version: '1',
      receipt_id: `effect_${runId}_${i}`,
      effect_class: effect.effectClass,
      target_hash_b64u: sha256B64u(effect.target),
      hash_algorithm: 'SHA-256',
      agent_did: agent.did,
      timestamp: iso(start + 900),
      binding: { tool_span_id: 'span_0' },
    }));
  }
  if (options.metadata) payload.metadata = options.metadata;
  let urmDocument: JsonObject | undefined;
  let run: ReturnType<typeof makeRunManifest> | undefined;
  if (options.trustPulse) {
    run = makeRunManifest({
      agentDid: agent.did,
      runId,
      chainRootHash: String(events[0]?.event_hash_b64u ?? ''),
      issuedAt: iso(start + eventCount * 1000 + 900),
      ...options.trustPulse,
    });
    payload.urm = {
      urm_version: '1',
      urm_id: String(run.urm.urm_id),
      resource_type: 'universal_run_manifest',
      resource_hash_b64u: run.urmHashB64u,
    };
    urmDocument = run.urm;
  } else if (options.urm) {
    urmDocument = makeUrm({
      runId,
      agentDid: agent.did,
      chainRootHash: String(events[0]?.event_hash_b64u),
      issuedAt: iso(start + eventCount * 1000 + 900),
    });
    payload.urm = urmReference(urmDocument);
  }
  const envelope = signEnvelope('proof_bundle', payload, agent, {
    issuedAt: iso(start + eventCount * 1000 + 1000),
    expiresAt: options.expiresAt,
  });
  return {
    envelope,
    agent,
    gateway,
    bundleId,
    runId,
    urmDocument,
    ...(run ? { urm: run.urm, trustPulse: run.trustPulse } : {}),
  };
}

/** A Protocol-M commit signature (standard base64 over JCS with an empty signature field). */
export function makeCommitSignature(key: TestKey, commitSha: string, createdAt: string): JsonObject {
  const unsigned: JsonObject = {
    version: 'm1',
    type: 'message_signature',
    algo: 'ed25519',
    did: key.did,
    message: `commit:${commitSha}`,
    createdAt,
    signature: '',
  };
  return { ...unsigned, signature: encodeBase64Std(key.sign(jcs(unsigned))) };
}

export interface Scenario {
  agent: TestKey;
  gateway: TestKey;
  issuer: TestKey;
  wpc: JsonObject;
  policyHash: string;
  cst: string;
  cstClaims: JsonObject;
  bundle: ProducedBundle;
}

/**
 * Everything a clawgate evaluation needs, consistent with itself: a WPC, a CST pinned to it and naming
 * the agent, and a bundle whose receipts carry both hashes and whose metadata binds it to a PR commit.
 */
export function makeScenario(options: {
  workspace: string;
  repoSlug: string;
  commit: string;
  branch?: string;
  receipts?: number;
  model?: string;
  provider?: string;
  wpc?: JsonObject;
  startMs?: number;
  tokenInMetadata?: 'jwt' | 'claims' | 'none';
  agent?: TestKey;
  gateway?: TestKey;
  issuer?: TestKey;
  /** Reference a URM from the bundle (the document is `bundle.urmDocument`). */
  urm?: boolean;
  trustPulse?: BundleOptions['trustPulse'];
}): Scenario {
  const agent = options.agent ?? createTestKey();
  const gateway = options.gateway ?? createTestKey();
  const issuer = options.issuer ?? createTestKey();
  const start = options.startMs ?? Date.UTC(2026, 10, 25, 12, 0, 0);
  const wpc =
    options.wpc ??
    makeBitbucketWpc({
      repos: [`${options.workspace}/${options.repoSlug}`],
      allowedProviders: ['anthropic', 'openai'],
      allowedModels: ['claude-*', 'gpt-4o*'],
    });
  const policyHash = wpcHash(wpc);
  const iat = Math.floor(start / 1000) - 60;
  const cstClaims = makeCstClaims({
    sub: agent.did,
    policyHash,
    missionId: `${options.workspace}/${options.repoSlug}`,
    iat,
    exp: iat + 3600,
  });
  const cst = signCst(cstClaims, issuer);
  const scopeHash = computeTokenScopeHash(cstClaims);
  const metadata: JsonObject = {
    bitbucket: {
      workspace: options.workspace,
      repo_slug: options.repoSlug,
      commit: options.commit,
      branch: options.branch ?? 'agent/change',
    },
  };
  const mode = options.tokenInMetadata ?? 'jwt';
  if (mode === 'jwt') metadata.scoped_token = cst;
  if (mode === 'claims') metadata.scoped_token_claims = cstClaims;
  const bundle = makeProofBundle({
    agent,
    gateway,
    receipts: options.receipts ?? 2,
    model: options.model,
    provider: options.provider,
    policyHash,
    tokenScopeHash: scopeHash,
    startMs: start,
    metadata,
    urm: options.urm,
    ...(options.trustPulse ? { trustPulse: options.trustPulse } : {}),
  });
  return { agent, gateway, issuer, wpc, policyHash, cst, cstClaims, bundle };
}
