/**
 * Attacks on gateway receipts inside a bundle that the reference rejects: metadata that breaks the
 * standalone gateway_receipt_envelope.v1 schema, and span graphs built to confuse the causal checks.
 */
import type { JsonObject } from '../../../src/core/clawsig/json';
import { verifyProofBundle } from '../../../src/core/clawsig/verify-proof-bundle';
import { makeProofBundle, resignEnvelope, type TestKey } from '../../../src/testkit';

const NOW = Date.UTC(2026, 10, 26);

function withReceipts(
  envelope: JsonObject,
  agent: TestKey,
  gateway: TestKey,
  edit: (payload: JsonObject, index: number) => void,
): JsonObject {
  const payload = envelope.payload as JsonObject;
  const receipts = (payload.receipts as JsonObject[]).map((receipt, index) => {
    const receiptPayload = structuredClone(receipt.payload) as JsonObject;
    edit(receiptPayload, index);
    return resignEnvelope({ ...receipt, payload: receiptPayload }, gateway);
  });
  return resignEnvelope({ ...envelope, payload: { ...payload, receipts } }, agent);
}

function verify(envelope: JsonObject, gateway: TestKey) {
  return verifyProofBundle(envelope, { nowMs: NOW, trustedGatewayDids: [gateway.did] });
}

describe('gateway receipts are held to the standalone receipt schema', () => {
  test('a malformed log_inclusion_proof makes the receipt not count, and the bundle fails', () => {
    const { envelope, agent, gateway } = makeProofBundle({ receipts: 2 });
    const forged = withReceipts(envelope, agent, gateway, (p, i) => {
      if (i === 1) p.metadata = { log_inclusion_proof: { proof_version: '1', leaf_hash_b64u: '!!' } };
    });
    const result = verify(forged, gateway);
    expect(result.reasonCode).toBe('RECEIPT_VERIFICATION_FAILED');
    expect(result.gatewayReceipts[1]?.code).toBe('SCHEMA_VALIDATION_FAILED');
  });

  test('a well-formed receipt with other metadata still verifies', () => {
    const { envelope, agent, gateway } = makeProofBundle({ receipts: 2 });
    const ok = withReceipts(envelope, agent, gateway, (p) => {
      p.metadata = { harness_note: 'free-form keys are allowed' };
    });
    expect(verify(ok, gateway).valid).toBe(true);
  });

  test('an x402 claim without its network fails EVIDENCE_MISMATCH (X402_METADATA_PARTIAL)', () => {
    const { envelope, agent, gateway } = makeProofBundle({ receipts: 1 });
    const forged = withReceipts(envelope, agent, gateway, (p) => {
      p.metadata = {
        x402_payment_ref: 'ref',
        x402_amount_minor: 5,
        x402_currency: 'USDC',
        x402_payment_auth_hash_b64u: 'abcdefgh12',
      };
    });
    const result = verify(forged, gateway);
    expect([result.reasonCode, result.x402?.reasonCode]).toEqual(['EVIDENCE_MISMATCH', 'X402_METADATA_PARTIAL']);
  });
});

describe('causal graph attacks', () => {
  test('a long parent chain is walked without recursion (1000 receipts) and verifies', () => {
    const { envelope, agent, gateway } = makeProofBundle({ receipts: 1000 });
    const chained = withReceipts(envelope, agent, gateway, (p, i) => {
      const binding = p.binding as JsonObject;
      if (i > 0) binding.parent_span_id = `span_${i - 1}`;
    });
    const started = Date.now();
    expect(verify(chained, gateway).valid).toBe(true);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  test('a cycle hidden behind a valid root is found', () => {
    const { envelope, agent, gateway } = makeProofBundle({ receipts: 4 });
    const receipts = (envelope.payload as JsonObject).receipts as JsonObject[];
    const sameTime = (receipts[2]?.payload as JsonObject).timestamp;
    const cyclic = withReceipts(envelope, agent, gateway, (p, i) => {
      const binding = p.binding as JsonObject;
      // Same time on both, so the clock check (which runs first) has nothing to say.
      if (i === 3) p.timestamp = sameTime;
      if (i === 2) binding.parent_span_id = 'span_3';
      if (i === 3) binding.parent_span_id = 'span_2';
    });
    expect(verify(cyclic, gateway).reasonCode).toBe('CAUSAL_CYCLE_DETECTED');
  });

  test('a side effect anchored to a span that only a side effect declares is orphaned', () => {
    const { envelope, agent, gateway } = makeProofBundle({
      receipts: 1,
      sideEffects: [{ effectClass: 'filesystem_write', target: 'src/a.ts' }],
    });
    const payload = envelope.payload as JsonObject;
    const effects = (payload.side_effect_receipts as JsonObject[]).map((e) => ({
      ...e,
      binding: { span_id: 'span_self_declared' },
    }));
    const forged = resignEnvelope({ ...envelope, payload: { ...payload, side_effect_receipts: effects } }, agent);
    expect(verify(forged, gateway).reasonCode).toBe('CAUSAL_SIDE_EFFECT_ORPHANED');
  });

  test('a blank-after-trim anchor on a side effect fails normalization, not as an orphan', () => {
    const { envelope, agent, gateway } = makeProofBundle({
      receipts: 1,
      sideEffects: [{ effectClass: 'filesystem_write', target: 'src/a.ts' }],
    });
    const payload = envelope.payload as JsonObject;
    const effects = (payload.side_effect_receipts as JsonObject[]).map((e) => ({
      ...e,
      binding: { tool_span_id: ' \t' },
    }));
    const forged = resignEnvelope({ ...envelope, payload: { ...payload, side_effect_receipts: effects } }, agent);
    expect(verify(forged, gateway).reasonCode).toBe('CAUSAL_BINDING_NORMALIZATION_FAILED');
  });
});
