import { availableParallelism } from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { evaluate, type Verdict } from '../core/verdict';
import type { JsonBounds } from '../core/clawsig/json-bounds';
import {
  evaluateTask,
  parseBoundedJsonTask,
  quoteJsonStringTask,
  splitJsonObjectTask,
  type EvaluationTask,
  type JsonRefusal,
  type SplitMember,
} from './evaluate-task';
import { decodeFileTask, type FileText } from './file-bytes-task';
import { createSharedChecks, SharedChecks } from './shared-envelope-checks';

/**
 * Bundle verification off the event loop (finding 6: 100,000 unsigned receipts blocked every tenant
 * for ~17 s). One async function, `verifier.evaluate(task)`, runs the engine in a pool of worker
 * threads (piscina) sized to the cores, so a hostile bundle in one workspace costs one worker for at
 * most its time budget and never the event loop that answers every other workspace.
 *
 * A large bundle is verified across two workers (see `evaluate`), so that a 1,000-receipt bundle costs
 * less wall time than its Ed25519 verifications on one thread.
 *
 * Fail closed:
 * - a task that runs past its time budget is killed (its worker is terminated) and its verdict is
 *   FAIL with `VERIFICATION_BUDGET_EXCEEDED`; the budget starts when the task starts running, not
 *   while it waits for a worker, so load alone never fails a good bundle;
 * - a worker that runs out of its heap limit is a FAIL with `BUNDLE_LIMIT_EXCEEDED`;
 * - anything else (the pool is closed, a worker crashed) throws: the pipeline's error path publishes
 *   FAILED in enforce mode and the job is retried.
 */
export interface Verifier {
  evaluate(task: EvaluationTask): Promise<Verdict>;
  /** A JSON text (a run's URM) parsed and bounded off the event loop; over the time budget is a `limit` refusal. */
  parseJson(text: string, bounds: JsonBounds): Promise<{ value: unknown } | JsonRefusal>;
  /** A JSON object body (an upload) decoded, parsed, bounded and split into members off the event loop. */
  splitJsonObject(bytes: Uint8Array, options: SplitOptions): Promise<SplitResult>;
  /** `JSON.stringify(text)` of a (bundle) text, in a worker; throws past the time budget. */
  quoteJsonString(text: string): Promise<string>;
  /**
   * A file's bytes (a bundle or URM read from a PR) decoded as strict UTF-8 and hashed (SHA-256 of
   * these exact bytes) in a worker; with `bundleId`, also parsed for its `payload.bundle_id`. The
   * bytes are transferred when the view spans its whole buffer (the caller's view is then detached:
   * do not use it afterwards), copied otherwise. Past the time budget: `{ problem: 'limit' }`.
   */
  decodeFile(bytes: Uint8Array, options?: { bundleId?: boolean }): Promise<FileText | { problem: 'limit' }>;
  close(): Promise<void>;
}

export interface SplitOptions {
  bounds: JsonBounds;
  /** Levels of each member kept in its preview (deeper values become `{}` / `[]`). */
  previewDepth: number;
  /** Members kept, and keys kept per object of a preview. */
  maxPreviewKeys: number;
  /** Characters of a string kept in a preview (longer ones are cut one past it, so a length check still fails). */
  maxPreviewChars: number;
}

export type SplitResult =
  { members: Record<string, SplitMember>; keys: string[] } | JsonRefusal | { problem: 'not_object' };

export interface VerifierOptions {
  /** Worker threads (default: the machine's available parallelism). */
  threads?: number;
  /** Time budget of one task once it runs, in ms (default 20,000). */
  timeBudgetMs?: number;
  /** Heap limit of a worker, in MiB (default 512). */
  maxHeapMb?: number;
}

export const DEFAULT_VERIFY_TIME_BUDGET_MS = 20_000;

/**
 * Bounds of a run's URM (UNCONFIRMED: the protocol sets none; a URM lists the run's inputs and
 * outputs, a few values each). Small enough that the parsed value's way back to the event loop
 * (a structured clone) stays short.
 */
export const URM_BOUNDS: JsonBounds = { maxArrayLength: 10_000, maxDepth: 32, maxValues: 50_000 };

/**
 * Bundles from this size (≈150 gateway receipts) are verified across two workers. Below it the
 * second worker's parse of the text would cost about what it saves.
 */
const SPLIT_MIN_CHARS = 256 * 1024;

/** The verdict for a bundle clawgate refused to finish verifying: the engine without the bundle. */
function refusedVerdict(task: EvaluationTask, code: 'VERIFICATION_BUDGET_EXCEEDED' | 'BUNDLE_LIMIT_EXCEEDED'): Verdict {
  return evaluate({ ...task.input, evidenceError: code });
}

class BudgetExceeded extends Error {}

function workerEntry(): { filename: string; execArgv: string[] } {
  // Compiled (dist/): the .js beside this file. From the TypeScript sources (tests, tsx): the .ts
  // through tsx's require hook, a development dependency.
  if (__filename.endsWith('.ts'))
    return { filename: `${__dirname}/evaluate-task.ts`, execArgv: ['--require', require.resolve('tsx/cjs')] };
  return { filename: `${__dirname}/evaluate-task.js`, execArgv: [] };
}

