import os from 'node:os';
import { isMainThread, type MessagePort } from 'node:worker_threads';
import { signatureKey, verifyEd25519ForDid, withSignaturesTakenAsValid } from '../core/clawsig/ed25519';
import { decodeB64u, encodeB64u } from '../core/clawsig/base64url';
import { asArray, isJsonObject } from '../core/clawsig/json';
import { BUNDLE_BOUNDS, jsonBoundsExcess, type JsonBounds } from '../core/clawsig/json-bounds';
import { verifyCstSignatures } from '../core/clawsig/cst-signature';
import { evaluate, verifyAndEvaluate, type EvaluationInput, type Verdict } from '../core/verdict';
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

/** Which receipts a split hands to the signature worker: those whose index `i` has `i % mod < take`. */
export interface ReceiptShare {
  mod: number;
  take: number;
}

/** The shared receipts of a parsed bundle, as (signer, signed hash, signature bytes, key). */
function receiptSignatures(
  bundle: unknown,
  share: ReceiptShare,
): { did: string; message: string; bytes: Uint8Array; key: string }[] {
  const payload = isJsonObject(bundle) && isJsonObject(bundle.payload) ? bundle.payload : undefined;
  const receipts = payload ? asArray(payload.receipts) : [];
  const out: { did: string; message: string; bytes: Uint8Array; key: string }[] = [];
  for (let i = 0; i < receipts.length; i++) {
    if (i % share.mod >= share.take) continue;
    const r = receipts[i];
    if (
      !isJsonObject(r) ||
      typeof r.signer_did !== 'string' ||
      typeof r.payload_hash_b64u !== 'string' ||
      typeof r.signature_b64u !== 'string'
    )
      continue;
    const bytes = decodeB64u(r.signature_b64u);
    if (!bytes) continue;
    out.push({
      did: r.signer_did,
      message: r.payload_hash_b64u,
      bytes,
      key: signatureKey(r.signer_did, r.payload_hash_b64u, encodeB64u(bytes)),
    });
  }
  return out;
}

/**
 * One half of a split verification: the Ed25519 signatures of the shared receipts, checked
 * exactly as the verifier checks them. Answers the keys found valid.
 */
export function verifyReceiptSignaturesTask(task: {
  bundleText: string;
  share: ReceiptShare;
  startPort?: MessagePort;
}): string[] {
  started(task);
  let bundle: unknown;
  try {
    bundle = JSON.parse(task.bundleText);
  } catch {
    return [];
  }
  // Only the receipts list is walked here, so only its length needs a bound; the whole-tree walk
  // (jsonBoundsExcess, ~1/5 of a parse on a 1.5 MB bundle) is the evaluating worker's, which decides
  // the verdict. A bundle over the bounds finds nothing here: its verdict never uses this answer.
  const payload = isJsonObject(bundle) && isJsonObject(bundle.payload) ? bundle.payload : undefined;
  if (asArray(payload?.receipts).length > BUNDLE_BOUNDS.maxArrayLength) return [];
  const valid: string[] = [];
  for (const { did, message, bytes, key } of receiptSignatures(bundle, task.share))
    if (verifyEd25519ForDid(did, message, bytes) === true) valid.push(key);
  return valid;
}

/**
 * The other half: the whole evaluation, taking the signatures of the shared receipts as valid
 * while the first half checks them. Answers the verdict and the keys it took as valid; the pool
 * keeps the verdict only if every one of them was found valid.
 */
export async function evaluateTakingSignaturesTask(
  task: EvaluationTask & { share: ReceiptShare },
): Promise<{ verdict: Verdict; taken: string[] }> {
  started(task);
  if (task.bundleText === undefined) return { verdict: await verifyAndEvaluate(task.input), taken: [] };
  const parsed = parseBundle(task);
  if ('verdict' in parsed) return { verdict: parsed.verdict, taken: [] };
  const taken = receiptSignatures(parsed.bundle, task.share).map(({ key }) => key);
  // The CST is verified before the (synchronous) engine, so nothing else runs while receipts are taken as valid.
  const input: EvaluationInput = { ...task.input, bundle: parsed.bundle };
  const cstSignatures = await verifyCstSignatures(input);
  const verdict = withSignaturesTakenAsValid(new Set(taken), () => evaluate({ ...input, cstSignatures }));
  return { verdict, taken };
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
