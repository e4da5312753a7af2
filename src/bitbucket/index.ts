/** The Bitbucket Cloud REST client: the only code in clawgate that talks to the Bitbucket API. */
export {
  createBitbucketClient,
  DIFFSTAT_MAX_ITEMS,
  DEFAULT_MAX_FILE_BYTES,
  DEFAULT_MAX_JSON_BYTES,
  DEFAULT_REQUEST_TIMEOUT_MS,
} from './client';
export type { BitbucketClient, BitbucketClientOptions, HookScope, PaginateOptions } from './client';
export {
  bearerAuth,
  connectJwtAuth,
  connectQueryStringHash,
  CONNECT_JWT_BACKDATE_SECONDS,
  CONNECT_JWT_LIFETIME_SECONDS,
} from './auth';
export type { BitbucketAuth, ConnectJwtCredentials } from './auth';
export { isRepositoriesCall, isWriteCall } from './call-meter';
export type { ApiCallMeter, MeteredCall } from './call-meter';
export { assertEgressAllowed, DEFAULT_ALLOWED_HOSTS, egressRefusal, parseAllowedHosts } from './egress-allowlist';
export {
  AnnotationLimitError,
  ApiBudgetExceededError,
  BitbucketAuthError,
  BitbucketError,
  BitbucketInputError,
  BitbucketNetworkError,
  BitbucketNotFoundError,
  BitbucketRateLimitError,
  BitbucketRedirectError,
  BitbucketRequestRejectedError,
  BitbucketResponseError,
  BitbucketServerError,
  EgressDeniedError,
  PageCapExceededError,
  ResponseTooLargeError,
} from './errors';
export type { BitbucketErrorCode, RequestContext, SchemaIssue } from './errors';
export { DEFAULT_PAGE_CAP, DEFAULT_PAGELEN } from './pagination';
export { DEFAULT_RETRY_OPTIONS } from './retry';
export type { RetryEnvironment, RetryOptions } from './retry';
export {
  ANNOTATIONS_PER_REPORT,
  ANNOTATIONS_PER_REQUEST,
  BUILD_STATUS_KEY_MAX,
  REPORT_DATA_MAX,
} from './request-bodies';
export type {
  AnnotationInput,
  BranchRestrictionInput,
  BuildStatusInput,
  HookInput,
  PullRequestCommentInput,
  ReportInput,
} from './request-bodies';
export { accountRefFrom, canWrite, REPOSITORY_PERMISSIONS, WORKSPACE_PERMISSIONS } from './permissions';
export type { AccountRef, RepositoryPermission, WorkspacePermission } from './permissions';
export { BUILD_STATES, DIFFSTAT_STATUSES, REPORT_RESULTS, REPORT_TYPES } from './schemas';
export type {
  BitbucketAccount,
  BitbucketAnnotation,
  BitbucketBranchRestriction,
  BitbucketCommit,
  BitbucketCommitListItem,
  BitbucketCommitStatus,
  BitbucketCurrentUser,
  BitbucketDiffstatItem,
  BitbucketPullRequest,
  BitbucketPullRequestComment,
  BitbucketReport,
  BitbucketRepository,
  BitbucketWebhookSubscription,
  BitbucketWorkspace,
  BuildState,
} from './schemas';
