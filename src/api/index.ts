/** The JSON API `/api/v1` (design §9; docs/api.md). */
export { createApiRouter } from './api-router';
export type { ApiRouterOptions, RecheckPullRequest } from './api-context';
export { ApiError, type ApiErrorBody, type ApiFieldError } from './api-error';
export type { ApiPrincipal, ApiAuthMethod, ConnectWriteAccess, ExternalPrincipal } from './authenticate';
export { createBitbucketForWorkspace, type BitbucketForWorkspace, type MergeCheckBitbucket } from './routes/merge-check-routes';
