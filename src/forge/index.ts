/** The Forge front door (Forge Remote): invocation tokens, installations, product events, merge check, page gate. */
export { createForgeRouter, forgeUiPrincipalOf, FORGE_PATHS, FORGE_BODY_LIMIT_BYTES } from './forge-router';
export type { ForgeRouterOptions, ForgeUiPrincipal } from './forge-router';
export {
  createFitVerifier,
  FIT_ISSUER,
  FIT_ALGORITHMS,
  FIT_CLOCK_SKEW_SECONDS,
  JWKS_COOLDOWN_MS,
} from './invocation-token';
export type { FitVerifier, FitVerification, FitFailureCode, ForgeInvocation } from './invocation-token';
export { forgeTenantFor, markForgeUninstalled, systemTokenOf } from './installations';
export {
  parseMergeCheckBody,
  answerFromVerdict,
  DEFAULT_MERGE_CHECK_BUDGET_MS,
  MERGE_CHECK_TRIGGERS,
} from './merge-check';
export type { MergeCheckAnswer, MergeCheckInvocation } from './merge-check';
export { forgeDeliveryId, unwrapForgeBody, webhookEventKeyOf, webhookPayloadOf } from './product-events';
