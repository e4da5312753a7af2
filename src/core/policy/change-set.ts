/**
 * The engine's own view of a change on a repository. Surfaces (Connect, repository webhooks, the CLI's
 * --changes file) translate what they receive into this; nothing Bitbucket-shaped enters the core.
 */

/** What the actor did, in WPC vocabulary (docs/policy.md). */
export type WriteAction =
  | 'create_pr'
  | 'create_branch'
  | 'comment_pr'
  | 'merge_pr'
  | 'delete_branch'
  | 'direct_push_main'
  | 'change_repo_permissions';
export type ReadAction = 'list_repos' | 'get_file' | 'get_diff' | 'list_prs' | 'get_pr';

export type FileStatus = 'added' | 'modified' | 'removed' | 'renamed';

export interface ChangedFile {
  status: FileStatus;
  /** Path after the change; for a removal, the removed path. */
  path: string;
  /** Path before the change, for renames (and equal to `path` for modifications when known). */
  oldPath?: string;
  /** Line counts from the diffstat, when known (used for annotations). */
  linesAdded?: number;
  linesRemoved?: number;
}

export interface ChangeCommit {
  /** Full 40-hex SHA. */
  hash: string;
  /** Paths this commit touched, when known (per-file provenance needs them). */
  paths?: string[];
  authorAccountId?: string;
  /**
   * Who the surface says wrote and pushed the commit: `agent` (a registered agent identity),
   * `human` (a known account that is not an agent identity), `unknown` (no linked account, or no
   * push recorded). Git authorship is whatever the pusher wrote, so `pushedBy` is the stronger fact.
   * Absent (a CLI change file): not classified.
   */
  author?: AccountClass;
  pushedBy?: AccountClass;
  /** Agent identities that authored or pushed this commit (for the "why agent work" explanation). */
  agentAccountIds?: string[];
}

export type AccountClass = 'agent' | 'human' | 'unknown';

export type IdentityRole = 'read' | 'write';

export interface Actor {
  /** Bitbucket account UUID or account id as the surface knows it (opaque to the core). */
  accountId: string;
  displayName?: string;
  /** The registered agent identity this actor matches, if any. */
  /** `revoked`: the account is still an agent, but its trust was revoked (every change it makes fails). */
  agentIdentity?: { role: IdentityRole; agentDid?: string; revoked?: boolean };
}

export interface Approval {
  accountId: string;
  /** True when the approver is a registered agent identity (its approval never counts). */
  isAgentIdentity: boolean;
  /** When the approval was given (ms since the epoch), when the surface knows it. */
  atMs?: number;
}

export interface ChangeSet {
  workspace: string;
  repoSlug: string;
  /** `workspace/repo_slug` as matched by `repos_allowlist`. */
  repoFullName: string;
  action: WriteAction;
  actor: Actor;
  pullRequest?: {
    id: number;
    sourceBranch: string;
    destinationBranch: string;
    /** Full 40-hex head SHA. */
    headCommit: string;
    /** Bundle ids the PR names with `Proof-Bundle:` lines. */
    declaredBundleIds?: string[];
    /**
     * When the current head was pushed, as clawgate recorded it (ms since the epoch); null = not
     * known (then no approval counts: none can be shown to postdate the head). Absent: approvals are
     * not tied to the head (surfaces without push facts, e.g. the CLI).
     */
    headPushedAtMs?: number | null;
  };
  /** The input was too large to judge completely (page caps, file or commit counts): fails closed. */
  tooLarge?: { what: 'commits' | 'files' | 'pages'; limit: number };
  /** Changed files of the whole PR (diffstat). */
  files: ChangedFile[];
  /** PR commits, oldest first. */
  commits: ChangeCommit[];
  approvals: Approval[];
  /** Accounts registered as agent identities in the workspace, with roles (for separation checks). */
  agentIdentities?: { accountId: string; role: IdentityRole; agentDid?: string }[];
}
