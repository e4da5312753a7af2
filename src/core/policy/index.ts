/** The Bitbucket Work Policy Contract: schema, hash, evaluation against a change set (docs/policy.md). */
export {
  parseBitbucketWpc,
  bitbucketWpcHash,
  bitbucketWpcSchema,
  formatPath,
  WPC_TOOL,
  WPC_LIMITS,
  WRITE_ACTIONS,
  READ_ACTIONS,
  WPC_PROVIDERS,
} from './bitbucket-wpc';
export type { BitbucketWpc, WpcIssue, WpcProvider, ParseBitbucketWpcResult } from './bitbucket-wpc';
export { evaluatePolicy } from './evaluate-policy';
export type { PolicyFacts, PolicyGatewayReceipt } from './evaluate-policy';
export { fileProvenance } from './file-provenance';
export type { FileProvenance, Provenance } from './file-provenance';
export { clawsigGlobMatch, clawsigGlobSource, compileClawsigGlob } from './clawsig-glob';
export { branchGlobMatch, compileBranchGlob, compilePicomatchGlob, UnsupportedGlobError } from './linear-glob';
export type { LinearMatcher } from './linear-glob';
export { compileDenyGlobs, denyGlobProblem } from './deny-globs';
export type { DenyGlobMatch, DenyGlobMatcher } from './deny-globs';
export { normalizeRepoPath } from './repo-path';
export { scopeProblems } from './scope-privilege';
export type { ScopeProblem } from './scope-privilege';
export { judgeWriteAction, type WriteActionDecision } from './write-action-policy';
export { proofCoverageChecks, isBundleFile } from './proof-coverage';
export { evaluateWpc } from './evaluate-wpc';
export type { EnginePolicy, WpcFacts } from './evaluate-wpc';
export {
  parseWpc,
  parseWpcDocument,
  looksLikeWpcEnvelope,
  V1_UNENFORCEABLE_FIELDS,
  V2_UNENFORCEABLE_FIELDS,
} from './wpc-forms';
export type { ParsedWpc, ParseWpcResult, OfficialWpcFacts, WpcForm, WpcFailureCode } from './wpc-forms';
export { evaluateStatements } from './wpc-v2';
