export { createVerifier, inlineVerifier, DEFAULT_VERIFY_TIME_BUDGET_MS, URM_BOUNDS } from './verifier';
export type { Verifier, VerifierOptions, SplitOptions, SplitResult } from './verifier';
export type { EvaluationTask, JsonRefusal, SplitMember } from './evaluate-task';
