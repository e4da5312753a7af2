/**
 * Builds the inputs of the reference's scenario-only conformance suites
 * (../shared/clawsig/fixtures/protocol-conformance/clawverify-*): each case there is only
 * `{id, scenario, expected}`, and the reference's own test harnesses synthesize the bundle. These
 * builders produce the same bundles (same payload shapes, ids, times and bindings) from fresh keys,
 * following the scenario descriptions of the reference's harnesses (clawbureau/clawbureau,
 * services/clawverify/test/{firewall,x402-binding,completeness}-conformance.test.ts and
 * packages/clawverify-cli/test/core-causal-parity.test.ts; MIT). Written here, not copied.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { computeEventHash } from '../../../src/core/clawsig/event-chain';
import { encodeB64u } from '../../../src/core/clawsig/base64url';
import { jcs, stringifyHashB64u } from '../../../src/core/clawsig/hashing';
import type { JsonObject } from '../../../src/core/clawsig/json';
import { createTestKey, signEnvelope, type TestKey } from '../../../src/testkit';
import { sharedPath } from '../../shared-data';

export interface SuiteCase {
  file: string;
  id: string;
  scenario: string;
  expected: {
    status: 'VALID' | 'INVALID';
    error_code?: string;
    proof_tier?: string;
    x402_reason_code?: string;
    completeness_reason_code?: string;
  };
}

export const SUITES = [
  'clawverify-causal-cldd',
  'clawverify-causal-clock',
  'clawverify-causal-connectivity',
  'clawverify-causal-hardening',
  'clawverify-causal-policy-profile',
  'clawverify-completeness',
  'clawverify-firewall',
  'clawverify-x402-binding',
] as const;
export type SuiteName = (typeof SUITES)[number];

export function loadSuite(suite: SuiteName): SuiteCase[] {
  const dir = sharedPath(`clawsig/fixtures/protocol-conformance/${suite}`);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.v1.json'), 'utf8')) as {
    suite: string;
    cases: string[];
  };
  if (manifest.suite !== suite) throw new Error(`manifest of ${suite} names ${manifest.suite}`);
  return manifest.cases.map((file) => ({
    file,
    ...(JSON.parse(readFileSync(join(dir, file), 'utf8')) as Omit<SuiteCase, 'file'>),
  }));
}

/** What a built scenario hands the verifier. `options` are the reference verifier options the harness set. */
export interface BuiltScenario {
  envelope: JsonObject;
  trustedGatewayDids: string[];
  trustedAttesterDids: string[];
  /** The reference options this case passes (causal policy profile, coverage phase…), for the record. */
  referenceOptions: Record<string, unknown>;
}

interface ReceiptSpec {
  suffix: string;
  receiptId?: string;
  responseHash?: string;
  timestamp?: string;
  issuedAt?: string;
  binding?: JsonObject;
  /** false: no binding at all. */
  includeBinding?: boolean;
  runId?: string;
  metadata?: JsonObject;
  model?: string;
  tamperSignature?: boolean;
}

const T0 = '2026-02-17T00:00:00Z';

function baseChain(runId: string, timestamp = T0): { eventHash: string; chain: JsonObject[] } {
  const header = {
    event_id: `evt_${runId}`,
    run_id: runId,
    event_type: 'llm_call',
    timestamp,
    payload_hash_b64u: stringifyHashB64u({ type: 'llm_call' }),
    prev_hash_b64u: null,
  };
  const eventHash = computeEventHash(header);
  return { eventHash, chain: [{ ...header, event_hash_b64u: eventHash }] };
}

function gatewayReceipt(gateway: TestKey, runId: string, eventHash: string, spec: ReceiptSpec): JsonObject {
  const payload: JsonObject = {
    receipt_version: '1',
    receipt_id: spec.receiptId ?? `rcpt_${runId}_${spec.suffix}`,
    gateway_id: 'gw_clawgate_suite_001',
    provider: 'openai',
    model: spec.model ?? 'gpt-4',
    request_hash_b64u: 'req_gateway_suite_001',
    response_hash_b64u: spec.responseHash ?? 'res_gateway_suite_001',
    tokens_input: 10,
    tokens_output: 20,
    latency_ms: 50,
    timestamp: spec.timestamp ?? T0,
  };
  if (spec.includeBinding !== false)
    payload.binding = { run_id: spec.runId ?? runId, event_hash_b64u: eventHash, ...(spec.binding ?? {}) };
  if (spec.metadata) payload.metadata = spec.metadata;
  const envelope = signEnvelope('gateway_receipt', payload, gateway, { issuedAt: spec.issuedAt ?? T0 });
  if (spec.tamperSignature) envelope.signature_b64u = encodeB64u(new Uint8Array(64).fill(7));
  return envelope;
}

