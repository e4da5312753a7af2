import os from 'node:os';
import { isMainThread, type MessagePort } from 'node:worker_threads';
import { checkEnvelopeSignature, withEnvelopeChecksDelegated } from '../core/clawsig/envelope';
import { asArray, isJsonObject, type JsonObject } from '../core/clawsig/json';
import { BUNDLE_BOUNDS, jsonBoundsExcess, type JsonBounds } from '../core/clawsig/json-bounds';
import { verifyCstSignatures } from '../core/clawsig/cst-signature';
import { evaluate, verifyAndEvaluate, type EvaluationInput, type Verdict } from '../core/verdict';
import { SHARED_SLOTS, SLOT, SharedChecks } from './shared-envelope-checks';
// A task of the same pool (Verifier.decodeFile): piscina finds every task by name in this module.
export { decodeFileTask } from './file-bytes-task';

/**
 * A verification thread yields the CPU to the event loop: a hostile 10 MiB bundle keeps this thread
 * busy for seconds, and on a machine with as many threads as cores that would slow every other
 * workspace's answers. Linux nice values are per thread, so raising this thread's (pid 0 = the
 * calling thread) leaves the event loop's priority as it is. Not permitted (some sandboxes): no change.
 */
export const VERIFICATION_THREAD_NICE = 10;
if (!isMainThread) {
  try {
    os.setPriority(Math.min(19, os.getPriority() + VERIFICATION_THREAD_NICE));
  } catch {
    // The thread keeps its creator's priority.
  }
}

/**
 * One evaluation as a worker task (docs/architecture.md §2, the engine step): the bundle arrives as text and is
 * parsed here, so parsing a hostile bundle (a 10 MiB nest of arrays takes seconds to parse) never runs
 * on the event loop either. Plain data in, plain data out (structured clone).
 */
export interface EvaluationTask {
  /** Everything the engine needs except the bundle. */
  input: Omit<EvaluationInput, 'bundle'>;
  /** The bundle text as read (repository file or upload); absent when there is none. */
  bundleText?: string;
  /** Set by the pool: the task says on this port when it starts, which starts its time budget. */
  startPort?: MessagePort;
}

function started(task: { startPort?: MessagePort }): void {
  task.startPort?.postMessage('started');
  task.startPort?.close();
}

/** Parsed and bounded, or the verdict that replaces it. */
function parseBundle(task: EvaluationTask): { bundle: unknown } | { verdict: Verdict } {
  let bundle: unknown;
  try {
    bundle = JSON.parse(task.bundleText ?? '');
  } catch {
    return { verdict: evaluate({ ...task.input, evidenceError: 'BUNDLE_UNREADABLE' }) };
  }
  // Bounded before the engine sees it: an oversized shape is a verdict of its own, not work.
  if (jsonBoundsExcess(bundle, BUNDLE_BOUNDS) !== undefined)
    return { verdict: evaluate({ ...task.input, evidenceError: 'BUNDLE_LIMIT_EXCEEDED' }) };
  return { bundle };
}

/** The engine on the parsed bundle, the CST's signature verified first (verifyAndEvaluate, jose). */
export async function evaluateTask(task: EvaluationTask): Promise<Verdict> {
  started(task);
  if (task.bundleText === undefined) return verifyAndEvaluate(task.input);
  const parsed = parseBundle(task);
  return 'verdict' in parsed ? parsed.verdict : verifyAndEvaluate({ ...task.input, bundle: parsed.bundle });
}

export default evaluateTask;

/** What a bundle's envelopes are, by slot (shared-envelope-checks.ts): the envelope, then its receipts. */
function envelopeSlots(bundle: unknown): { envelope: JsonObject; receipts: unknown[] } | undefined {
  if (!isJsonObject(bundle)) return undefined;
  const payload = isJsonObject(bundle.payload) ? bundle.payload : undefined;
  return { envelope: bundle, receipts: asArray(payload?.receipts) };
}

/**
 * One half of a split verification: the envelope checks (`checkEnvelopeSignature`, the very function
 * the engine calls: payload stringify-hash, then Ed25519) of the bundle's envelope and of its gateway
 * receipts, from the last receipt backwards, each claimed in the shared memory first so the
 * evaluating worker never repeats one. Stops as soon as the evaluating worker is done or has reached
 * the receipt it would claim next. Answers how many envelopes it checked.
 */
