/** The local Bitbucket Cloud used by the demo and the tests. */
export { startSandbox } from './start-sandbox';
export {
  BitbucketSandbox,
  type SandboxOptions,
  type UserRef,
  type RepoRef,
  type FileMap,
  type CommitSpec,
  type CommitResult,
  type OpenPullRequestInput,
  type BuildStatusInput,
  type InstallationInfo,
} from './sandbox';
export type { Workspace, User, Repository, Commit, PullRequest, CommitStatusState } from './model';
export type { DeliveryRecord, DeliveryAttempt } from './webhook-dispatcher';
export type { RecordedWrite, AuthFailure, RecordedRequest, WriteRecorder } from './write-recorder';
export type { FaultSpec, FaultHandle, ServedFault, FaultInjector } from './fault-injector';
export type { LifecyclePost } from './connect-installer';
export { InstallError } from './connect-installer';
export {
  MAX_ANNOTATIONS_PER_REPORT,
  MAX_ANNOTATIONS_PER_REQUEST,
  MAX_ANNOTATION_SUMMARY,
  MAX_REPORT_DATA,
} from './routes/report-routes';
export { MAX_PAYLOAD_BYTES } from './webhook-dispatcher';
export { SandboxForge, MergeRefusedError, FORGE_APP_SCOPES } from './forge-platform';
export type { ForgeInstallation, MergeCheckRun, ForgeEventDelivery, InvokeRemoteResult } from './forge-platform';