const span = (id: string, extra: JsonObject = {}): JsonObject => ({
  span_id: id,
  phase: 'execution',
  attribution_confidence: 0.5,
  ...extra,
});

/** Gateway receipt specs of the causal scenarios (firewall harness and core causal parity test). */
const CAUSAL_RECEIPTS: Record<string, ReceiptSpec[]> = {
  valid_gateway: [{ suffix: 'base' }],
  valid_causal_linkage: [
    { suffix: 'root', binding: span('span_root', { attribution_confidence: 1 }) },
    { suffix: 'child', binding: span('span_child', { parent_span_id: 'span_root', tool_span_id: 'span_root' }) },
  ],
  invalid_causal_dangling: [
    {
      suffix: 'dangling',
      binding: span('span_child', {
        parent_span_id: 'span_missing',
        tool_span_id: 'span_missing',
        attribution_confidence: 1,
      }),
    },
  ],
  invalid_causal_cycle: [
    { suffix: 'cycle_a', binding: span('span_a', { parent_span_id: 'span_b', attribution_confidence: 1 }) },
    { suffix: 'cycle_b', binding: span('span_b', { parent_span_id: 'span_a', attribution_confidence: 1 }) },
  ],
  invalid_causal_phase: [{ suffix: 'phase', binding: span('span_phase', { phase: 'invalid-phase' }) }],
  invalid_causal_confidence: [
    { suffix: 'confidence', binding: span('span_confidence', { attribution_confidence: 1.5 }) },
  ],
  valid_causal_binding_snake_only: [{ suffix: 'snake', binding: span('span_snake') }],
  valid_causal_binding_camel_only: [
    { suffix: 'camel', binding: { spanId: 'span_camel', phase: 'execution', attributionConfidence: 0.5 } },
  ],
  invalid_causal_binding_field_conflict: [
    { suffix: 'conflict', binding: span('span_conflict_snake', { spanId: 'span_conflict_camel' }) },
  ],
  invalid_causal_binding_normalization_failed: [
    { suffix: 'normalization', binding: { spanId: '   ', phase: 'execution', attributionConfidence: 0.5 } },
  ],
  valid_causal_confidence_authoritative: [
    { suffix: 'auth_root', binding: span('span_auth_root', { attribution_confidence: 1 }) },
    {
      suffix: 'auth_child',
      binding: span('span_auth_child', { parent_span_id: 'span_auth_root', attribution_confidence: 1 }),
    },
  ],
  valid_causal_confidence_inferred: [{ suffix: 'inferred', binding: span('span_inferred') }],
  valid_causal_confidence_unattributed: [
    { suffix: 'unattributed', binding: { phase: 'execution', attribution_confidence: 0 } },
  ],
  invalid_causal_confidence_overclaim: [
    { suffix: 'overclaim', binding: span('span_overclaim', { attribution_confidence: 1 }) },
  ],
  invalid_causal_receipt_replay_detected: [
    {
      suffix: 'replay_a',
      receiptId: 'rcpt_replay_target',
      responseHash: 'res_gateway_replay_a',
      binding: span('span_replay'),
    },
    {
      suffix: 'replay_b',
      receiptId: 'rcpt_replay_target',
      responseHash: 'res_gateway_replay_b',
      binding: span('span_replay'),
    },
  ],
  invalid_causal_span_reuse_conflict: [
    { suffix: 'reuse_root', binding: span('span_reuse') },
    {
      suffix: 'reuse_conflict',
      binding: span('span_reuse', { parent_span_id: 'span_parent_anchor', phase: 'planning' }),
    },
    { suffix: 'reuse_anchor', binding: span('span_parent_anchor') },
  ],
  valid_causal_no_replay_no_conflict: [
    { suffix: 'root', binding: span('span_nr_root', { attribution_confidence: 1 }) },
    { suffix: 'child', binding: span('span_nr_child', { parent_span_id: 'span_nr_root', attribution_confidence: 1 }) },
  ],
  valid_causal_connected: [
    { suffix: 'root', binding: span('span_connected_root', { attribution_confidence: 1 }) },
    {
      suffix: 'child',
      binding: span('span_connected_child', { parent_span_id: 'span_connected_root', attribution_confidence: 1 }),
    },
  ],
  invalid_causal_graph_disconnected: [
    { suffix: 'disc_a', binding: span('span_disc_a') },
    { suffix: 'disc_b', binding: span('span_disc_b') },
  ],
  invalid_causal_side_effect_orphaned: [{ suffix: 'side_effect_root', binding: span('span_side_effect_root') }],
  invalid_causal_human_approval_orphaned: [{ suffix: 'human_root', binding: span('span_human_root') }],
  valid_causal_clock_monotonic: [
    {
      suffix: 'clock_root',
      timestamp: '2026-02-17T00:00:00.000Z',
      issuedAt: '2026-02-17T00:00:00.500Z',
      binding: span('span_clock_root', { phase: 'setup', attribution_confidence: 1 }),
    },
    {
      suffix: 'clock_child',
      timestamp: '2026-02-17T00:00:01.000Z',
      issuedAt: '2026-02-17T00:00:01.500Z',
      binding: span('span_clock_child', {
        parent_span_id: 'span_clock_root',
        phase: 'planning',
        attribution_confidence: 1,
      }),
    },
  ],
  invalid_causal_clock_parent_after_child: [
    {
      suffix: 'parent_late',
      timestamp: '2026-02-17T00:00:03.000Z',
      issuedAt: '2026-02-17T00:00:03.500Z',
      binding: span('span_parent_late', { phase: 'setup', attribution_confidence: 1 }),
    },
    {
      suffix: 'child_early',
      timestamp: '2026-02-17T00:00:02.000Z',
      issuedAt: '2026-02-17T00:00:02.500Z',
      binding: span('span_child_early', {
        parent_span_id: 'span_parent_late',
        phase: 'planning',
        attribution_confidence: 1,
      }),
    },
  ],
  invalid_causal_phase_transition: [
    {
      suffix: 'transition_parent',
      timestamp: '2026-02-17T00:00:00.000Z',
      issuedAt: '2026-02-17T00:00:00.500Z',
      binding: span('span_transition_parent', { phase: 'teardown', attribution_confidence: 1 }),
    },
    {
      suffix: 'transition_child',
      timestamp: '2026-02-17T00:00:01.000Z',
      issuedAt: '2026-02-17T00:00:01.500Z',
      binding: span('span_transition_child', {
        parent_span_id: 'span_transition_parent',
        phase: 'planning',
        attribution_confidence: 1,
      }),
    },
  ],
  invalid_causal_clock_envelope_regression: [
    {
      suffix: 'envelope_regression',
      timestamp: '2026-02-17T00:00:05.000Z',
      issuedAt: '2026-02-17T00:00:04.000Z',
      binding: span('span_envelope_regression'),
    },
  ],
};
// The coverage/CLDD scenarios carry one plain bound receipt plus a coverage attestation.
for (const scenario of [
  'valid_gateway_coverage',
  'invalid_coverage_chain_root_enforce',
  'valid_cldd_discrepancy_warn',
  'invalid_cldd_discrepancy_enforce',
]) {
  CAUSAL_RECEIPTS[scenario] = [{ suffix: 'base' }];
}
// The causal policy-profile scenarios (core causal parity test): two roots, or a root and its child.
const POLICY_PROFILE: Record<string, { receipts: ReceiptSpec[]; options: Record<string, unknown> }> = {
  valid_policy_profile_compat_override: {
    receipts: [
      { suffix: 'compat_a', binding: span('span_compat_a') },
      { suffix: 'compat_b', binding: span('span_compat_b') },
    ],
    options: {
      causal_policy_profile: 'compat',
      causal_connectivity_mode: 'observe',
      coverage_enforcement_phase: 'warn',
    },
  },
  invalid_policy_profile_strict_downgrade: {
    receipts: [
      { suffix: 'downgrade_a', binding: span('span_downgrade_a') },
      { suffix: 'downgrade_b', binding: span('span_downgrade_b') },
    ],
    options: {
      causal_policy_profile: 'strict',
      causal_connectivity_mode: 'observe',
      coverage_enforcement_phase: 'warn',
    },
  },
  invalid_policy_profile_invalid: {
    receipts: [{ suffix: 'invalid_profile_root', binding: span('span_invalid_profile_root') }],
    options: { causal_policy_profile: 'strictish' },
  },
  valid_policy_profile_strict_lock: {
    receipts: [
      { suffix: 'lock_root', binding: span('span_lock_root', { phase: 'setup', attribution_confidence: 1 }) },
      {
        suffix: 'lock_child',
        binding: span('span_lock_child', {
          parent_span_id: 'span_lock_root',
          phase: 'planning',
          attribution_confidence: 1,
        }),
      },
    ],
    options: { causal_policy_profile: 'strict' },
  },
};

