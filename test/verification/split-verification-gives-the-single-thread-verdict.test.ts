import { Worker } from 'node:worker_threads';
import { checkEnvelopeSignature } from '../../src/core/clawsig/envelope';
import type { JsonObject } from '../../src/core/clawsig/json';
import type { Verdict } from '../../src/core/verdict';
import {
  createTestKey,
  makeScenario,
  resignEnvelope,
  scenarioEvaluationInput,
  signEnvelope,
  type Scenario,
} from '../../src/testkit';
import { createVerifier, type EvaluationTask, type Verifier } from '../../src/verification';
import { checkEnvelopesTask, evaluateSharingChecksTask, evaluateTask } from '../../src/verification/evaluate-task';
import { createSharedChecks, SharedChecks, SHARED_WORDS, SLOT } from '../../src/verification/shared-envelope-checks';

/**
 * A large bundle is verified by two workers that share its envelope checks (payload hash + Ed25519 of
 * the bundle and of each receipt): the evaluating worker takes the checks the checker claimed as
 * passed. Soundness is the point: whatever is wrong in the bundle, and whichever worker's share it
 * falls in, and whenever the checker finishes (before, after, never), the verdict is exactly the
 * single-thread engine's (`evaluateTask`): same state, same reason code, same checks in the same order.
 */

const WORK = 'a'.repeat(40);
const NOW = Date.now();

interface Bundle {
  payload: JsonObject & { receipts: JsonObject[] };
  issued_at: string;
}

function scenarioTask(receipts: number): { task: EvaluationTask; scenario: Scenario } {
  const scenario = makeScenario({
    workspace: 'acme',
    repoSlug: 'proj-web',
    commit: WORK,
    receipts,
    startMs: NOW - 3_600_000,
  });
  const { bundle, ...input } = scenarioEvaluationInput(scenario, {
    workspace: 'acme',
    repoSlug: 'proj-web',
    workCommit: WORK,
    nowMs: NOW,
  });
  return { task: { input, bundleText: JSON.stringify(bundle) }, scenario };
}

/** The bundle with `change` applied to its payload, re-signed by the agent unless `resign` is false. */
function mutated(task: EvaluationTask, scenario: Scenario, change: (b: Bundle) => void, resign = true): string {
  const bundle = JSON.parse(task.bundleText ?? '') as Bundle;
  change(bundle);
  if (!resign) return JSON.stringify(bundle);
  return JSON.stringify(signEnvelope('proof_bundle', bundle.payload, scenario.agent, { issuedAt: bundle.issued_at }));
}

const other = createTestKey();

/** What an agent might do to a bundle, at receipt `i` (or `j`, where a receipt moves to). */
const MUTATIONS: Record<string, (b: Bundle, i: number, j: number, s: Scenario) => void> = {
  'a receipt signature taken from another receipt': (b, i, j) => {
    b.payload.receipts[i]!.signature_b64u = b.payload.receipts[j]!.signature_b64u;
  },
  'a receipt payload changed after signing (payload hash)': (b, i) => {
    const payload = b.payload.receipts[i]!.payload as JsonObject;
    payload.tokens_output = Number(payload.tokens_output) + 1;
  },
  'a receipt payload hash rewritten to match a changed payload, signature left': (b, i, _j, s) => {
    const receipt = b.payload.receipts[i]!;
    (receipt.payload as JsonObject).tokens_output = 7;
    const resigned = resignEnvelope(receipt, s.gateway);
    receipt.payload_hash_b64u = resigned.payload_hash_b64u;
  },
  'a receipt signed by another key under the gateway DID': (b, i) => {
    const receipt = b.payload.receipts[i]!;
    receipt.signature_b64u = other.signB64u(String(receipt.payload_hash_b64u));
  },
  'a receipt signed by an untrusted gateway under its own DID': (b, i) => {
    const receipt = b.payload.receipts[i]!;
    receipt.signer_did = other.did;
    b.payload.receipts[i] = resignEnvelope(receipt, other);
  },
  'a receipt with an unsupported hash algorithm': (b, i) => {
    b.payload.receipts[i]!.hash_algorithm = 'BLAKE3';
  },
  'a receipt signature that is not base64url': (b, i) => {
    b.payload.receipts[i]!.signature_b64u = '!!';
  },
  'a forged receipt moved to another place in the list': (b, i, j) => {
    const receipts = b.payload.receipts;
    receipts[i]!.signature_b64u = receipts[j]!.signature_b64u;
    const [moved] = receipts.splice(i, 1);
    receipts.splice(j, 0, moved!);
  },
  'two valid receipts swapped': (b, i, j) => {
    const receipts = b.payload.receipts;
    [receipts[i], receipts[j]] = [receipts[j]!, receipts[i]!];
  },
  'a valid receipt duplicated': (b, i, j) => {
    b.payload.receipts.splice(j, 0, structuredClone(b.payload.receipts[i]!));
  },
};