export function createVerifier(options: VerifierOptions = {}): Verifier {
  const threads = Math.max(1, options.threads ?? availableParallelism());
  const budgetMs = options.timeBudgetMs ?? DEFAULT_VERIFY_TIME_BUDGET_MS;
  const entry = workerEntry();
  const pool = new Piscina({
    filename: entry.filename,
    execArgv: entry.execArgv,
    // One worker is started with the server (the first bundle does not wait for a start-up); more on demand.
    minThreads: 1,
    maxThreads: threads,
    // Tasks wait (bounded) when every worker is busy; beyond that run() rejects and the job is retried.
    maxQueue: Math.max(16, threads * threads * 4),
    idleTimeout: 60_000,
    resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb ?? 512 },
  });
  /** One task under the time budget (counted from when a worker takes it); 'over' when exceeded. */
  async function run<T>(
    payload: object,
    name: string,
    cancel?: AbortSignal,
    transfer: ArrayBuffer[] = [],
  ): Promise<T | 'over' | 'oom'> {
    const controller = new AbortController();
    cancel?.addEventListener('abort', () => controller.abort(new BudgetExceeded()), { once: true });
    const { port1, port2 } = new MessageChannel();
    let timer: NodeJS.Timeout | undefined;
    port1.once('message', () => {
      timer = setTimeout(() => controller.abort(new BudgetExceeded()), budgetMs);
    });
    port1.unref();
    try {
      return (await pool.run(
        { ...payload, startPort: port2 },
        { name, signal: controller.signal, transferList: [port2, ...transfer] },
      )) as T;
    } catch (error) {
      if (controller.signal.aborted) return 'over';
      if (error instanceof Error && (error as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY') return 'oom';
      throw error;
    } finally {
      if (timer) clearTimeout(timer);
      port1.close();
    }
  }
  const refusal = (task: EvaluationTask, outcome: 'over' | 'oom') =>
    refusedVerdict(task, outcome === 'over' ? 'VERIFICATION_BUDGET_EXCEEDED' : 'BUNDLE_LIMIT_EXCEEDED');

  return {
    async evaluate(task) {
      const bundleText = task.bundleText;
      if (threads >= 2 && bundleText !== undefined && bundleText.length >= SPLIT_MIN_CHARS) {
        // A large bundle is verified across two workers sharing its envelope checks (payload hash
        // and Ed25519 of the bundle and of each receipt) through shared memory: the evaluating worker
        // runs the whole engine, the checker does the checks it claims first (from the last receipt
        // back), and the evaluating worker answers the single-thread verdict in every case (it
        // evaluates again, checking itself what the checker did not find passing, when a check it
        // took as passed did not pass). The evaluating task
        // goes first, so with one free worker it is the one that runs.
        const buffer = createSharedChecks();
        const shared = new SharedChecks(buffer);
        const evaluating = run<Verdict>({ ...task, shared: buffer }, 'evaluateSharingChecksTask');
        // The checker's answer is not needed (the evaluating worker reads the shared memory): it is
        // not awaited, and whatever way it ends, the evaluating worker stops waiting on it.
        void run<number>({ bundleText, shared: buffer }, 'checkEnvelopesTask')
          .catch(() => undefined)
          .finally(() => shared.checkerDone());
        let verdict: Verdict | 'over' | 'oom';
        try {
          verdict = await evaluating;
        } finally {
          // Also when the evaluating worker was killed or refused: a checker still queued or running stops at once.
          shared.stop();
        }
        return verdict === 'over' || verdict === 'oom' ? refusal(task, verdict) : verdict;
      }
      const verdict = await run<Verdict>(task, 'evaluateTask');
      return verdict === 'over' || verdict === 'oom' ? refusal(task, verdict) : verdict;
    },
    async parseJson(text, bounds) {
      const parsed = await run<{ value: unknown } | JsonRefusal>({ text, bounds }, 'parseBoundedJsonTask');
      return parsed === 'over' || parsed === 'oom' ? { problem: 'limit', path: '' } : parsed;
    },
    async splitJsonObject(bytes, options) {
      // A copy the worker owns (transferred, not cloned): the request's buffer may share its memory.
      const copy = new Uint8Array(bytes);
      const split = await run<SplitResult>({ bytes: copy, ...options }, 'splitJsonObjectTask', undefined, [
        copy.buffer,
      ]);
      return split === 'over' || split === 'oom' ? { problem: 'limit', path: '' } : split;
    },
    async quoteJsonString(text) {
      const quoted = await run<string>({ text }, 'quoteJsonStringTask');
      if (quoted === 'over' || quoted === 'oom')
        throw new Error('quoting the bundle text for the engine input ran out of budget');
      return quoted;
    },
    async decodeFile(bytes, options = {}) {
      const whole =
        bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
      const owned = whole ? bytes : new Uint8Array(bytes);
      const decoded = await run<FileText>(
        { bytes: owned, bundleId: options.bundleId === true },
        'decodeFileTask',
        undefined,
        [owned.buffer as ArrayBuffer],
      );
      return decoded === 'over' || decoded === 'oom' ? { problem: 'limit' } : decoded;
    },
    async close() {
      await pool.destroy();
    },
  };
}

/**
 * The same function on the calling thread: for the CLI (one bundle, nothing else to serve) and for
 * tests that call the pipeline directly. The server always uses `createVerifier`.
 */
export const inlineVerifier: Verifier = {
  evaluate: (task) => evaluateTask(task),
  parseJson: async (text, bounds) => parseBoundedJsonTask({ text, bounds }),
  splitJsonObject: async (bytes, options) => splitJsonObjectTask({ bytes, ...options }),
  quoteJsonString: async (text) => quoteJsonStringTask({ text }),
  decodeFile: async (bytes, options = {}) => decodeFileTask({ bytes, bundleId: options.bundleId === true }),
  close: async () => {},
};
