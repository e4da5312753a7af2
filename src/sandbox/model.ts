/**
 * The sandbox's in-memory state. These are internal records; what the REST API and webhooks
 * emit is built from them in representations.ts in Bitbucket's own shapes.
 */

export interface Workspace {
  slug: string;
  /** With braces, as Bitbucket spells it. Also the uuid of the workspace's team account. */
  uuid: string;
  name: string;
  createdOn: number;
}

export interface User {
  accountId: string;
  /** With braces. */
  uuid: string;
  displayName: string;
  nickname: string;
  email: string;
  createdOn: number;
}

export interface Project {
  key: string;
  uuid: string;
  name: string;
}

export interface CommitAuthor {
  /** "Display Name <email>" */
  raw: string;
  user?: User;
}

export interface Commit {
  hash: string;
  parents: string[];
  author: CommitAuthor;
  message: string;
  date: number;
  /** Full file tree at this commit: path → content. */
  tree: ReadonlyMap<string, Buffer>;
  /** Renames this commit declared (old path → new path), used for rename detection. */
  renames: ReadonlyMap<string, string>;
}

export type PullRequestState = 'OPEN' | 'MERGED' | 'DECLINED' | 'SUPERSEDED';

export interface Participant {
  user: User;
  role: 'PARTICIPANT' | 'REVIEWER';
  approved: boolean;
  state: 'approved' | 'changes_requested' | null;
  participatedOn: number | null;
}

export interface PullRequestComment {
  id: number;
  user: User | null;
  /** The app's identity when the comment was written through the API by an app or token. */
  appAuthor: AppIdentity | null;
  raw: string;
  inline: { path: string; to?: number; from?: number; start_to?: number; start_from?: number } | null;
  parentId: number | null;
  pending: boolean;
  createdOn: number;
  updatedOn: number;
}

export interface PullRequest {
  id: number;
  title: string;
  description: string;
  state: PullRequestState;
  draft: boolean;
  author: User;
  sourceBranch: string;
  destinationBranch: string;
  /** Frozen when the PR closes; while open the live branch heads are used. */
  closedSourceHash: string | null;
  closedDestinationHash: string | null;
  mergeCommit: string | null;
  closeSourceBranch: boolean;
  closedBy: User | null;
  reason: string;
  reviewers: User[];
  participants: Participant[];
  comments: PullRequestComment[];
  createdOn: number;
  updatedOn: number;
}

export type CommitStatusState = 'SUCCESSFUL' | 'FAILED' | 'INPROGRESS' | 'STOPPED';

export interface CommitStatus {
  key: string;
  state: CommitStatusState;
  name: string;
  description: string;
  url: string;
  refname: string | null;
  commit: string;
  createdOn: number;
  updatedOn: number;
  /** Who wrote it last (principal id), for forged-status scenarios. */
  writtenBy: string;
}

export interface ReportDataItem {
  title: string;
  type?: 'BOOLEAN' | 'DATE' | 'DURATION' | 'LINK' | 'NUMBER' | 'PERCENTAGE' | 'TEXT';
  value: unknown;
}

export interface Annotation {
  uuid: string;
  externalId: string;
  annotationType: 'VULNERABILITY' | 'CODE_SMELL' | 'BUG' | null;
  path: string | null;
  line: number | null;
  summary: string;
  details: string | null;
  result: 'PASSED' | 'FAILED' | 'SKIPPED' | 'IGNORED' | null;
  severity: 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | null;
  link: string | null;
  createdOn: number;
  updatedOn: number;
}

export interface Report {
  uuid: string;
  externalId: string;
  commit: string;
  title: string;
  details: string | null;
  reporter: string | null;
  link: string | null;
  logoUrl: string | null;
  remoteLinkEnabled: boolean | null;
  reportType: 'SECURITY' | 'COVERAGE' | 'TEST' | 'BUG' | null;
  result: 'PASSED' | 'FAILED' | 'PENDING' | null;
  data: ReportDataItem[];
  annotations: Map<string, Annotation>;
  createdOn: number;
  updatedOn: number;
}

export interface BranchRestriction {
  id: number;
  kind: string;
  branchMatchKind: 'glob' | 'branching_model';
  pattern: string;
  branchType: string | null;
  value: number | null;
  users: User[];
  groups: unknown[];
}

export interface RepositoryHook {
  uuid: string;
  url: string;
  description: string;
  events: string[];
  active: boolean;
  /** Write-only: never returned by the API, only `secret_set`. */
  secret: string | null;
  createdAt: number;
}

export interface Repository {
  workspace: Workspace;
  slug: string;
  name: string;
  uuid: string;
  fullName: string;
  isPrivate: boolean;
  mainBranch: string;
  project: Project;
  createdOn: number;
  updatedOn: number;
  commits: Map<string, Commit>;
  branches: Map<string, string>;
  pullRequests: Map<number, PullRequest>;
  nextPullRequestId: number;
  nextCommentId: number;
  /** commit hash → status key → status */
  statuses: Map<string, Map<string, CommitStatus>>;
  /** commit hash → report id (external id) → report */
  reports: Map<string, Map<string, Report>>;
  branchRestrictions: Map<number, BranchRestriction>;
  nextBranchRestrictionId: number;
  hooks: Map<string, RepositoryHook>;
}

/** Who an app-made write is attributed to (a Connect installation or an access token). */
export interface AppIdentity {
  uuid: string;
  accountId: string;
  displayName: string;
  kind: 'connect' | 'access_token';
}

export interface DescriptorWebhook {
  event: string;
  url: string;
  /** Stable per (installation, module entry): sent as X-Hook-UUID. */
  hookUuid: string;
}

export interface Installation {
  key: string;
  clientKey: string;
  workspace: Workspace;
  sharedSecret: string;
  appBaseUrl: string;
  descriptorUrl: string;
  /** null = the descriptor declared no scopes = all scopes (Atlassian's Connect descriptor docs). */
  scopes: string[] | null;
  webhooks: DescriptorWebhook[];
  lifecycle: { installed: string; uninstalled: string | null };
  status: 'installed' | 'uninstalled';
  identity: AppIdentity;
  installedAt: number;
}

export interface AccessToken {
  id: string;
  tokenSha256: string;
  workspace: Workspace;
  repository: Repository | null;
  scopes: string[];
  identity: AppIdentity;
  createdAt: number;
}

export type Principal =
  | { kind: 'connect'; id: string; installation: Installation }
  | { kind: 'access-token'; id: string; token: AccessToken };