function coverageAttestation(sentinel: TestKey, agent: TestKey, runId: string, chainRoot: string): JsonObject {
  return signEnvelope(
    'coverage_attestation',
    {
      attestation_version: '1',
      attestation_id: `cov_${runId}`,
      run_id: runId,
      agent_did: agent.did,
      sentinel_did: sentinel.did,
      issued_at: T0,
      binding: { event_chain_root_hash_b64u: chainRoot },
      metrics: {
        lineage: { root_pid: 1000, processes_tracked: 10, unmonitored_spawns: 0, escapes_suspected: false },
        egress: { connections_total: 2, unmediated_connections: 0 },
        liveness: { status: 'continuous', uptime_ms: 12000, heartbeat_interval_ms: 500, max_gap_ms: 200 },
      },
    },
    sentinel,
    { issuedAt: T0 },
  );
}

function attestationReference(attester: TestKey, subject: string, tamper: boolean): JsonObject {
  const unsigned = {
    attestation_id: `att_${subject.slice(-8)}`,
    attestation_type: 'third_party',
    attester_did: attester.did,
    subject_did: subject,
    signature_b64u: '',
  };
  return {
    ...unsigned,
    signature_b64u: tamper ? encodeB64u(new Uint8Array(64).fill(9)) : attester.signB64u(jcs(unsigned)),
  };
}

