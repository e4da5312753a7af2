import type { Logger } from 'pino';
import type { BitbucketClient } from '../bitbucket';
import type { AppConfig } from '../config/app-config';
import type { Store } from '../store';
import type { ExternalPrincipal } from '../http/authenticate';
import type { ViewerPermissions } from '../http/viewer-permissions';
import type { ApiRateLimits, ApiRateLimitSettings } from '../http/rate-limits';
import type { Verifier } from '../pipeline/verification-pool';

/** What the merge-check routes need from Bitbucket, for one workspace. */
export type MergeCheckBitbucket = Pick<
  BitbucketClient,
  'getRepository' | 'listBranchRestrictions' | 'createBranchRestriction'
>;
export type BitbucketForWorkspace = (workspaceId: string) => Promise<MergeCheckBitbucket>;

/** Queues a re-evaluation of a PR; supplied by the pipeline. `workspaceId` is the `{uuid}`. */
export type RecheckPullRequest = (
  workspaceId: string,
  repoFullName: string,
  prId: number,
  actor: string,
) => Promise<{ jobId: string }>;

/**
 * Re-evaluates the workspace's open agent PRs after a change that can roll trust back (settings,
 * assignments, policies); supplied by the pipeline. Answers how many re-evaluations were queued.
 */
export type ReevaluateAgentPullRequests = (
  workspaceId: string,
  reason: string,
  actor: string,
) => Promise<{ queued: number }>;

export interface ApiRouterOptions {
  readonly config: Pick<AppConfig, 'baseUrl' | 'maxBodyBytes' | 'maxBundleBytes' | 'alerting'>;
  readonly store: Store;
  readonly logger: Logger;
  /** Absent: the recheck route answers 501. */
  readonly recheck?: RecheckPullRequest;
  /** Absent: settings and assignment changes reach open PRs only at their next push or re-check. */
  readonly reevaluateAgentPullRequests?: ReevaluateAgentPullRequests;
  /** Verification time for Connect JWTs; default the system clock. */
  readonly now?: () => Date;
  /**
   * How a page user's permissions are asked of Bitbucket (createViewerPermissions). Absent: page JWTs
   * are refused everything but authentication (fail closed).
   */
  readonly viewerPermissions?: ViewerPermissions;
  /** How a signed-in person's permissions are asked of Bitbucket (Sign in with Bitbucket); absent: sign-in page tokens are refused. */
  readonly signInViewerPermissions?: ViewerPermissions;
  /** Rate limits (default DEFAULT_RATE_LIMITS); a ready ApiRateLimits to share one across routers. */
  readonly rateLimits?: ApiRateLimits | Partial<ApiRateLimitSettings>;
  /** Bitbucket for a workspace's installation (the merge-check routes); absent: they answer 501. */
  readonly bitbucketForWorkspace?: BitbucketForWorkspace;
  /** Callers another front door authenticated (the Forge pages); see ExternalPrincipal. */
  readonly externalPrincipal?: ExternalPrincipal;
  /** The verification pool, which also parses upload bodies off the event loop; default: on the calling thread. */
  readonly verifier?: Verifier;
}

/** What every route module gets. */
export interface ApiContext {
  readonly config: ApiRouterOptions['config'];
  readonly store: Store;
  readonly logger: Logger;
  readonly recheck: RecheckPullRequest | undefined;
  readonly reevaluateAgentPullRequests: ReevaluateAgentPullRequests | undefined;
  readonly now: () => Date;
  readonly rateLimits: ApiRateLimits;
  readonly verifier: Verifier;
}

/**
 * After a change that can roll trust back: queue the re-evaluation of open agent PRs and say how many
 * in the `Clawgate-Reevaluating` header. A failure to queue is logged, never turned into a failed save
 * (the periodic reconciliation and the next push still reach the PRs).
 */
export async function reevaluateAfterChange(
  context: ApiContext,
  response: { setHeader(name: string, value: string): unknown },
  workspaceId: string,
  reason: string,
  actor: string,
): Promise<void> {
  if (context.reevaluateAgentPullRequests === undefined) return;
  try {
    const { queued } = await context.reevaluateAgentPullRequests(workspaceId, reason, actor);
    response.setHeader('Clawgate-Reevaluating', String(queued));
  } catch (error) {
    context.logger.error(
      { workspace: workspaceId, reason, err: error instanceof Error ? error.message : String(error) },
      'could not queue the re-evaluation of open agent pull requests',
    );
  }
}