/** Mutations of the bundle's own envelope (not re-signed). */
const ENVELOPE_MUTATIONS: Record<string, (b: JsonObject, s: Scenario) => void> = {
  "the bundle's signature replaced": (b) => {
    b.signature_b64u = other.signB64u(String(b.payload_hash_b64u));
  },
  "the bundle's payload changed after signing": (b) => {
    ((b.payload as JsonObject).receipts as JsonObject[]).pop();
  },
};

/** What a checker that finished its share would have written: the engine's own check, on its own parse. */
function checkerOutcomes(bundleText: string, slots: readonly number[]): [number, boolean][] {
  const bundle = JSON.parse(bundleText) as Bundle;
  return slots.map((slot) => {
    const envelope = slot === 0 ? bundle : bundle.payload.receipts[slot - 1];
    return [slot, envelope !== undefined && checkEnvelopeSignature(envelope as JsonObject) === null];
  });
}

/**
 * A stand-in checker thread (one for the whole file) that settles the claimed slots it is sent only
 * once the evaluating side is done with the engine: the evaluating side has then taken them as passed
 * while they were still being checked.
 */
const settler = new Worker(
  `const { parentPort } = require('node:worker_threads');
   parentPort.on('message', ({ buffer, outcomes, words, passed, failed }) => {
     const w = new Int32Array(buffer);
     while (Atomics.load(w, words.stop) !== 1) Atomics.wait(w, words.stop, 0, 5);
     for (const [slot, ok] of outcomes) {
       Atomics.store(w, words.firstSlot + slot, ok ? passed : failed);
       Atomics.notify(w, words.firstSlot + slot);
     }
     Atomics.store(w, words.checkerDone, 1);
     parentPort.postMessage('settled');
   });`,
  { eval: true },
);
afterAll(() => settler.terminate());

function settleAfterStop(buffer: SharedArrayBuffer, outcomes: [number, boolean][]): Promise<void> {
  const settled = new Promise<void>((resolve) => settler.once('message', () => resolve()));
  settler.postMessage({ buffer, outcomes, words: SHARED_WORDS, passed: SLOT.passed, failed: SLOT.failed });
  return settled;
}

type Timing = 'settled before the evaluator looks' | 'settled after the evaluator took them' | 'never settled';

/** The evaluating half, on this thread, with the checker having claimed `share` and finished as `timing` says. */
async function sharedVerdict(task: EvaluationTask, share: readonly number[], timing: Timing): Promise<Verdict> {
  const buffer = createSharedChecks();
  const shared = new SharedChecks(buffer);
  for (const slot of share) expect(shared.claim(slot, SLOT.checking)).toBe(SLOT.free);
  const outcomes = checkerOutcomes(task.bundleText ?? '', share);
  let settling: Promise<void> | undefined;
  if (timing === 'settled before the evaluator looks') {
    for (const [slot, ok] of outcomes) shared.settle(slot, ok);
    shared.checkerDone();
  } else if (timing === 'never settled') {
    shared.checkerDone();
  } else {
    settling = settleAfterStop(buffer, outcomes);
  }
  const verdict = await evaluateSharingChecksTask({ ...task, shared: buffer });
  await settling;
  return verdict;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, k) => from + k);
}

const TIMINGS: Timing[] = [
  'settled before the evaluator looks',
  'settled after the evaluator took them',
  'never settled',
];

