export { createVerifier, inlineVerifier, DEFAULT_VERIFY_TIME_BUDGET_MS } from './verifier';
export type { Verifier, VerifierOptions } from './verifier';
export type { EvaluationTask } from './evaluate-task';
