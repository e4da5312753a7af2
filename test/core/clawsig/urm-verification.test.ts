/**
 * URM parity with the reference core: a bundle that references a Universal Run Manifest needs the
 * manifest, and a missing, edited, foreign-run or wrong-hash manifest fails with the reference's
 * codes in its order. Real harness runs (../shared/clawsig/real-world/poh) verify with their
 * sibling `-urm.json`, as the reference CLI recorded.
 */
import { readFileSync } from 'node:fs';
import type { JsonObject } from '../../../src/core/clawsig/json';
import { siblingArtifactName } from '../../../src/core/clawsig/urm';
import { verifyProofBundle } from '../../../src/core/clawsig/verify-proof-bundle';
import { makeProofBundle, makeUrm, resignEnvelope, urmReference } from '../../../src/testkit';
import { sharedPath } from '../../shared-data';

const NOW = Date.UTC(2026, 10, 26);
const REAL_RUNS = ['run_192c5f5d-3024-4596-9a37-bf0e9526ae49', 'run_c60e2642-18b8-4054-9fcc-7d9f1d0cdaf6'];

function real(run: string, kind: 'bundle' | 'urm' | 'verify'): JsonObject {
  return JSON.parse(
    readFileSync(sharedPath('clawsig', 'real-world', 'poh', `${run}-${kind}.json`), 'utf8'),
  ) as JsonObject;
}

describe('real harness runs with their sibling URM', () => {
  test.each(REAL_RUNS)('%s verifies as the reference recorded (OK, self tier, URM valid)', (run) => {
    const recorded = real(run, 'verify') as {
      reason_code: string;
      verification: {
        result: {
          status: string;
          proof_tier: string;
          component_results: { urm_valid: boolean; chain_root_hash: string };
        };
      };
    };
    const result = verifyProofBundle(real(run, 'bundle'), {
      nowMs: NOW,
      trustedGatewayDids: [],
      urm: real(run, 'urm'),
    });
    expect(result.reasonCode).toBe(recorded.reason_code);
    expect(result.valid ? 'VALID' : 'INVALID').toBe(recorded.verification.result.status);
    expect(result.proofTier).toBe(recorded.verification.result.proof_tier);
    expect(result.urm?.urmId).toMatch(/^urm_/);
    expect(result.bundle?.chainRootHash).toBe(recorded.verification.result.component_results.chain_root_hash);
    expect(result.urm?.trustPulseHashB64u).toBe(
      (real(run, 'urm').metadata as { trust_pulse: { artifact_hash_b64u: string } }).trust_pulse.artifact_hash_b64u,
    );
  });

  test.each(REAL_RUNS)('%s without its URM fails URM_MISSING', (run) => {
    expect(verifyProofBundle(real(run, 'bundle'), { nowMs: NOW, trustedGatewayDids: [] }).reasonCode).toBe(
      'URM_MISSING',
    );
  });

  test('an edited URM fails HASH_MISMATCH', () => {
    const urm = real(REAL_RUNS[0] as string, 'urm');
    const edited = { ...urm, outputs: [...(urm.outputs as JsonObject[]).slice(0, 1)] };
    const result = verifyProofBundle(real(REAL_RUNS[0] as string, 'bundle'), {
      nowMs: NOW,
      trustedGatewayDids: [],
      urm: edited,
    });
    expect([result.reasonCode, result.failurePath]).toEqual(['HASH_MISMATCH', 'payload.urm.resource_hash_b64u']);
  });

  test('another run’s URM fails URM_MISMATCH on urm_id', () => {
    const result = verifyProofBundle(real(REAL_RUNS[0] as string, 'bundle'), {
      nowMs: NOW,
      trustedGatewayDids: [],
      urm: real(REAL_RUNS[1] as string, 'urm'),
    });
    expect([result.reasonCode, result.failurePath]).toEqual(['URM_MISMATCH', 'urm.urm_id']);
  });

  test('the reference CLI’s sibling name: <name>-bundle.json → <name>-urm.json / -trust-pulse.json', () => {
    expect(siblingArtifactName(`${REAL_RUNS[0]}-bundle.json`, 'urm')).toBe(`${REAL_RUNS[0]}-urm.json`);
    expect(siblingArtifactName('run_x-bundle.json', 'trust-pulse')).toBe('run_x-trust-pulse.json');
    expect(siblingArtifactName('proof_bundle.json', 'urm')).toBeUndefined();
  });
});

describe('URM checks in the reference order (produced bundles)', () => {
  function bundleWith(urmEdit: (urm: JsonObject) => JsonObject) {
    const produced = makeProofBundle({ receipts: 1 });
    const payload = produced.envelope.payload as JsonObject;
    const chain = payload.event_chain as JsonObject[];
    const urm = makeUrm({
      runId: produced.runId,
      agentDid: produced.agent.did,
      chainRootHash: String(chain[0]?.event_hash_b64u),
      issuedAt: '2026-11-25T12:00:05Z',
    });
    const supplied = urmEdit(structuredClone(urm));
    // The bundle references the supplied manifest's hash, so only the binding rules can fail.
    const envelope = resignEnvelope(
      { ...produced.envelope, payload: { ...payload, urm: { ...urmReference(supplied), urm_id: urm.urm_id } } },
      produced.agent,
    );
    return verifyProofBundle(envelope, { nowMs: NOW, trustedGatewayDids: [produced.gateway.did], urm: supplied });
  }

  test('a consistent URM verifies', () => {
    const result = bundleWith((u) => u);
    expect(result.reasonCode).toBe('OK');
    expect(result.urm?.harness.id).toBe('clawgate-testkit');
  });

  test('a URM of another agent fails URM_MISMATCH on agent_did', () => {
    const result = bundleWith((u) => ({ ...u, agent_did: 'did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw' }));
    expect([result.reasonCode, result.failurePath]).toEqual(['URM_MISMATCH', 'urm.agent_did']);
  });

  test('a URM of a foreign run fails URM_MISMATCH on run_id', () => {
    const result = bundleWith((u) => ({ ...u, run_id: 'run_someone_else' }));
    expect([result.reasonCode, result.failurePath]).toEqual(['URM_MISMATCH', 'urm.run_id']);
  });

  test('a URM naming another chain root fails URM_MISMATCH on the root', () => {
    const result = bundleWith((u) => ({
      ...u,
      event_chain_root_hash_b64u: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    }));
    expect([result.reasonCode, result.failurePath]).toEqual(['URM_MISMATCH', 'urm.event_chain_root_hash_b64u']);
  });

  test('a URM that breaks urm.v1.json fails SCHEMA_VALIDATION_FAILED before any binding rule', () => {
    const result = bundleWith((u) => ({ ...u, run_id: 'run_someone_else', extra_key: true }));
    expect([result.reasonCode, result.failurePath]).toEqual(['SCHEMA_VALIDATION_FAILED', 'urm.extra_key']);
  });

  test('a bundle whose reference hash is not the supplied URM’s fails HASH_MISMATCH', () => {
    const produced = makeProofBundle({ receipts: 1, urm: true });
    const document = { ...(produced.urmDocument as JsonObject), issued_at: '2026-11-25T12:00:06Z' };
    const result = verifyProofBundle(produced.envelope, {
      nowMs: NOW,
      trustedGatewayDids: [produced.gateway.did],
      urm: document,
    });
    expect(result.reasonCode).toBe('HASH_MISMATCH');
    expect(
      verifyProofBundle(produced.envelope, {
        nowMs: NOW,
        trustedGatewayDids: [produced.gateway.did],
        urm: produced.urmDocument,
      }).reasonCode,
    ).toBe('OK');
  });
});