export function checkEnvelopesTask(task: {
  bundleText: string;
  shared: SharedArrayBuffer;
  startPort?: MessagePort;
}): number {
  started(task);
  const shared = new SharedChecks(task.shared);
  let checked = 0;
  try {
    // A checker that starts after its evaluation ended (both workers were busy) has nothing to do.
    if (shared.stopped()) return 0;
    let bundle: unknown;
    try {
      bundle = JSON.parse(task.bundleText);
    } catch {
      return 0;
    }
    const slots = envelopeSlots(bundle);
    // Only the receipts list is walked here, so only its length needs a bound; the whole-tree walk
    // is the evaluating worker's, which decides the verdict (a bundle over the bounds takes nothing
    // from this worker).
    if (!slots || slots.receipts.length >= SHARED_SLOTS) return 0;
    const check = (slot: number, envelope: JsonObject): boolean => {
      if (shared.stopped() || shared.claim(slot, SLOT.checking) !== SLOT.free) return false;
      let passed = false;
      try {
        passed = checkEnvelopeSignature(envelope) === null;
      } catch {
        // A value the engine would never check this way (an envelope without a payload has no
        // stringify-hash): failed, so the evaluating worker checks it itself if it ever does.
      }
      shared.settle(slot, passed);
      checked++;
      return true;
    };
    // The bundle's envelope first: the engine checks it before any receipt. Claimed already means
    // the evaluating worker is past it, not that it is done with the receipts.
    check(0, slots.envelope);
    for (let i = slots.receipts.length - 1; i >= 0; i--) {
      const receipt = slots.receipts[i];
      // The engine checks only gateway receipts (verifyProofBundle, 17e).
      if (!isJsonObject(receipt) || receipt.envelope_type !== 'gateway_receipt') continue;
      // Claimed by the evaluating worker: it has reached this receipt, so every earlier one too.
      if (!check(i + 1, receipt)) break;
    }
    return checked;
  } finally {
    shared.checkerDone();
  }
}

/**
 * The other half: the whole evaluation (exactly `evaluateTask`), where every envelope check the
 * checker has claimed is taken as passed. Its verdict stands only if the checker found every one of
 * them passing; otherwise the evaluation runs again here taking only the checks the checker found
 * passing and doing every other one in this worker, so the verdict (state, reason code, check order)
 * is always the single-thread engine's.
 */
export async function evaluateSharingChecksTask(
  task: EvaluationTask & { shared: SharedArrayBuffer },
): Promise<Verdict> {
  started(task);
  const shared = new SharedChecks(task.shared);
  try {
    if (task.bundleText === undefined) return await verifyAndEvaluate(task.input);
    const parsed = parseBundle(task);
    if ('verdict' in parsed) return parsed.verdict;
    // The CST is verified before the (synchronous) engine, so nothing else runs while checks are delegated.
    const input: EvaluationInput = { ...task.input, bundle: parsed.bundle };
    const cstSignatures = await verifyCstSignatures(input);
    const slotOf = new Map<object, number>();
    const slots = envelopeSlots(parsed.bundle);
    if (slots && slots.receipts.length < SHARED_SLOTS) {
      slotOf.set(slots.envelope, 0);
      slots.receipts.forEach((receipt, i) => {
        if (isJsonObject(receipt)) slotOf.set(receipt, i + 1);
      });
    }
    const taken: number[] = [];
    const verdict = withEnvelopeChecksDelegated(
      (envelope) => {
        const slot = slotOf.get(envelope);
        if (slot === undefined) return false;
        const state = shared.claim(slot, SLOT.evaluator);
        // Free (now ours), ours already, or found failing: checked here, so the outcome is this worker's own.
        if (state !== SLOT.checking && state !== SLOT.passed) return false;
        taken.push(slot);
        return true;
      },
      () => evaluate({ ...input, cstSignatures }),
    );
    shared.stop();
    if (taken.every((slot) => shared.passed(slot))) return verdict;
    // An envelope taken as passed did not pass (or its check never finished): the engine again, now
    // taking as passed only what the checker found passing (it claims nothing more after the stop)
    // and checking everything else here, so the failure gets the engine's own code and order.
    return withEnvelopeChecksDelegated(
      (envelope) => {
        const slot = slotOf.get(envelope);
        return slot !== undefined && shared.passed(slot);
      },
      () => evaluate({ ...input, cstSignatures }),
    );
  } finally {
    shared.stop();
  }
}

