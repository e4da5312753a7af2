/** The JSON API `/api/v1` (docs/api.md). */
export { createApiRouter } from './api-router';
export type { ApiRouterOptions, RecheckPullRequest, BitbucketForWorkspace, MergeCheckBitbucket } from './api-context';
export { createBitbucketForWorkspace } from './routes/merge-check-routes';
export { ACCESS, type ApiPrincipal, type ApiAuthMethod, type AccessRule, type PersonNeed } from '../http/authenticate';
export {
  createApiRateLimits,
  DEFAULT_RATE_LIMITS,
  type ApiRateLimits,
  type ApiRateLimitSettings,
} from '../http/rate-limits';
