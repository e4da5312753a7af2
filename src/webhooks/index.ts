/** The repository-webhook surface (docs/architecture.md §1, surface 2): registration and signed deliveries. */
export {
  createRepoWebhookRouter,
  REPO_WEBHOOK_BODY_LIMIT_BYTES,
  type RepoWebhookRouterOptions,
} from './repo-webhook-router';
export {
  registerWorkspace,
  parseRegistrationRequest,
  RegistrationError,
  type RegisterWorkspaceDeps,
  type RegisteredWorkspace,
  type RegisteredHook,
} from './register-workspace';
export {
  registrationRequestSchema,
  checkBaseApiUrl,
  DEFAULT_BASE_API_URL,
  MAX_REPOSITORIES,
  type RegistrationRequest,
  type RegistrationFieldError,
} from './registration-request';
export { hubSignature, verifyHubSignature, isWellFormedHubSignature, HUB_SIGNATURE_HEADER } from './hub-signature';
export {
  REPO_WEBHOOK_PATH,
  REPO_WEBHOOK_WORKSPACE_PATH,
  REPO_WEBHOOK_DESCRIPTION,
  repoWebhookUrl,
} from './hook-subscription';
export { repoWebhooksClientKey, normalizeWorkspaceUuid, REPO_WEBHOOKS_CLIENT_KEY_PREFIX } from './repo-webhook-tenant';
export {
  reregisterWorkspace,
  rotateWebhookSecret,
  unregisterWorkspace,
  type LifecycleDeps,
  type ReregisteredWorkspace,
  type RotatedSecret,
  type UnregisteredWorkspace,
  type DataChoice,
} from './workspace-lifecycle';
export {
  createSignInRouter,
  safeReturnPath,
  signInCallbackUrl,
  SIGN_IN_PATHS,
  type SignInRouterOptions,
} from './sign-in-router';
export { setOAuthConsumer, removeOAuthConsumer, oauthConsumerBodySchema } from './oauth-consumer';