/** Why a JSON text was refused off the event loop. */
export type JsonRefusal = { problem: 'not_utf8' | 'not_json' } | { problem: 'limit'; path: string };

/**
 * A JSON text parsed and bounded in a worker (a run's URM): the value comes back only when it is
 * within `bounds`, so the structured clone back to the event loop is bounded too.
 */
export function parseBoundedJsonTask(task: {
  text: string;
  bounds: JsonBounds;
  startPort?: MessagePort;
}): { value: unknown } | JsonRefusal {
  started(task);
  let value: unknown;
  try {
    value = JSON.parse(task.text);
  } catch {
    return { problem: 'not_json' };
  }
  const excess = jsonBoundsExcess(value, task.bounds);
  return excess === undefined ? { value } : { problem: 'limit', path: excess.path };
}

/** A member of a JSON object body, split off the event loop (see `splitJsonObjectTask`). */
export interface SplitMember {
  /** `JSON.stringify` of the member's parsed value (the canonical text clawgate stores and hashes). */
  text: string;
  /** The value cut to `previewDepth` levels: deeper values, longer strings and larger containers are replaced by stand-ins of their type. */
  preview: unknown;
}

/** Stand-ins keep the type a schema checks, never the content: `[]`, `{}`, a cut string. */
function previewOf(value: unknown, depth: number, limits: { maxKeys: number; maxChars: number }): unknown {
  if (typeof value === 'string') return value.length > limits.maxChars ? value.slice(0, limits.maxChars + 1) : value;
  if (Array.isArray(value)) return [];
  if (!isJsonObject(value)) return value;
  if (depth <= 0) return {};
  const out: Record<string, unknown> = {};
  let kept = 0;
  for (const key of Object.keys(value)) {
    if (kept++ >= limits.maxKeys) break;
    out[key] = previewOf(value[key], depth - 1, limits);
  }
  return out;
}

/**
 * An upload body (UTF-8 bytes of a JSON object) decoded, parsed, bounded and split into its members
 * in a worker: the event loop gets each member's canonical text and a small preview to validate,
 * never a parse of up to 10 MiB (a nest of arrays that size takes seconds to parse).
 */
export function splitJsonObjectTask(task: {
  bytes: Uint8Array;
  bounds: JsonBounds;
  previewDepth: number;
  maxPreviewKeys: number;
  maxPreviewChars: number;
  startPort?: MessagePort;
}): { members: Record<string, SplitMember>; keys: string[] } | JsonRefusal | { problem: 'not_object' } {
  started(task);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(task.bytes);
  } catch {
    return { problem: 'not_utf8' };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: 'not_json' };
  }
  const excess = jsonBoundsExcess(value, task.bounds);
  if (excess !== undefined) return { problem: 'limit', path: excess.path };
  if (!isJsonObject(value)) return { problem: 'not_object' };
  const members: Record<string, SplitMember> = {};
  const keys = Object.keys(value);
  for (const key of keys.slice(0, task.maxPreviewKeys)) {
    members[key] = {
      text: JSON.stringify(value[key]) ?? 'null',
      preview: previewOf(value[key], task.previewDepth, {
        maxKeys: task.maxPreviewKeys,
        maxChars: task.maxPreviewChars,
      }),
    };
  }
  return { members, keys };
}

/**
 * `JSON.stringify(text)` of a bundle text, for the recorded engine input: escaping up to 10 MiB of
 * JSON (every quote becomes \\") took ≈300 ms of the event loop for a junk bundle.
 */
export function quoteJsonStringTask(task: { text: string; startPort?: MessagePort }): string {
  started(task);
  return JSON.stringify(task.text);
}
