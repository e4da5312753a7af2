/** The JSON API `/api/v1` (design §9; docs/api.md). */
export { createApiRouter } from './api-router';
export type { ApiRouterOptions, RecheckPullRequest, BitbucketForWorkspace, MergeCheckBitbucket } from './api-context';
export { createBitbucketForWorkspace } from './routes/merge-check-routes';
