import fc from 'fast-check';
import type { JsonObject } from '../../src/core/clawsig/json';
import { verifyAndEvaluate, type EvaluationInput } from '../../src/core/verdict';
import { makeScenario, resignEnvelope, scenarioEvaluationInput } from '../../src/testkit';
import { allPaths, mutate, mutationArb, type Json } from './mutations';

const WORK = 'a'.repeat(40);
const scenario = makeScenario({ workspace: 'acme', repoSlug: 'proj-web', commit: WORK, receipts: 2 });
const base: EvaluationInput = scenarioEvaluationInput(scenario, {
  workspace: 'acme',
  repoSlug: 'proj-web',
  workCommit: WORK,
  nowMs: Date.UTC(2026, 10, 25, 13, 0, 0),
});
const envelope = scenario.bundle.envelope as Json;
// `issued_at` of the bundle envelope is the one field no signature covers (the
// reference checks its format only); everything else is either signed or checked.
const paths = allPaths(envelope).filter((p) => !(p.length === 1 && p[0] === 'issued_at'));
const RUNS = Number(process.env.CLAWGATE_PROPERTY_RUNS ?? 2000);

describe('property: single mutations never pass (fast-check)', () => {
  test('the unmutated scenario passes (the property is not vacuous)', async () => {
    expect((await verifyAndEvaluate(base)).state).toBe('PASS');
  });

  test(`any single mutation of the envelope, not re-signed, fails (${RUNS} runs)`, async () => {
    let applied = 0;
    await fc.assert(
      fc.asyncProperty(mutationArb, async ({ pathIndex, op, seed }) => {
        const path = paths[pathIndex % paths.length] ?? [];
        const mutated = mutate(envelope, path, op, seed);
        fc.pre(mutated !== null);
        applied++;
        return (await verifyAndEvaluate({ ...base, bundle: mutated })).state !== 'PASS';
      }),
      { numRuns: RUNS, seed: 20261125 },
    );
    expect(applied).toBeGreaterThan(RUNS / 2);
  });

  test(`a mutation of the gateway receipts or the event chain, re-signed by the agent, fails (${Math.ceil(RUNS / 2)} runs)`, async () => {
    const payload = (envelope as JsonObject).payload as Json;
    const evidencePaths = allPaths(payload).filter(
      (p) => p[0] === 'receipts' || p[0] === 'event_chain' || (p[0] === 'metadata' && p[1] === 'scoped_token'),
    );
    await fc.assert(
      fc.asyncProperty(mutationArb, async ({ pathIndex, op, seed }) => {
        const path = evidencePaths[pathIndex % evidencePaths.length] ?? [];
        const mutatedPayload = mutate(payload, path, op, seed);
        fc.pre(mutatedPayload !== null);
        const resigned = resignEnvelope({ ...(envelope as JsonObject), payload: mutatedPayload }, scenario.agent);
        return (await verifyAndEvaluate({ ...base, bundle: resigned })).state !== 'PASS';
      }),
      { numRuns: Math.ceil(RUNS / 2), seed: 1125 },
    );
  });
});
