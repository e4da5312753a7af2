/**
 * The reference's scenario-only conformance suites (causal, clock, connectivity, hardening,
 * policy-profile, completeness, firewall, x402), their inputs built by reference-suites.ts and run
 * through clawgate's verifier. Every case gives the reference's status and code, or the stricter /
 * different answer listed in DEVIATIONS (each also in docs/clawsig-profile.md, "Reference suites").
 * No case the reference rejects may pass here.
 */
import { verifyProofBundle } from '../../../src/core/clawsig/verify-proof-bundle';
import { buildScenario, loadSuite, NOT_BUILT, SUITES, type SuiteCase } from './reference-suites';

const NOW = Date.parse('2026-02-18T00:00:00Z');

/** Where clawgate deliberately answers differently, keyed by scenario: its answer and why. */
const DEVIATIONS: Record<string, { status: 'VALID' | 'INVALID'; code: string; why: string }> = {
  valid_policy_profile_compat_override: {
    status: 'INVALID',
    code: 'CAUSAL_GRAPH_DISCONNECTED',
    why: 'clawgate always runs the strict causal profile; a caller cannot turn connectivity down to observe',
  },
  invalid_policy_profile_strict_downgrade: {
    status: 'INVALID',
    code: 'CAUSAL_GRAPH_DISCONNECTED',
    why: 'the downgrade request is a verifier option clawgate does not accept; the bundle itself fails connectivity',
  },
  invalid_policy_profile_invalid: {
    status: 'VALID',
    code: 'OK',
    why: 'the failure is a bad verifier option ("strictish"); clawgate takes no causal options, and the bundle is valid',
  },
  valid_sandbox_tee: {
    status: 'VALID',
    code: 'OK',
    why: 'valid, but the self tier: clawgate takes no out-of-band TEE execution attestation',
  },
  invalid_tee_nonce_binding_mismatch: {
    status: 'VALID',
    code: 'OK',
    why: 'the bad TEE attestation is passed to the reference out of band; the bundle alone is a valid self-tier bundle',
  },
  invalid_tee_revoked: {
    status: 'VALID',
    code: 'OK',
    why: 'as above: out-of-band TEE evidence, which clawgate does not take',
  },
  valid_gateway_coverage: {
    status: 'INVALID',
    code: 'EVIDENCE_CLASS_UNSUPPORTED',
    why: 'clawgate does not verify coverage attestations and fails closed on them',
  },
  invalid_coverage_chain_root_enforce: {
    status: 'INVALID',
    code: 'EVIDENCE_CLASS_UNSUPPORTED',
    why: 'as above (rejected, with a different code)',
  },
  valid_cldd_discrepancy_warn: {
    status: 'INVALID',
    code: 'EVIDENCE_CLASS_UNSUPPORTED',
    why: 'as above: a CLDD discrepancy is never only a warning in clawgate',
  },
  invalid_cldd_discrepancy_enforce: {
    status: 'INVALID',
    code: 'EVIDENCE_CLASS_UNSUPPORTED',
    why: 'as above (rejected, with a different code)',
  },
  incomplete_receipt_class_unverified: {
    status: 'INVALID',
    code: 'RECEIPT_VERIFICATION_FAILED',
    why: 'the reference CLI’s strict layer, which clawgate applies: a receipt that claims a binding must verify',
  },
  inconsistent_binding_context_missing: {
    status: 'INVALID',
    code: 'RECEIPT_BINDING_MISMATCH',
    why: 'rejected by the strict layer before the service’s completeness classification',
  },
  inconsistent_receipt_binding_mismatch: { status: 'INVALID', code: 'RECEIPT_BINDING_MISMATCH', why: 'as above' },
};

const cases: [string, SuiteCase][] = SUITES.flatMap((suite) =>
  loadSuite(suite).map((c): [string, SuiteCase] => [`${suite} / ${c.id}`, c]),
);
const built = cases.filter(([, c]) => NOT_BUILT[c.scenario] === undefined);

describe('reference conformance suites (scenario-only manifests)', () => {
  test('all eight suites are read, and only VIR/witnessed-web scenarios are left unbuilt', () => {
    expect(cases).toHaveLength(7 + 4 + 4 + 11 + 4 + 7 + 27 + 6);
    expect(cases.length - built.length).toBe(13);
  });

  test.each(built)('%s', (_name, testCase) => {
    const scenario = buildScenario(testCase);
    const result = verifyProofBundle(scenario.envelope, {
      nowMs: NOW,
      trustedGatewayDids: scenario.trustedGatewayDids,
      trustedAttesterDids: scenario.trustedAttesterDids,
    });
    const deviation = DEVIATIONS[testCase.scenario];
    const expected = deviation ?? { status: testCase.expected.status, code: testCase.expected.error_code ?? 'OK' };
    expect({ status: result.valid ? 'VALID' : 'INVALID', code: result.reasonCode }).toEqual({
      status: expected.status,
      code: expected.code,
    });
    if (!deviation && testCase.expected.proof_tier && result.valid)
      expect(result.proofTier).toBe(testCase.expected.proof_tier);
    if (testCase.expected.x402_reason_code) expect(result.x402?.reasonCode).toBe(testCase.expected.x402_reason_code);
  });

  test('no case the reference rejects passes, except the three whose failure lies outside the bundle', () => {
    const lenient = built
      .filter(([, c]) => c.expected.status === 'INVALID')
      .filter(([, c]) => {
        const s = buildScenario(c);
        return verifyProofBundle(s.envelope, {
          nowMs: NOW,
          trustedGatewayDids: s.trustedGatewayDids,
          trustedAttesterDids: s.trustedAttesterDids,
        }).valid;
      })
      .map(([, c]) => c.scenario);
    expect(lenient.sort()).toEqual([
      'invalid_policy_profile_invalid',
      'invalid_tee_nonce_binding_mismatch',
      'invalid_tee_revoked',
    ]);
  });
});
