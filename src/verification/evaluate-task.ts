import type { MessagePort } from 'node:worker_threads';
import { BUNDLE_BOUNDS, jsonBoundsExcess } from '../core/clawsig/json-bounds';
import { evaluate, type EvaluationInput, type Verdict } from '../core/verdict';

/**
 * One evaluation as a worker task (design §3, the engine step): the bundle arrives as text and is
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

export function evaluateTask(task: EvaluationTask): Verdict {
  task.startPort?.postMessage('started');
  task.startPort?.close();
  if (task.bundleText === undefined) return evaluate(task.input);
  let bundle: unknown;
  try {
    bundle = JSON.parse(task.bundleText);
  } catch {
    return evaluate({ ...task.input, evidenceError: 'BUNDLE_UNREADABLE' });
  }
  // Bounded before the engine sees it: an oversized shape is a verdict of its own, not work.
  if (jsonBoundsExcess(bundle, BUNDLE_BOUNDS) !== undefined) return evaluate({ ...task.input, evidenceError: 'BUNDLE_LIMIT_EXCEEDED' });
  return evaluate({ ...task.input, bundle });
}

export default evaluateTask;