describe('the evaluating worker of a split answers the single-thread verdict', () => {
  // Small bundles: the two halves do not care about size (the pool's threshold decides when to split).
  const RECEIPTS = 8;
  const { task, scenario } = scenarioTask(RECEIPTS);
  const slots = range(0, RECEIPTS + 1);
  /** Which slots the checker claimed: every one, none, the bundle's envelope, each half, every other one. */
  const shares = (bad: number[]): Record<string, number[]> => ({
    'the checker took every envelope': slots,
    'the checker took none': [],
    'the checker took the first half': range(0, RECEIPTS / 2 + 1),
    'the checker took the last half': range(RECEIPTS / 2 + 1, RECEIPTS + 1),
    'the checker took exactly the bad ones': bad,
    'the checker took all but the bad ones': slots.filter((s) => !bad.includes(s)),
  });

  it('a valid bundle passes whatever the share and the timing', async () => {
    const expected = await evaluateTask(task);
    expect(expected.state).toBe('PASS');
    for (const share of Object.values(shares([1])))
      for (const timing of TIMINGS) expect(await sharedVerdict(task, share, timing)).toEqual(expected);
  });

  // Receipt positions: the first (the evaluating worker's end), the last (the checker's end), one between.
  const positions: [number, number][] = [
    [0, RECEIPTS - 1],
    [RECEIPTS - 1, 0],
    [3, 4],
  ];
  for (const [name, mutate] of Object.entries(MUTATIONS)) {
    it(`${name}: the same verdict in either share, whenever the checker finishes`, async () => {
      const failing = new Set<string>();
      for (const [i, j] of positions) {
        const bundleText = mutated(task, scenario, (b) => mutate(b, i, j, scenario));
        const bad = { ...task, bundleText };
        const expected = await evaluateTask(bad);
        failing.add(`${expected.state} ${expected.reasonCode}`);
        for (const share of Object.values(shares([i + 1, j + 1])))
          for (const timing of TIMINGS) expect(await sharedVerdict(bad, share, timing)).toEqual(expected);
      }
      // The mutation bites (or, for a reordering of valid receipts, does not): the comparison above is not vacuous.
      if (name === 'two valid receipts swapped' || name === 'a valid receipt duplicated') return;
      expect([...failing].every((s) => s.startsWith('FAIL '))).toBe(true);
    });
  }

  for (const [name, mutate] of Object.entries(ENVELOPE_MUTATIONS)) {
    it(`${name}: the same verdict in either share, whenever the checker finishes`, async () => {
      const bundleText = mutated(task, scenario, (b) => mutate(b as unknown as JsonObject, scenario), false);
      const bad = { ...task, bundleText };
      const expected = await evaluateTask(bad);
      expect(expected.state).toBe('FAIL');
      for (const share of Object.values(shares([0])))
        for (const timing of TIMINGS) expect(await sharedVerdict(bad, share, timing)).toEqual(expected);
    });
  }
});

