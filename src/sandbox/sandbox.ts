import { createHash, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { createQueryStringHash, encodeSymmetric, fromMethodAndUrl } from 'atlassian-jwt';
import { ApiError } from './api-errors';
import { ancestorsOf, mergeBase } from './commit-graph';
import { installConnectApp, InstallError, uninstallConnectApp, type LifecyclePost } from './connect-installer';
import { approval, pushChange } from './event-payloads';
import { FaultInjector } from './fault-injector';
import { OAuthProvider } from './oauth-provider';
import { PermissionBook, type SandboxRepositoryPermission, type SandboxWorkspacePermission } from './permission-book';
import { computeCommitHash } from './git-objects';
import { accountIdFromName, bracedUuid, randomSecret, stripBraces, uuidFromName } from './identifiers';
import type {
  AccessToken,
  AppIdentity,
  Commit,
  CommitStatus,
  CommitStatusState,
  Installation,
  Principal,
  PullRequest,
  Repository,
  RepositoryHook,
  User,
  Workspace,
} from './model';
import { RateLimiter } from './rate-limiter';
import { Representations, type JsonObject } from './representations';
import { WebhookDispatcher, type DeliveryRecord, type DeliveryTarget } from './webhook-dispatcher';
import { WriteRecorder } from './write-recorder';

/**
 * A local Bitbucket Cloud: in-memory workspaces, users, repositories (real git-style commit
 * hashes), pull requests, statuses, Code Insights, branch restrictions, hooks and Connect
 * installations, with a programmatic API for tests and the demo. Every state change Bitbucket
 * would announce is delivered as a webhook (Connect descriptor webhooks and repository hooks).
 * The REST surface lives in api-app.ts; startSandbox (start-sandbox.ts) wires both to a server.
 */

export type UserRef = User | string;
export type RepoRef = Repository | string;

export interface SandboxOptions {
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Clock for timestamps, JWT expiry and the rate window. Default Date.now. */
  now?: () => number;
  /** Requests per principal per rolling hour on /2.0/repositories/*. Default 1000. */
  rateLimitPerHour?: number;
  /** Leeway on JWT `exp`/`nbf`. Default 30 s. */
  jwtLeewaySeconds?: number;
  /** Webhook delivery timeout. Default 10 s (Bitbucket's). */
  webhookTimeoutMs?: number;
  /** Total delivery attempts on 5xx. Default 3 (1 + 2 retries). */
  webhookMaxAttempts?: number;
}

export interface FileMap {
  [path: string]: string | Uint8Array | null;
}

export interface CommitSpec {
  /** Branch to commit on; created (from `from` or the main branch) when missing. */
  branch: string;
  author: UserRef;
  message: string;
  /** path → new content; null deletes the path. */
  files?: FileMap;
  /** old path → new path, applied before `files`. */
  renames?: Record<string, string>;
  /** Commit date (ms since epoch). Default: the clock. */
  date?: number;
  /** Explicit parents (a merge commit); default: the branch head. */
  parents?: string[];
  /** Where a new branch starts (branch name or hash). Default: the main branch. */
  from?: string;
}

export interface CommitResult {
  hash: string;
  shortHash: string;
  branch: string;
  parents: string[];
}

export interface OpenPullRequestInput {
  source: string;
  destination?: string;
  author: UserRef;
  title: string;
  description?: string;
  reviewers?: UserRef[];
  closeSourceBranch?: boolean;
  draft?: boolean;
}

export interface BuildStatusInput {
  key: string;
  state: CommitStatusState;
  name?: string;
  description?: string;
  url?: string;
  refname?: string | null;
}

export interface InstallationInfo {
  key: string;
  clientKey: string;
  workspace: string;
  sharedSecret: string;
  status: 'installed' | 'uninstalled';
  appBaseUrl: string;
  scopes: string[] | null;
  webhooks: { event: string; url: string; hookUuid: string }[];
}

/** Who performed an action, for `actor` in payloads and for the write records. */
export interface Actor {
  principalId: string;
  json: JsonObject;
}

const MAX_STATUS_KEY_LENGTH = 40;

function toBuffer(content: string | Uint8Array): Buffer {
  return typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
}

export class BitbucketSandbox {
  readonly baseUrl: string;
  readonly received = new WriteRecorder();
  readonly faults: FaultInjector;
  readonly rateLimit: RateLimiter;
  readonly lifecycleLog: LifecyclePost[] = [];
  readonly jwtLeewaySeconds: number;
  /** Called after every Bitbucket event (e.g. by SandboxForge, which turns them into product events). */
  readonly eventListeners: ((repo: Repository, event: string, payload: JsonObject) => void)[] = [];
  /** The Forge invocation-token keys served at `/forge/.well-known/jwks.json` (set by SandboxForge). */
  forgeJwks: (() => { keys: unknown[] }) | null = null;
  /** @internal */ readonly rep: Representations;
  /** @internal */ readonly dispatcher: WebhookDispatcher;
  /** @internal */ readonly now: () => number;

  private readonly workspaces = new Map<string, Workspace>();
  private readonly users = new Map<string, User>();
  private readonly repositories = new Map<string, Repository>();
  private readonly installations = new Map<string, Installation>();
  private readonly pendingInstallations = new Map<string, Installation>();
  private readonly tokens = new Map<string, AccessToken>();
  /** @internal */ readonly permissions = new PermissionBook((ws, user) => user.nickname === `${ws.slug}-admin`);
  /** The OAuth 2.0 authorization server (bitbucket.org/site/oauth2): consumers, codes, user tokens. */
  readonly oauth: OAuthProvider;
  private server: Server | null = null;

  constructor(baseUrl: string, options: SandboxOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.now = options.now ?? Date.now;
    this.rep = new Representations(this.baseUrl);
    this.oauth = new OAuthProvider(this.now);
    this.faults = new FaultInjector(this.now);
    this.rateLimit = new RateLimiter(options.rateLimitPerHour ?? 1000, this.now);
    this.jwtLeewaySeconds = options.jwtLeewaySeconds ?? 30;
    this.dispatcher = new WebhookDispatcher({
      now: this.now,
      timeoutMs: options.webhookTimeoutMs ?? 10_000,
      maxAttempts: options.webhookMaxAttempts ?? 3,
    });
  }

  /** @internal */
  attachServer(server: Server): void {
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  }

  // ---------------------------------------------------------------- workspaces, users, repos

  createWorkspace(input: { slug: string; name?: string; uuid?: string }): Workspace {
    if (!/^[a-z0-9_-]+$/.test(input.slug)) throw new Error(`invalid workspace slug ${input.slug}`);
    if (this.workspaces.has(input.slug)) throw new Error(`workspace ${input.slug} exists`);
    const ws: Workspace = {
      slug: input.slug,
      uuid: bracedUuid(input.uuid ?? uuidFromName('workspace', input.slug)),
      name: input.name ?? input.slug,
      createdOn: this.now(),
    };
    this.workspaces.set(ws.slug, ws);
    return ws;
  }

  createUser(input: {
    nickname: string;
    displayName?: string;
    accountId?: string;
    uuid?: string;
    email?: string;
  }): User {
    const user: User = {
      nickname: input.nickname,
      displayName: input.displayName ?? input.nickname,
      accountId: input.accountId ?? accountIdFromName(input.nickname),
      uuid: bracedUuid(input.uuid ?? uuidFromName('user', input.nickname)),
      email: input.email ?? `${input.nickname.toLowerCase().replace(/[^a-z0-9._-]/g, '-')}@users.example.invalid`,
      createdOn: this.now(),
    };
    if (this.users.has(user.accountId)) throw new Error(`user ${user.accountId} exists`);
    this.users.set(user.accountId, user);
    return user;
  }

  createRepository(input: {
    workspace: Workspace | string;
    slug: string;
    name?: string;
    mainBranch?: string;
    isPrivate?: boolean;
    uuid?: string;
    project?: { key: string; name?: string };
    /** Files of an initial commit on the main branch (no webhook: nothing is subscribed yet). */
    files?: Record<string, string | Uint8Array>;
    author?: UserRef;
    date?: number;
  }): Repository {
    const ws = this.workspace(input.workspace);
    if (!/^[a-z0-9._-]+$/.test(input.slug)) throw new Error(`invalid repository slug ${input.slug}`);
    const fullName = `${ws.slug}/${input.slug}`;
    if (this.repositories.has(fullName)) throw new Error(`repository ${fullName} exists`);
    const projectKey = input.project?.key ?? 'PROJ';
    const repo: Repository = {
      workspace: ws,
      slug: input.slug,
      name: input.name ?? input.slug,
      uuid: bracedUuid(input.uuid ?? uuidFromName('repository', fullName)),
      fullName,
      isPrivate: input.isPrivate ?? true,
      mainBranch: input.mainBranch ?? 'main',
      project: {
        key: projectKey,
        name: input.project?.name ?? 'Project',
        uuid: bracedUuid(uuidFromName('project', `${ws.slug}/${projectKey}`)),
      },
      createdOn: this.now(),
      updatedOn: this.now(),
      commits: new Map(),
      branches: new Map(),
      pullRequests: new Map(),
      nextPullRequestId: 1,
      nextCommentId: 1,
      statuses: new Map(),
      reports: new Map(),
      branchRestrictions: new Map(),
      nextBranchRestrictionId: 1,
      hooks: new Map(),
    };
    this.repositories.set(fullName, repo);
    if (input.author !== undefined) this.permissions.recordCreator(repo, this.user(input.author));
    if (input.files) {
      const author = this.user(input.author ?? this.defaultUser(ws));
      const commit = this.storeCommit(repo, [], {
        branch: repo.mainBranch,
        author,
        message: 'Initial commit',
        files: input.files,
        date: input.date ?? this.now(),
      });
      repo.branches.set(repo.mainBranch, commit.hash);
    }
    return repo;
  }

  // ---------------------------------------------------------------- lookups (public)

  workspace(ref: Workspace | string): Workspace {
    if (typeof ref !== 'string') return ref;
    const ws =
      this.workspaces.get(ref) ?? [...this.workspaces.values()].find((w) => w.uuid === ref || w.uuid === `{${ref}}`);
    if (!ws) throw new Error(`no workspace ${ref}`);
    return ws;
  }

  user(ref: UserRef): User {
    if (typeof ref !== 'string') return ref;
    const user = this.users.get(ref) ?? [...this.users.values()].find((u) => u.nickname === ref || u.uuid === ref);
    if (!user) throw new Error(`no user ${ref}`);
    return user;
  }

  repository(ref: RepoRef): Repository {
    if (typeof ref !== 'string') return ref;
    const repo = this.repositories.get(ref);
    if (!repo) throw new Error(`no repository ${ref}`);
    return repo;
  }

  /** @internal REST listing: a workspace's repositories (by slug or {uuid}), in creation order. */
  repositoriesOf(workspace: string): Repository[] {
    return [...this.repositories.values()].filter(
      (repo) => repo.workspace.slug === workspace || repo.workspace.uuid === workspace,
    );
  }

  /** @internal REST lookup: workspace and repo by slug or {uuid}. */
  findRepository(workspace: string, slug: string): Repository | undefined {
    for (const repo of this.repositories.values()) {
      const wsMatch = repo.workspace.slug === workspace || repo.workspace.uuid === workspace;
      const repoMatch = repo.slug === slug || repo.uuid === slug;
      if (wsMatch && repoMatch) return repo;
    }
    return undefined;
  }

  /** @internal */
  findWorkspace(ref: string): Workspace | undefined {
    return this.workspaces.get(ref) ?? [...this.workspaces.values()].find((w) => w.uuid === ref);
  }

  branchHead(repo: RepoRef, branch: string): string | undefined {
    return this.repository(repo).branches.get(branch);
  }

  /** Resolves a full hash, a unique prefix (≥ 7 hex, e.g. the 12-char PR hashes) or a branch name. */
  resolveCommit(repo: RepoRef, ref: string): Commit | undefined {
    const r = this.repository(repo);
    const byBranch = r.branches.get(ref);
    if (byBranch) return r.commits.get(byBranch);
    if (!/^[0-9a-f]{7,40}$/.test(ref)) return undefined;
    const exact = r.commits.get(ref);
    if (exact) return exact;
    const matches = [...r.commits.keys()].filter((h) => h.startsWith(ref));
    return matches.length === 1 ? r.commits.get(matches[0] ?? '') : undefined;
  }

  getCommit(repo: RepoRef, ref: string): Commit {
    const commit = this.resolveCommit(repo, ref);
    if (!commit) throw new Error(`no commit ${ref} in ${this.repository(repo).fullName}`);
    return commit;
  }

  /** File content at a commit (hash, prefix or branch), or undefined. */
  readFile(repo: RepoRef, ref: string, path: string): Buffer | undefined {
    return this.resolveCommit(repo, ref)?.tree.get(path);
  }

  // ---------------------------------------------------------------- commits and pushes

  /** The workspace's admin account (owner; installs apps by default); created on first use. */
  workspaceAdmin(ref: Workspace | string): User {
    return this.defaultUser(this.workspace(ref));
  }

  /** What GET /2.0/workspaces/{ws}/permissions reports for the user ('none' removes the membership). */
  setWorkspacePermission(wsRef: Workspace | string, userRef: UserRef, permission: SandboxWorkspacePermission): void {
    this.permissions.setWorkspacePermission(this.workspace(wsRef), this.user(userRef), permission);
  }

  /** What GET /2.0/workspaces/{ws}/permissions/repositories/{slug} reports for the user. */
  setRepositoryPermission(repoRef: RepoRef, userRef: UserRef, permission: SandboxRepositoryPermission): void {
    this.permissions.setRepositoryPermission(this.repository(repoRef), this.user(userRef), permission);
  }

  /** @internal every known user (the permission listings walk them). */
  allUsers(): User[] {
    return [...this.users.values()];
  }

  private defaultUser(ws: Workspace): User {
    const nickname = `${ws.slug}-admin`;
    return (
      [...this.users.values()].find((u) => u.nickname === nickname) ??
      this.createUser({ nickname, displayName: `${ws.name} admin` })
    );
  }

  private storeCommit(
    repo: Repository,
    parents: string[],
    spec: Omit<CommitSpec, 'author'> & { author: User },
  ): Commit {
    const first = parents[0] ? repo.commits.get(parents[0]) : undefined;
    if (parents[0] && !first) throw new Error(`unknown parent ${parents[0]}`);
    const tree = new Map(first?.tree ?? []);
    const renames = new Map<string, string>();
    for (const [from, to] of Object.entries(spec.renames ?? {})) {
      const content = tree.get(from);
      if (content === undefined) throw new Error(`rename of missing path ${from}`);
      tree.delete(from);
      tree.set(to, content);
      renames.set(from, to);
    }
    for (const [path, content] of Object.entries(spec.files ?? {})) {
      if (
        path === '' ||
        path.startsWith('/') ||
        path.endsWith('/') ||
        path.split('/').some((s) => s === '' || s === '.' || s === '..')
      ) {
        throw new Error(`invalid path ${JSON.stringify(path)}`);
      }
      if (content === null) tree.delete(path);
      else tree.set(path, toBuffer(content));
    }
    const date = spec.date ?? this.now();
    const hash = computeCommitHash({
      files: tree,
      parents,
      authorName: spec.author.displayName,
      authorEmail: spec.author.email,
      dateEpochMs: date,
      message: spec.message,
    });
    const existing = repo.commits.get(hash);
    if (existing) return existing;
    const commit: Commit = {
      hash,
      parents: [...parents],
      author: { raw: `${spec.author.displayName} <${spec.author.email}>`, user: spec.author },
      message: spec.message.endsWith('\n') ? spec.message : `${spec.message}\n`,
      date,
      tree,
      renames,
    };
    repo.commits.set(hash, commit);
    return commit;
  }

  private startOf(repo: Repository, from: string | undefined): string | undefined {
    if (from === undefined) return repo.branches.get(repo.mainBranch);
    const c = this.resolveCommit(repo, from);
    if (!c) throw new Error(`no branch or commit ${from}`);
    return c.hash;
  }

  /** One commit on `spec.branch`, pushed at once (one repo:push). */
  commit(repoRef: RepoRef, spec: CommitSpec): CommitResult {
    const [result] = this.push(repoRef, { branch: spec.branch, actor: spec.author, commits: [spec], from: spec.from });
    if (!result) throw new Error('no commit made');
    return result;
  }

  /** Several commits on one branch, announced as one repo:push (≤ 5 listed, then `truncated`). */
  push(
    repoRef: RepoRef,
    input: { branch: string; actor: UserRef; commits: Omit<CommitSpec, 'branch'>[]; from?: string },
  ): CommitResult[] {
    const repo = this.repository(repoRef);
    const oldHead = repo.branches.get(input.branch) ?? null;
    let head = oldHead ?? this.startOf(repo, input.from) ?? null;
    const results: CommitResult[] = [];
    for (const spec of input.commits) {
      const parents = spec.parents ?? (head ? [head] : []);
      const commit = this.storeCommit(repo, parents, { ...spec, branch: input.branch, author: this.user(spec.author) });
      head = commit.hash;
      results.push({
        hash: commit.hash,
        shortHash: commit.hash.slice(0, 12),
        branch: input.branch,
        parents: commit.parents,
      });
    }
    if (head === null) throw new Error('nothing to push');
    this.moveBranch(repo, input.branch, head, this.userActor(this.user(input.actor)), { fromMerge: false });
    return results;
  }

  /** Moves (or creates) a branch to an existing commit; a non-fast-forward move is `forced`. */
  pushRef(repoRef: RepoRef, input: { branch: string; to: string; actor: UserRef }): void {
    const repo = this.repository(repoRef);
    const target = this.getCommit(repo, input.to);
    this.moveBranch(repo, input.branch, target.hash, this.userActor(this.user(input.actor)), { fromMerge: false });
  }

  createBranch(repoRef: RepoRef, input: { name: string; from?: string; actor: UserRef }): string {
    const repo = this.repository(repoRef);
    if (repo.branches.has(input.name)) throw new Error(`branch ${input.name} exists`);
    const start = this.startOf(repo, input.from);
    if (!start) throw new Error('repository is empty');
    this.moveBranch(repo, input.name, start, this.userActor(this.user(input.actor)), { fromMerge: false });
    return start;
  }

  /** Deletes a branch (repo:push with `new: null`); open PRs from it are declined. */
  deleteBranch(repoRef: RepoRef, input: { name: string; actor: UserRef }): void {
    const repo = this.repository(repoRef);
    const actor = this.user(input.actor);
    this.removeBranch(repo, input.name, this.userActor(actor));
    for (const pr of repo.pullRequests.values()) {
      if (pr.state === 'OPEN' && pr.sourceBranch === input.name)
        this.closePullRequest(repo, pr, 'DECLINED', actor, 'Source branch deleted');
    }
  }

  private removeBranch(repo: Repository, name: string, actor: Actor): void {
    const oldHead = repo.branches.get(name);
    if (oldHead === undefined) throw new Error(`no branch ${name}`);
    if (name === repo.mainBranch) throw new Error('cannot delete the main branch');
    repo.branches.delete(name);
    const change = pushChange(this.rep, repo, {
      branch: name,
      oldHead,
      newHead: null,
      forced: false,
      fromMerge: false,
    });
    this.announce(repo, 'repo:push', {
      actor: actor.json,
      repository: this.rep.repository(repo),
      push: { changes: [change] },
    });
  }

  private moveBranch(
    repo: Repository,
    branch: string,
    newHead: string,
    actor: Actor,
    opts: { fromMerge: boolean },
  ): void {
    const oldHead = repo.branches.get(branch) ?? null;
    if (oldHead === newHead) return;
    const forced = oldHead !== null && !ancestorsOf(repo, newHead).has(oldHead);
    repo.branches.set(branch, newHead);
    repo.updatedOn = this.now();
    const change = pushChange(this.rep, repo, { branch, oldHead, newHead, forced, fromMerge: opts.fromMerge });
    this.announce(repo, 'repo:push', {
      actor: actor.json,
      repository: this.rep.repository(repo),
      push: { changes: [change] },
    });
    for (const pr of repo.pullRequests.values()) {
      if (pr.state === 'OPEN' && pr.sourceBranch === branch) {
        pr.updatedOn = this.now();
        this.announcePullRequest(repo, pr, 'pullrequest:updated', actor);
      }
    }
  }

  // ---------------------------------------------------------------- pull requests

  /** @internal live (open) or frozen (closed) source and destination heads. */
  pullRequestHeads(repo: Repository, pr: PullRequest): { source: string; destination: string } {
    const source = pr.closedSourceHash ?? repo.branches.get(pr.sourceBranch);
    const destination = pr.closedDestinationHash ?? repo.branches.get(pr.destinationBranch);
    if (!source || !destination) throw new Error(`pull request #${pr.id} has no source or destination head`);
    return { source, destination };
  }

  /** @internal */
  pullRequestJson(repo: Repository, pr: PullRequest): JsonObject {
    const heads = this.pullRequestHeads(repo, pr);
    return this.rep.pullRequest(repo, pr, heads.source, heads.destination);
  }

  pullRequest(repoRef: RepoRef, id: number): PullRequest {
    const pr = this.repository(repoRef).pullRequests.get(id);
    if (!pr) throw new Error(`no pull request #${id}`);
    return pr;
  }

  /** The pull request exactly as GET …/pullrequests/{id} returns it (12-char hashes). */
  getPullRequest(repoRef: RepoRef, id: number): JsonObject {
    const repo = this.repository(repoRef);
    return this.pullRequestJson(repo, this.pullRequest(repo, id));
  }

  openPullRequest(repoRef: RepoRef, input: OpenPullRequestInput): PullRequest {
    const repo = this.repository(repoRef);
    const destination = input.destination ?? repo.mainBranch;
    if (!repo.branches.has(input.source)) throw new Error(`no source branch ${input.source}`);
    if (!repo.branches.has(destination)) throw new Error(`no destination branch ${destination}`);
    const author = this.user(input.author);
    const now = this.now();
    const reviewers = (input.reviewers ?? []).map((r) => this.user(r));
    const pr: PullRequest = {
      id: repo.nextPullRequestId++,
      title: input.title,
      description: input.description ?? '',
      state: 'OPEN',
      draft: input.draft ?? false,
      author,
      sourceBranch: input.source,
      destinationBranch: destination,
      closedSourceHash: null,
      closedDestinationHash: null,
      mergeCommit: null,
      closeSourceBranch: input.closeSourceBranch ?? false,
      closedBy: null,
      reason: '',
      reviewers,
      participants: reviewers.map((user) => ({
        user,
        role: 'REVIEWER',
        approved: false,
        state: null,
        participatedOn: null,
      })),
      comments: [],
      createdOn: now,
      updatedOn: now,
    };
    repo.pullRequests.set(pr.id, pr);
    this.announcePullRequest(repo, pr, 'pullrequest:created', this.userActor(author));
    return pr;
  }

  updatePullRequest(
    repoRef: RepoRef,
    id: number,
    input: { actor: UserRef; title?: string; description?: string; destination?: string; draft?: boolean },
  ): PullRequest {
    const repo = this.repository(repoRef);
    const pr = this.openPr(repo, id);
    if (input.destination !== undefined && !repo.branches.has(input.destination))
      throw new Error(`no branch ${input.destination}`);
    if (input.title !== undefined) pr.title = input.title;
    if (input.description !== undefined) pr.description = input.description;
    if (input.destination !== undefined) pr.destinationBranch = input.destination;
    if (input.draft !== undefined) pr.draft = input.draft;
    pr.updatedOn = this.now();
    this.announcePullRequest(repo, pr, 'pullrequest:updated', this.userActor(this.user(input.actor)));
    return pr;
  }

  private openPr(repo: Repository, id: number): PullRequest {
    const pr = repo.pullRequests.get(id);
    if (!pr) throw new Error(`no pull request #${id}`);
    if (pr.state !== 'OPEN') throw new Error(`pull request #${id} is ${pr.state}`);
    return pr;
  }

  private participantFor(pr: PullRequest, user: User): PullRequest['participants'][number] {
    let p = pr.participants.find((x) => x.user.accountId === user.accountId);
    if (!p) {
      p = { user, role: 'PARTICIPANT', approved: false, state: null, participatedOn: null };
      pr.participants.push(p);
    }
    return p;
  }

  approve(repoRef: RepoRef, id: number, userRef: UserRef): void {
    const repo = this.repository(repoRef);
    const pr = this.openPr(repo, id);
    const user = this.user(userRef);
    if (user.accountId === pr.author.accountId) throw new Error('the author cannot approve their own pull request');
    const now = this.now();
    const p = this.participantFor(pr, user);
    p.approved = true;
    p.state = 'approved';
    p.participatedOn = now;
    this.announcePullRequest(repo, pr, 'pullrequest:approved', this.userActor(user), {
      approval: approval(this.rep, user, now),
    });
  }

  unapprove(repoRef: RepoRef, id: number, userRef: UserRef): void {
    const repo = this.repository(repoRef);
    const pr = this.openPr(repo, id);
    const user = this.user(userRef);
    const p = pr.participants.find((x) => x.user.accountId === user.accountId && x.approved);
    if (!p) throw new Error(`${user.nickname} has not approved #${id}`);
    const now = this.now();
    p.approved = false;
    p.state = null;
    p.participatedOn = now;
    this.announcePullRequest(repo, pr, 'pullrequest:unapproved', this.userActor(user), {
      approval: approval(this.rep, user, now),
    });
  }

  comment(
    repoRef: RepoRef,
    id: number,
    input: {
      author: UserRef;
      content: string;
      inline?: { path: string; to?: number; from?: number };
      parentId?: number;
    },
  ): JsonObject {
    const repo = this.repository(repoRef);
    const pr = this.pullRequest(repo, id);
    const user = this.user(input.author);
    const now = this.now();
    const p = this.participantFor(pr, user);
    p.participatedOn = now;
    return this.addComment(
      repo,
      pr,
      {
        user,
        appAuthor: null,
        raw: input.content,
        inline: input.inline ?? null,
        parentId: input.parentId ?? null,
        pending: false,
      },
      this.userActor(user),
    );
  }

  /** @internal shared by the programmatic API and POST …/comments. */
  addComment(
    repo: Repository,
    pr: PullRequest,
    c: Omit<PullRequest['comments'][number], 'id' | 'createdOn' | 'updatedOn'>,
    actor: Actor,
  ): JsonObject {
    if (c.parentId !== null && !pr.comments.some((x) => x.id === c.parentId))
      throw new ApiError(400, `parent: Comment ${c.parentId} does not exist.`, {
        parent: [`Comment ${c.parentId} does not exist.`],
      });
    const now = this.now();
    const comment = { ...c, id: repo.nextCommentId++, createdOn: now, updatedOn: now };
    pr.comments.push(comment);
    const json = this.rep.comment(repo, pr, comment);
    this.announcePullRequest(repo, pr, 'pullrequest:comment_created', actor, { comment: json });
    return json;
  }

  /** Merges like Bitbucket: pullrequest:fulfilled, then a repo:push of the destination. */
  merge(
    repoRef: RepoRef,
    id: number,
    input: {
      actor: UserRef;
      strategy?: 'merge_commit' | 'squash' | 'fast_forward';
      message?: string;
      closeSourceBranch?: boolean;
    },
  ): CommitResult {
    const repo = this.repository(repoRef);
    const pr = this.openPr(repo, id);
    const actor = this.user(input.actor);
    const { source, destination } = this.pullRequestHeads(repo, pr);
    const strategy = input.strategy ?? 'merge_commit';
    const message = input.message ?? `Merged in ${pr.sourceBranch} (pull request #${pr.id})\n\n${pr.title}`;
    let newHead: string;
    if (strategy === 'fast_forward') {
      if (!ancestorsOf(repo, source).has(destination)) throw new Error('fast-forward merge is not possible');
      newHead = source;
    } else {
      const tree = this.mergedTree(repo, source, destination);
      const files: FileMap = {};
      const destTree = this.getCommit(repo, destination).tree;
      for (const path of destTree.keys()) if (!tree.has(path)) files[path] = null;
      for (const [path, content] of tree) files[path] = content;
      const parents = strategy === 'merge_commit' ? [destination, source] : [destination];
      newHead = this.storeCommit(repo, parents, { branch: pr.destinationBranch, author: actor, message, files }).hash;
    }
    pr.closedSourceHash = source;
    pr.closedDestinationHash = destination;
    pr.mergeCommit = newHead;
    const actorJson = this.userActor(actor);
    this.closePullRequest(repo, pr, 'MERGED', actor);
    this.moveBranch(repo, pr.destinationBranch, newHead, actorJson, { fromMerge: true });
    if (input.closeSourceBranch ?? pr.closeSourceBranch) {
      if (repo.branches.has(pr.sourceBranch) && pr.sourceBranch !== repo.mainBranch)
        this.removeBranch(repo, pr.sourceBranch, actorJson);
    }
    const merged = this.getCommit(repo, newHead);
    return {
      hash: merged.hash,
      shortHash: merged.hash.slice(0, 12),
      branch: pr.destinationBranch,
      parents: merged.parents,
    };
  }

  private mergedTree(repo: Repository, source: string, destination: string): Map<string, Buffer> {
    const baseHash = mergeBase(repo, source, destination);
    const base = baseHash ? this.getCommit(repo, baseHash).tree : new Map<string, Buffer>();
    const s = this.getCommit(repo, source).tree;
    const d = this.getCommit(repo, destination).tree;
    const out = new Map<string, Buffer>();
    const same = (x: Buffer | undefined, y: Buffer | undefined): boolean =>
      x === undefined ? y === undefined : y !== undefined && x.equals(y);
    for (const path of new Set([...base.keys(), ...s.keys(), ...d.keys()])) {
      const b = base.get(path);
      const sv = s.get(path);
      const dv = d.get(path);
      let result: Buffer | undefined;
      if (same(sv, dv) || same(sv, b)) result = dv;
      else if (same(dv, b)) result = sv;
      else throw new Error(`merge conflict in ${path}`);
      if (result !== undefined) out.set(path, result);
    }
    return out;
  }

  decline(repoRef: RepoRef, id: number, input: { actor: UserRef; reason?: string }): void {
    const repo = this.repository(repoRef);
    const pr = this.openPr(repo, id);
    this.closePullRequest(repo, pr, 'DECLINED', this.user(input.actor), input.reason ?? '');
  }

  private closePullRequest(
    repo: Repository,
    pr: PullRequest,
    state: 'MERGED' | 'DECLINED',
    actor: User,
    reason = '',
  ): void {
    if (pr.closedSourceHash === null) {
      const heads = this.pullRequestHeads(repo, pr);
      pr.closedSourceHash = heads.source;
      pr.closedDestinationHash = heads.destination;
    }
    pr.state = state;
    pr.closedBy = actor;
    pr.reason = reason;
    pr.updatedOn = this.now();
    this.announcePullRequest(
      repo,
      pr,
      state === 'MERGED' ? 'pullrequest:fulfilled' : 'pullrequest:rejected',
      this.userActor(actor),
    );
  }

  // ---------------------------------------------------------------- statuses

  /** @internal Upsert by key (POST …/statuses/build semantics), with limits and the webhook. */
  upsertStatus(
    repo: Repository,
    commit: Commit,
    input: BuildStatusInput,
    actor: Actor,
  ): { status: CommitStatus; created: boolean } {
    if (input.key.length > MAX_STATUS_KEY_LENGTH) {
      throw ApiError.field(
        'key',
        `Ensure this value has at most ${MAX_STATUS_KEY_LENGTH} characters (it has ${input.key.length}).`,
      );
    }
    let byKey = repo.statuses.get(commit.hash);
    if (!byKey) {
      byKey = new Map();
      repo.statuses.set(commit.hash, byKey);
    }
    const now = this.now();
    const existing = byKey.get(input.key);
    const status: CommitStatus = {
      key: input.key,
      state: input.state,
      name: input.name ?? existing?.name ?? input.key,
      description: input.description ?? existing?.description ?? '',
      url: input.url ?? existing?.url ?? '',
      refname: input.refname !== undefined ? input.refname : (existing?.refname ?? null),
      commit: commit.hash,
      createdOn: existing?.createdOn ?? now,
      updatedOn: now,
      writtenBy: actor.principalId,
    };
    byKey.set(status.key, status);
    this.announce(repo, existing ? 'repo:commit_status_updated' : 'repo:commit_status_created', {
      actor: actor.json,
      repository: this.rep.repository(repo),
      commit_status: this.rep.commitStatusEvent(repo, status, commit),
    });
    return { status, created: !existing };
  }

  /** A build status written by someone other than the app (another CI, a forger). */
  postStatus(repoRef: RepoRef, commitRef: string, input: BuildStatusInput, by: UserRef): JsonObject {
    const repo = this.repository(repoRef);
    const user = this.user(by);
    const { status } = this.upsertStatus(repo, this.getCommit(repo, commitRef), input, this.userActor(user));
    return this.rep.commitStatus(repo, status);
  }

  /** The statuses on a commit, as GET …/commit/{c}/statuses returns them (values only). */
  getStatuses(repoRef: RepoRef, commitRef: string): JsonObject[] {
    const repo = this.repository(repoRef);
    const commit = this.getCommit(repo, commitRef);
    return [...(repo.statuses.get(commit.hash)?.values() ?? [])].map((s) => this.rep.commitStatus(repo, s));
  }

  getReports(repoRef: RepoRef, commitRef: string): JsonObject[] {
    const repo = this.repository(repoRef);
    const commit = this.getCommit(repo, commitRef);
    return [...(repo.reports.get(commit.hash)?.values() ?? [])].map((r) => this.rep.report(repo, r));
  }

  getAnnotations(repoRef: RepoRef, commitRef: string, reportId: string): JsonObject[] {
    const repo = this.repository(repoRef);
    const commit = this.getCommit(repo, commitRef);
    const report = repo.reports.get(commit.hash)?.get(reportId);
    return [...(report?.annotations.values() ?? [])].map((a) => this.rep.annotation(a));
  }

  getBranchRestrictions(repoRef: RepoRef): JsonObject[] {
    const repo = this.repository(repoRef);
    return [...repo.branchRestrictions.values()].map((r) => this.rep.branchRestriction(repo, r));
  }

  getComments(repoRef: RepoRef, id: number): JsonObject[] {
    const repo = this.repository(repoRef);
    const pr = this.pullRequest(repo, id);
    return pr.comments.map((c) => this.rep.comment(repo, pr, c));
  }

  // ---------------------------------------------------------------- hooks, tokens, apps

  /** A repository webhook (bare payloads, X-Hub-Signature when `secret` is set). */
  addRepositoryHook(
    repoRef: RepoRef,
    input: { url: string; events: string[]; secret?: string | null; description?: string; active?: boolean },
  ): JsonObject {
    const repo = this.repository(repoRef);
    return this.rep.hook(repo, this.storeHook(repo, input));
  }

  /** @internal */
  storeHook(
    repo: Repository,
    input: { url: string; events: string[]; secret?: string | null; description?: string; active?: boolean },
  ): RepositoryHook {
    const hook: RepositoryHook = {
      uuid: bracedUuid(),
      url: input.url,
      description: input.description ?? '',
      events: [...new Set(input.events)],
      active: input.active ?? true,
      secret: input.secret ?? null,
      createdAt: this.now(),
    };
    repo.hooks.set(hook.uuid, hook);
    return hook;
  }

  /**
   * A workspace or repository access token (`Authorization: Bearer <token>`). The token string is
   * returned once, like Bitbucket shows it once.
   */
  createAccessToken(
    scope: { workspace: Workspace | string } | { repository: RepoRef },
    scopes: string[],
    options: { name?: string } = {},
  ): { token: string; id: string } {
    const repo = 'repository' in scope ? this.repository(scope.repository) : null;
    const ws = repo ? repo.workspace : this.workspace((scope as { workspace: Workspace | string }).workspace);
    const token = `ATCTT3x${randomBytes(24).toString('base64url')}`;
    const id = randomSecret(8);
    const identity: AppIdentity = {
      uuid: bracedUuid(uuidFromName('access-token', id)),
      accountId: accountIdFromName(`token:${id}`),
      displayName: options.name ?? `${repo ? repo.fullName : ws.slug} access token`,
      kind: 'access_token',
    };
    const record: AccessToken = {
      id,
      tokenSha256: createHash('sha256').update(token).digest('hex'),
      workspace: ws,
      repository: repo,
      scopes: [...scopes],
      identity,
      createdAt: this.now(),
    };
    this.tokens.set(record.tokenSha256, record);
    return { token, id };
  }

  /**
   * An OAuth consumer of the workspace (Workspace settings → OAuth consumers → Add consumer), with
   * its callback URL and permissions (default Account: Read, Repositories: Read). Key and secret
   * are shown once, as Bitbucket shows them.
   */
  createOAuthConsumer(
    workspace: Workspace | string,
    input: { callbackUrl: string; scopes?: readonly string[] },
  ): { key: string; secret: string } {
    return this.oauth.createConsumer(this.workspace(workspace), input);
  }

  revokeAccessToken(id: string): void {
    for (const [hash, t] of this.tokens) if (t.id === id) this.tokens.delete(hash);
  }

  /** @internal */
  accessTokenBySha256(hash: string): AccessToken | undefined {
    return this.tokens.get(hash);
  }

  /** @internal The installed installation, plus the pending one while `installed` is being delivered. */
  installationsByClientKey(clientKey: string): Installation[] {
    const out: Installation[] = [];
    const current = this.installations.get(clientKey);
    if (current) out.push(current);
    const pending = this.pendingInstallations.get(clientKey);
    if (pending) out.push(pending);
    return out;
  }

  /**
   * Installs a Connect app: GET descriptor, POST `installed` (unsigned the first time, signed with
   * the previous secret on a re-install), then remember the fresh shared secret.
   */
  async installApp(input: {
    descriptorUrl: string;
    workspace: Workspace | string;
    actor?: UserRef;
  }): Promise<InstallationInfo> {
    const ws = this.workspace(input.workspace);
    const actor = input.actor !== undefined ? this.user(input.actor) : this.defaultUser(ws);
    const installation = await installConnectApp(this.lifecycleContext(), {
      descriptorUrl: input.descriptorUrl,
      workspace: ws,
      actor,
      previousInstallation: (clientKey) => this.installations.get(clientKey),
      onPending: (pending) => this.pendingInstallations.set(pending.clientKey, pending),
      onSettled: (pending) => this.pendingInstallations.delete(pending.clientKey),
    });
    this.installations.set(installation.clientKey, installation);
    return this.installationInfo(installation);
  }

  /** Posts `uninstalled` (signed with the current secret); the installation stops working. */
  async uninstallApp(
    ref: { clientKey: string } | { key: string; workspace: Workspace | string },
    options: { actor?: UserRef } = {},
  ): Promise<{ status: number | null }> {
    const inst = this.findInstallation(ref);
    if (!inst || inst.status !== 'installed') throw new InstallError('app is not installed');
    const actor = options.actor !== undefined ? this.user(options.actor) : this.defaultUser(inst.workspace);
    inst.status = 'uninstalled';
    const status = await uninstallConnectApp(this.lifecycleContext(), inst, actor);
    return { status };
  }

  getInstallation(
    ref: { clientKey: string } | { key: string; workspace: Workspace | string },
  ): InstallationInfo | undefined {
    const inst = this.findInstallation(ref);
    return inst ? this.installationInfo(inst) : undefined;
  }

  listInstallations(): InstallationInfo[] {
    return [...this.installations.values()].map((i) => this.installationInfo(i));
  }

  private findInstallation(
    ref: { clientKey: string } | { key: string; workspace: Workspace | string },
  ): Installation | undefined {
    if ('clientKey' in ref) return this.installations.get(ref.clientKey);
    const ws = this.workspace(ref.workspace);
    return this.installations.get(`ari:cloud:bitbucket::app/${ws.uuid}/${ref.key}`);
  }

  private installationInfo(i: Installation): InstallationInfo {
    return {
      key: i.key,
      clientKey: i.clientKey,
      workspace: i.workspace.slug,
      sharedSecret: i.sharedSecret,
      status: i.status,
      appBaseUrl: i.appBaseUrl,
      scopes: i.scopes === null ? null : [...i.scopes],
      webhooks: i.webhooks.map((w) => ({ ...w })),
    };
  }

  private lifecycleContext() {
    return { rep: this.rep, sandboxBaseUrl: this.baseUrl, now: this.now, log: this.lifecycleLog };
  }

  /**
   * Mints the JWT an installed app would send to the API (iss = key, sub = clientKey, qsh over
   * method + /2.0 path + query). For tests and scripts that call the sandbox directly.
   */
  createConnectJwt(input: { clientKey: string; method: string; url: string; expiresInSeconds?: number }): string {
    const inst = this.installations.get(input.clientKey);
    if (!inst) throw new Error(`no installation ${input.clientKey}`);
    const iat = Math.floor(this.now() / 1000);
    const u = new URL(input.url, this.baseUrl);
    const qsh = createQueryStringHash(fromMethodAndUrl(input.method, `${u.pathname}${u.search}`), false);
    return encodeSymmetric(
      { iss: inst.key, sub: inst.clientKey, iat, exp: iat + (input.expiresInSeconds ?? 180), qsh },
      inst.sharedSecret,
    );
  }

  /**
   * Mints the context JWT Bitbucket gives an app's own page (iss = clientKey, sub = the viewing
   * user's account id, qsh over method + path + query, signed with the installation's secret).
   * Default user: the workspace admin.
   */
  createPageJwt(input: {
    clientKey: string;
    method: string;
    url: string;
    accountId?: string;
    expiresInSeconds?: number;
  }): string {
    const inst = this.installations.get(input.clientKey);
    if (!inst) throw new Error(`no installation ${input.clientKey}`);
    const iat = Math.floor(this.now() / 1000);
    const u = new URL(input.url, 'http://app.invalid');
    const qsh = createQueryStringHash(fromMethodAndUrl(input.method, `${u.pathname}${u.search}`), false);
    const sub = input.accountId ?? this.workspaceAdmin(inst.workspace).accountId;
    return encodeSymmetric(
      { iss: inst.clientKey, sub, iat, exp: iat + (input.expiresInSeconds ?? 180), qsh },
      inst.sharedSecret,
    );
  }

  // ---------------------------------------------------------------- actors and webhooks

  /** @internal */
  userActor(user: User): Actor {
    return { principalId: `user:${user.accountId}`, json: this.rep.user(user) };
  }

  /** @internal */
  principalActor(p: Principal): Actor {
    const identity = p.kind === 'connect' ? p.installation.identity : p.token.identity;
    return { principalId: p.id, json: this.rep.appUser(identity) };
  }

  private announcePullRequest(
    repo: Repository,
    pr: PullRequest,
    event: string,
    actor: Actor,
    extra: JsonObject = {},
  ): void {
    this.announce(repo, event, {
      actor: actor.json,
      pullrequest: this.pullRequestJson(repo, pr),
      repository: this.rep.repository(repo),
      ...extra,
    });
  }

  /**
   * @internal Delivers `payload` for `event` to every subscribed Connect app and repository hook.
   * X-Hook-UUID carries the bare UUID (captured: "1b08c6c1-a8d3-…", no braces).
   */
  announce(repo: Repository, event: string, payload: JsonObject): void {
    const targets: DeliveryTarget[] = [];
    for (const inst of this.installations.values()) {
      if (inst.status !== 'installed' || inst.workspace.uuid !== repo.workspace.uuid) continue;
      for (const w of inst.webhooks) {
        if (w.event === event || w.event === '*') {
          targets.push({
            kind: 'connect',
            url: w.url,
            appBaseUrl: inst.appBaseUrl,
            hookUuid: stripBraces(w.hookUuid),
            clientKey: inst.clientKey,
            sharedSecret: inst.sharedSecret,
          });
        }
      }
    }
    for (const hook of repo.hooks.values()) {
      if (hook.active && hook.events.includes(event)) {
        targets.push({ kind: 'repository', url: hook.url, hookUuid: stripBraces(hook.uuid), secret: hook.secret });
      }
    }
    for (const target of targets) this.dispatcher.enqueue(target, event, repo.fullName, payload);
    for (const listener of this.eventListeners) listener(repo, event, payload);
  }

  /** Fault injection for webhooks: the next `count` deliveries of `event` (all when absent) are never sent. */
  loseWebhooks(spec: { event?: string | RegExp; count?: number } = {}): { lost(): number; cancel(): void } {
    return this.dispatcher.lose(spec);
  }

  /** Every webhook delivery so far (Connect and repository hooks), oldest first. */
  get deliveries(): readonly DeliveryRecord[] {
    return this.dispatcher.log;
  }

  /** Resolves when all queued webhook deliveries (and retries) have finished. */
  waitForDeliveries(): Promise<void> {
    return this.dispatcher.waitForIdle();
  }

  /** Polls until `predicate` holds (e.g. the app posted its status); rejects after `timeoutMs`. */
  async waitUntil(predicate: () => boolean, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? 5000);
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error('waitUntil: condition not met in time');
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 10));
    }
  }
}
