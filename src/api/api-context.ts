import type { Logger } from 'pino';
import type { BitbucketClient } from '../bitbucket';
import type { AppConfig } from '../config/app-config';
import type { Store } from '../store';
import type { ConnectWriteAccess } from '../http/authenticate';

/** What the merge-check routes need from Bitbucket, for one workspace. */
export type MergeCheckBitbucket = Pick<BitbucketClient, 'getRepository' | 'listBranchRestrictions' | 'createBranchRestriction'>;
export type BitbucketForWorkspace = (workspaceId: string) => Promise<MergeCheckBitbucket>;

/** Queues a re-evaluation of a PR; supplied by the pipeline. `workspaceId` is the `{uuid}`. */
export type RecheckPullRequest = (workspaceId: string, repoFullName: string, prId: number, actor: string) => Promise<{ jobId: string }>;

export interface ApiRouterOptions {
  readonly config: Pick<AppConfig, 'baseUrl' | 'maxBodyBytes' | 'maxBundleBytes'>;
  readonly store: Store;
  readonly logger: Logger;
  /** Absent: the recheck route answers 501. */
  readonly recheck?: RecheckPullRequest;
  /** Verification time for Connect JWTs; default the system clock. */
  readonly now?: () => Date;
  /** See ConnectWriteAccess: restricts writes by Connect page users (e.g. to workspace admins). */
  readonly connectWriteAccess?: ConnectWriteAccess;
  /** Bitbucket for a workspace's installation (the merge-check routes); absent: they answer 501. */
  readonly bitbucketForWorkspace?: BitbucketForWorkspace;
}

/** What every route module gets. */
export interface ApiContext {
  readonly config: ApiRouterOptions['config'];
  readonly store: Store;
  readonly logger: Logger;
  readonly recheck: RecheckPullRequest | undefined;
  readonly now: () => Date;
}
