/**
 * The verification pool as the surfaces see it (they may not import `verification/` directly): the
 * API hands bundle-upload bodies to it so that a hostile body is parsed in a worker, never on the
 * event loop. The server creates one pool and passes it to both the pipeline and the API.
 */
export { inlineVerifier } from '../verification';
export type { Verifier, SplitOptions, SplitResult, SplitMember, JsonRefusal } from '../verification';