describe('the checker of a split', () => {
  const RECEIPTS = 12;
  const { task } = scenarioTask(RECEIPTS);

  it('checks the bundle envelope and every receipt from the last back when alone, with the engine own check', () => {
    const buffer = createSharedChecks();
    const bundleText = task.bundleText ?? '';
    expect(checkEnvelopesTask({ bundleText, shared: buffer })).toBe(RECEIPTS + 1);
    const shared = new SharedChecks(buffer);
    for (let slot = 0; slot <= RECEIPTS; slot++) expect(shared.passed(slot)).toBe(true);
  });

  it('stops at the first receipt the evaluating worker claimed, and leaves every earlier one to it', () => {
    const buffer = createSharedChecks();
    const shared = new SharedChecks(buffer);
    expect(shared.claim(8, SLOT.evaluator)).toBe(SLOT.free);
    expect(checkEnvelopesTask({ bundleText: task.bundleText ?? '', shared: buffer })).toBe(1 + (RECEIPTS - 8));
    for (let slot = 1; slot < 8; slot++) expect(shared.claim(slot, SLOT.evaluator)).toBe(SLOT.free);
  });

  it('does nothing once the evaluation is over (a checker that waited for a worker)', () => {
    const buffer = createSharedChecks();
    new SharedChecks(buffer).stop();
    expect(checkEnvelopesTask({ bundleText: task.bundleText ?? '', shared: buffer })).toBe(0);
  });

  it('goes on past a receipt its check throws on (no payload), recorded as failed', async () => {
    const { task: big, scenario } = scenarioTask(RECEIPTS);
    const bundleText = mutated(big, scenario, (b) => {
      delete b.payload.receipts[RECEIPTS - 1]!.payload;
    });
    const buffer = createSharedChecks();
    expect(checkEnvelopesTask({ bundleText, shared: buffer })).toBe(RECEIPTS + 1);
    const shared = new SharedChecks(buffer);
    expect(shared.passed(RECEIPTS)).toBe(false);
    expect(shared.passed(1)).toBe(true);
    const expected = await evaluateTask({ ...big, bundleText });
    expect(expected.state).toBe('FAIL');
    expect(await evaluateSharingChecksTask({ ...big, bundleText, shared: buffer })).toEqual(expected);
  });

  it('records a failing receipt as failed, and the evaluating worker then checks that one itself', async () => {
    const { task: big, scenario } = scenarioTask(RECEIPTS);
    const bundleText = mutated(big, scenario, (b) => {
      b.payload.receipts[RECEIPTS - 1]!.signature_b64u = b.payload.receipts[0]!.signature_b64u;
    });
    const buffer = createSharedChecks();
    checkEnvelopesTask({ bundleText, shared: buffer });
    const shared = new SharedChecks(buffer);
    expect(shared.passed(RECEIPTS)).toBe(false);
    expect(shared.passed(RECEIPTS - 1)).toBe(true);
    const expected = await evaluateTask({ ...big, bundleText });
    expect(expected.reasonCode).toBe('RECEIPT_VERIFICATION_FAILED');
    expect(await evaluateSharingChecksTask({ ...big, bundleText, shared: buffer })).toEqual(expected);
  });
});

describe('split verification through the pool (two real workers)', () => {
  // Large enough to be split (≥ 256 KiB); which receipts each worker checks depends on timing.
  const RECEIPTS = 300;
  const { task, scenario } = scenarioTask(RECEIPTS);
  let verifier: Verifier;
  beforeAll(() => {
    verifier = createVerifier({ threads: 2, timeBudgetMs: 15_000 });
  });
  afterAll(async () => {
    await verifier.close();
  });

  it('gives the single-thread verdict for a bad receipt at the start, in the middle and at the end', async () => {
    expect(task.bundleText?.length).toBeGreaterThan(256 * 1024);
    const cases: string[] = [task.bundleText ?? ''];
    for (const i of [0, RECEIPTS / 2, RECEIPTS - 1])
      for (const mutate of [
        MUTATIONS['a receipt signature taken from another receipt'],
        MUTATIONS['a receipt payload changed after signing (payload hash)'],
        MUTATIONS['a receipt signed by another key under the gateway DID'],
      ])
        cases.push(mutated(task, scenario, (b) => mutate?.(b, i, (i + 1) % RECEIPTS, scenario)));
    cases.push(
      mutated(
        task,
        scenario,
        (b) => ENVELOPE_MUTATIONS["the bundle's signature replaced"]?.(b as never, scenario),
        false,
      ),
    );
    const codes = new Set<string>();
    for (const bundleText of cases) {
      const expected = await evaluateTask({ ...task, bundleText });
      codes.add(expected.reasonCode);
      expect(await verifier.evaluate({ ...task, bundleText })).toEqual(expected);
    }
    expect(codes.size).toBeGreaterThan(2);
  });

  it('many large bundles at once (both workers busy, checkers queued) all get their single-thread verdicts', async () => {
    const forged = mutated(task, scenario, (b) => {
      b.payload.receipts[RECEIPTS - 1]!.signature_b64u = b.payload.receipts[0]!.signature_b64u;
    });
    const texts = [task.bundleText ?? '', forged, task.bundleText ?? '', forged, forged, task.bundleText ?? ''];
    const verdicts = await Promise.all(texts.map((bundleText) => verifier.evaluate({ ...task, bundleText })));
    const pass = await evaluateTask(task);
    const fail = await evaluateTask({ ...task, bundleText: forged });
    expect(fail.state).toBe('FAIL');
    verdicts.forEach((verdict, k) => expect(verdict).toEqual(texts[k] === forged ? fail : pass));
  });
});