/** Scenarios this file cannot build (evidence clawgate has no verifier for, or out-of-band inputs). */
export const NOT_BUILT: Record<string, string> = {
  valid_witnessed_web: 'witnessed-web receipts',
  valid_witnessed_web_quorum_pass: 'witnessed-web receipts',
  valid_witnessed_web_quorum_fail_warn: 'witnessed-web receipts',
  valid_witnessed_web_transparency_pass: 'witnessed-web receipts',
  invalid_witnessed_web_quorum_fail_enforce: 'witnessed-web receipts',
  invalid_witnessed_web_split_view_enforce: 'witnessed-web receipts',
  invalid_witnessed_web_transparency_enforce_missing: 'witnessed-web receipts',
  valid_vir_uncorroborated_high_claim: 'VIR receipts',
  valid_vir_corroborated_high_claim: 'VIR receipts',
  invalid_vir_merkle_mismatch: 'VIR receipts',
  invalid_vir_conflict_unreported: 'VIR receipts',
  invalid_vir_precedence_violation: 'VIR receipts',
  invalid_vir_event_contradiction: 'VIR receipts',
};

/** The bundle of one scenario, signed by a fresh agent key. */
export function buildScenario(testCase: SuiteCase): BuiltScenario {
  const runId = `run_suite_${testCase.id.replace(/[^a-z0-9]+/gi, '_')}`;
  const agent = createTestKey();
  const gateway = createTestKey();
  const { eventHash, chain } = baseChain(runId);
  const payload: JsonObject = {
    bundle_version: '1',
    bundle_id: `bundle_${runId}`,
    agent_did: agent.did,
    event_chain: chain,
  };
  const built = (referenceOptions: Record<string, unknown> = {}, attesters: string[] = []): BuiltScenario => ({
    envelope: signEnvelope('proof_bundle', payload, agent, { issuedAt: '2026-02-17T00:00:01Z' }),
    trustedGatewayDids: [gateway.did],
    trustedAttesterDids: attesters,
    referenceOptions,
  });
  const scenario = testCase.scenario;

  if (scenario === 'valid_self' || scenario.includes('tee')) {
    // The TEE scenarios pass the execution attestation to the reference as a verifier option, not
    // inside the bundle: the bundle itself is the plain self-tier one.
    return built(scenario.includes('tee') ? { execution_attestations: '(out of band)' } : {});
  }

  const profile = POLICY_PROFILE[scenario];
  const specs = profile?.receipts ?? CAUSAL_RECEIPTS[scenario];
  if (specs) {
    payload.receipts = specs.map((spec) => gatewayReceipt(gateway, runId, eventHash, spec));
    if (scenario === 'invalid_causal_side_effect_orphaned') {
      payload.side_effect_receipts = [
        {
          receipt_version: '1',
          receipt_id: `se_${runId}`,
          effect_class: 'external_api_write',
          hash_algorithm: 'SHA-256',
          agent_did: agent.did,
          timestamp: T0,
          binding: { tool_span_id: 'span_missing_side_effect' },
        },
      ];
    }
    if (scenario === 'invalid_causal_human_approval_orphaned') {
      payload.human_approval_receipts = [
        {
          receipt_version: '1',
          receipt_id: `ha_${runId}`,
          approval_type: 'explicit_approve',
          agent_did: agent.did,
          timestamp: T0,
          binding: { parent_span_id: 'span_missing_human_approval' },
        },
      ];
    }
    const options: Record<string, unknown> = { ...(profile?.options ?? {}) };
    if (scenario.includes('coverage') || scenario.includes('cldd')) {
      const sentinel = createTestKey();
      payload.coverage_attestations = [
        coverageAttestation(
          sentinel,
          agent,
          runId,
          scenario === 'invalid_coverage_chain_root_enforce' ? 'chain_root_mismatch_001' : eventHash,
        ),
      ];
      if (scenario.includes('cldd')) {
        payload.metadata = {
          sentinels: {
            interpose_active: true,
            interpose_state: { cldd: { unmediated_connections: 2, unmonitored_spawns: 1, escapes_suspected: true } },
          },
        };
      }
      options.coverage_enforcement_phase = scenario === 'valid_cldd_discrepancy_warn' ? 'warn' : 'enforce';
    }
    return built(options);
  }

  if (scenario.startsWith('x402_')) {
    const x402: JsonObject = {
      x402_payment_ref: '0xpaymentrefx402',
      x402_amount_minor: 1000,
      x402_currency: 'USDC',
      x402_network: 'base-sepolia',
      x402_payment_auth_hash_b64u: 'x402_payment_auth_hash_001',
    };
    const base: ReceiptSpec = { suffix: 'x402', receiptId: `gw_${runId}`, model: 'gpt-4.1', metadata: x402 };
    const receipts: ReceiptSpec[] =
      {
        x402_bound: [base],
        x402_metadata_partial: [{ ...base, metadata: { ...x402, x402_network: undefined } }],
        x402_missing_binding: [{ ...base, includeBinding: false }],
        x402_binding_mismatch: [{ ...base, runId: `${runId}_wrong` }],
        x402_payment_auth_hash_invalid: [{ ...base, metadata: { ...x402, x402_payment_auth_hash_b64u: '***' } }],
        x402_payment_auth_replay: [
          {
            ...base,
            receiptId: `${runId}_a`,
            metadata: { ...x402, x402_payment_auth_hash_b64u: 'x402_replay_hash_001' },
          },
          {
            ...base,
            receiptId: `${runId}_b`,
            metadata: { ...x402, x402_payment_auth_hash_b64u: 'x402_replay_hash_001' },
          },
        ],
      }[scenario] ?? [];
    // JSON has no undefined: a key set to undefined is absent once the payload is serialized.
    payload.receipts = receipts.map((spec) =>
      gatewayReceipt(gateway, runId, eventHash, {
        ...spec,
        metadata: spec.metadata && (JSON.parse(JSON.stringify(spec.metadata)) as JsonObject),
      }),
    );
    return built();
  }

  // Completeness scenarios.
  const attester = createTestKey();
  const plain: ReceiptSpec = { suffix: 'completeness', receiptId: `gw_${runId}`, model: 'gpt-4.1' };
  switch (scenario) {
    case 'complete_evidence_bound':
      payload.receipts = [gatewayReceipt(gateway, runId, eventHash, plain)];
      break;
    case 'partial_event_chain_only':
      break;
    case 'partial_envelope_only':
      delete payload.event_chain;
      payload.attestations = [attestationReference(attester, agent.did, true)];
      break;
    case 'partial_attestation_class_unverified':
      payload.attestations = [attestationReference(attester, agent.did, false)];
      return built({ allowlistedAttesterDids: [] });
    case 'incomplete_receipt_class_unverified':
      payload.receipts = [gatewayReceipt(gateway, runId, eventHash, { ...plain, tamperSignature: true })];
      break;
    case 'inconsistent_binding_context_missing':
      delete payload.event_chain;
      payload.receipts = [gatewayReceipt(gateway, runId, eventHash, plain)];
      break;
    case 'inconsistent_receipt_binding_mismatch':
      payload.receipts = [gatewayReceipt(gateway, runId, eventHash, { ...plain, runId: `${runId}_wrong` })];
      break;
    default:
      throw new Error(`no builder for scenario ${scenario}`);
  }
  return built({}, [attester.did]);
}
