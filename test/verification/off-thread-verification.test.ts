import { monitorEventLoopDelay } from 'node:perf_hooks';
import { verifyAndEvaluate } from '../../src/core/verdict';
import type { JsonObject } from '../../src/core/clawsig/json';
import { makeScenario, scenarioEvaluationInput, signEnvelope, type Scenario } from '../../src/testkit';
import { createVerifier, inlineVerifier, type EvaluationTask, type Verifier } from '../../src/verification';

/**
 * Bundle verification runs in worker threads with a time budget: a hostile bundle costs a worker, never
 * the event loop, and a bundle that cannot be verified in time is a FAIL verdict (fail closed).
 */

const WORK = 'a'.repeat(40);
const NOW = Date.now();

function scenarioTask(receipts = 3): { task: EvaluationTask; bundle: unknown; scenario: Scenario } {
  const scenario = makeScenario({
    workspace: 'acme',
    repoSlug: 'proj-web',
    commit: WORK,
    receipts,
    startMs: NOW - 60_000,
  });
  const { bundle, ...input } = scenarioEvaluationInput(scenario, {
    workspace: 'acme',
    repoSlug: 'proj-web',
    workCommit: WORK,
    nowMs: NOW,
  });
  return { task: { input, bundleText: JSON.stringify(bundle) }, bundle, scenario };
}

/** 100,000 unsigned receipts in an envelope-shaped bundle (≈1.1 MiB), as committed by anyone. */
function junkReceipts(count: number): string {
  const receipt = '{"envelope_type":"gateway_receipt","payload":{}}';
  return `{"envelope_version":"1","envelope_type":"proof_bundle","payload":{"bundle_version":"1","bundle_id":"junk","agent_did":"did:key:zjunk","receipts":[${Array(count).fill(receipt).join(',')}]},"payload_hash_b64u":"x","hash_algorithm":"SHA-256","signature_b64u":"x","algorithm":"Ed25519","signer_did":"did:key:zjunk","issued_at":"2026-01-01T00:00:00Z"}`;
}

/** A nest of arrays: seconds to parse, whatever the verifier does after. */
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('verification off the event loop', () => {
  // A generous budget where the verdict must come from the bundle, a tight one for the budget itself.
  let verifier: Verifier;
  let tight: Verifier;
  beforeAll(() => {
    verifier = createVerifier({ threads: 2, timeBudgetMs: 15_000 });
    tight = createVerifier({ threads: 2, timeBudgetMs: 400 });
  });
  afterAll(async () => {
    await verifier.close();
    await tight.close();
  });

  it('gives the same verdict as the engine on the calling thread', async () => {
    const { task, bundle } = scenarioTask();
    const expected = await verifyAndEvaluate({ ...task.input, bundle });
    expect(expected.state).toBe('PASS');
    const pooled = await verifier.evaluate(task);
    expect(pooled).toEqual(expected);
    expect(await inlineVerifier.evaluate(task)).toEqual(expected);
  });

  it('a large bundle verified across two workers gets the same verdict as on one thread', async () => {
    const { task, bundle } = scenarioTask(300);
    expect(task.bundleText?.length).toBeGreaterThan(256 * 1024);
    const expected = await verifyAndEvaluate({ ...task.input, bundle });
    expect(expected.state).toBe('PASS');
    expect(await verifier.evaluate(task)).toEqual(expected);
  });

  it('a forged receipt signature at the checker end of a split is still caught', async () => {
    const { task, scenario } = scenarioTask(300);
    const envelope = JSON.parse(task.bundleText ?? '') as {
      payload: JsonObject & { receipts: { signature_b64u: string }[] };
      issued_at: string;
    };
    const [first] = envelope.payload.receipts;
    const last = envelope.payload.receipts.at(-1);
    if (!first || !last) throw new Error('no receipts');
    // The checker takes receipts from the last one back: give the last another receipt's (valid,
    // wrong) signature, and re-sign the bundle as the agent would, so that only the receipt is wrong.
    last.signature_b64u = first.signature_b64u;
    const bundleText = JSON.stringify(
      signEnvelope('proof_bundle', envelope.payload, scenario.agent, { issuedAt: envelope.issued_at }),
    );
    const expected = await verifyAndEvaluate({ ...task.input, bundle: JSON.parse(bundleText) });
    expect(expected.state).toBe('FAIL');
    expect(expected.reasonCode).toBe('RECEIPT_VERIFICATION_FAILED');
    expect(await verifier.evaluate({ ...task, bundleText })).toEqual(expected);
  });

  it('a bundle with 100,000 receipts is BUNDLE_LIMIT_EXCEEDED, not 17 s of schema issues', async () => {
    const { task } = scenarioTask();
    const verdict = await verifier.evaluate({ ...task, bundleText: junkReceipts(100_000) });
    expect(verdict.state).toBe('FAIL');
    expect(verdict.statusState).toBe('FAILED');
    expect(verdict.reasonCode).toBe('BUNDLE_LIMIT_EXCEEDED');
  });

  it('a bundle that is not JSON is BUNDLE_UNREADABLE', async () => {
    const { task } = scenarioTask();
    const verdict = await verifier.evaluate({ ...task, bundleText: '{"envelope_version":' });
    expect(verdict.state).toBe('FAIL');
    expect(verdict.checks).toContainEqual(expect.objectContaining({ outcome: 'fail', code: 'BUNDLE_UNREADABLE' }));
  });

  it('past the time budget the task is killed and the verdict is VERIFICATION_BUDGET_EXCEEDED; the pool keeps working', async () => {
    const { task } = scenarioTask();
    await Promise.all([tight.evaluate(task), tight.evaluate(task)]); // workers started
    const started = Date.now();
    const verdict = await tight.evaluate({ ...task, bundleText: nested(6_000_000) });
    expect(verdict.reasonCode).toBe('VERIFICATION_BUDGET_EXCEEDED');
    expect(verdict.statusState).toBe('FAILED');
    // Killed at the 400 ms budget, not after the ~8 s the parse alone takes.
    expect(Date.now() - started).toBeLessThan(3_000);
    expect((await verifier.evaluate(task)).state).toBe('PASS');
  });

  it('a human PR whose bundle ran out of budget is still judged, never NOT_APPLICABLE', async () => {
    const { task } = scenarioTask();
    const change = task.input.change;
    if (!change) throw new Error('scenario without change');
    const human = { ...task.input, change: { ...change, actor: { accountId: '{human}' } } };
    const verdict = await tight.evaluate({ input: human, bundleText: nested(3_000_000) });
    expect(verdict.state).toBe('FAIL');
    expect(verdict.reasonCode).toBe('VERIFICATION_BUDGET_EXCEEDED');
  });

  it('the event loop stays responsive while workers chew on hostile bundles', async () => {
    const { task } = scenarioTask();
    // Workers start on demand: start them before measuring (start-up is not the point here).
    await Promise.all([verifier.evaluate(task), verifier.evaluate(task), tight.evaluate(task), tight.evaluate(task)]);
    const histogram = monitorEventLoopDelay({ resolution: 5 });
    histogram.enable();
    const verdicts = await Promise.all([
      verifier.evaluate({ ...task, bundleText: junkReceipts(100_000) }),
      tight.evaluate({ ...task, bundleText: nested(3_000_000) }),
    ]);
    histogram.disable();
    expect(verdicts.map((v) => v.reasonCode)).toEqual(['BUNDLE_LIMIT_EXCEEDED', 'VERIFICATION_BUDGET_EXCEEDED']);
    // The same work on the calling thread blocks it for seconds.
    expect(histogram.max / 1e6).toBeLessThan(600);
  });
});
