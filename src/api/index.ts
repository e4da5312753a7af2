/** The JSON API `/api/v1` (design §9; docs/api.md). */
export { createApiRouter } from './api-router';
export type { ApiRouterOptions, RecheckPullRequest } from './api-context';
export { ApiError, type ApiErrorBody, type ApiFieldError } from './api-error';
export { ACCESS, type ApiPrincipal, type ApiAuthMethod, type AccessRule, type PersonNeed } from './authenticate';
export { createApiRateLimits, DEFAULT_RATE_LIMITS, type ApiRateLimits, type ApiRateLimitSettings } from './rate-limits';
export { createBitbucketForWorkspace, type BitbucketForWorkspace, type MergeCheckBitbucket } from './routes/merge-check-routes';
