import type { Logger } from 'pino';
import { z } from 'zod';
import type { BitbucketAuth } from './auth';
import type { ApiCallMeter } from './call-meter';
import { assertEgressAllowed } from './egress-allowlist';
import { BitbucketInputError, BitbucketNotFoundError, BitbucketResponseError, AnnotationLimitError } from './errors';
import { HttpTransport, type HttpMethod } from './http-transport';
import { DEFAULT_PAGE_CAP, DEFAULT_PAGELEN, paginate } from './pagination';
import {
  ANNOTATIONS_PER_REPORT,
  ANNOTATIONS_PER_REQUEST,
  annotationInputSchema,
  branchRestrictionInputSchema,
  buildStatusInputSchema,
  hookInputSchema,
  pullRequestCommentInputSchema,
  reportInputSchema,
  validateInput,
  type AnnotationInput,
  type BranchRestrictionInput,
  type BuildStatusInput,
  type HookInput,
  type PullRequestCommentInput,
  type ReportInput,
} from './request-bodies';
import {
  apiUrl,
  filePathSegments,
  isFullCommitHash,
  isUnderApiBase,
  parseApiBase,
  pathSegment,
  requireCommitHashPrefix,
  requireFullCommitHash,
  type ApiBase,
  type Query,
} from './request-target';
import {
  accountFilter,
  highestRepositoryPermission,
  ownRepositoryPermissionSchema,
  ownWorkspacePermissionSchema,
  isSameAccount,
  repositoryPermissionSchema,
  workspaceMembershipSchema,
  type AccountRef,
  type RepositoryPermission,
  type WorkspacePermission,
} from './permissions';
import { decodeUtf8, parseJsonBody } from './response-body';
import { DEFAULT_RETRY_OPTIONS, REAL_RETRY_ENVIRONMENT, type RetryEnvironment, type RetryOptions } from './retry';
import {
  annotationListSchema,
  branchRestrictionSchema,
  commitListItemSchema,
  commitSchema,
  commitStatusSchema,
  currentUserSchema,
  diffstatItemSchema,
  pullRequestCommentSchema,
  pullRequestSchema,
  reportSchema,
  repositorySchema,
  webhookSubscriptionSchema,
  workspaceSchema,
  type BitbucketAnnotation,
  type BitbucketBranchRestriction,
  type BitbucketCommit,
  type BitbucketCommitListItem,
  type BitbucketCommitStatus,
  type BitbucketCurrentUser,
  type BitbucketDiffstatItem,
  type BitbucketPullRequest,
  type BitbucketPullRequestComment,
  type BitbucketReport,
  type BitbucketRepository,
  type BitbucketWebhookSubscription,
  type BitbucketWorkspace,
} from './schemas';

export const DEFAULT_MAX_JSON_BYTES = 5 * 1024 * 1024;
export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Diffstats come 500 items a page (Bitbucket's default for them; max 5,000): the same 2,000 items as 20 pages of 100, in 4 calls. */
const DIFFSTAT_PAGELEN = 500;
export const DIFFSTAT_MAX_ITEMS = 2000;
const DIFFSTAT_PAGE_CAP = DIFFSTAT_MAX_ITEMS / DIFFSTAT_PAGELEN;
const DIFFSTAT_PAGES: PaginateOptions = { query: { pagelen: DIFFSTAT_PAGELEN }, pageCap: DIFFSTAT_PAGE_CAP };

export interface BitbucketClientOptions {
  /** The install's `baseApiUrl` (`https://api.bitbucket.org`); API paths `/2.0/...` go under it. */
  baseApiUrl: string;
  auth: BitbucketAuth;
  /** `host[:port]` entries (parseAllowedHosts(process.env.CLAWGATE_ALLOWED_HOSTS)). */
  allowedHosts: readonly string[];
  logger: Logger;
  /** Put on every log line (child logger); one client per webhook delivery / job. */
  deliveryId?: string;
  fetch?: typeof globalThis.fetch;
  retry?: Partial<RetryOptions> & Partial<RetryEnvironment>;
  /** Pages a listing may span before PageCapExceededError (default 20 × 100 items). */
  pageCap?: number;
  /** Limit on JSON response bodies (default 5 MiB). */
  maxJsonBytes?: number;
  /** Per-hop timeout (default 30 s); a timeout counts as a network error. */
  requestTimeoutMs?: number;
  /** Counts (and may refuse) every call to the API origin: the installation's API budget (call-meter.ts). */
  meter?: ApiCallMeter;
}

/** Where webhooks live: the repository's hooks when `repoSlug` is set, else the workspace's. */
export interface HookScope {
  workspace: string;
  repoSlug?: string;
}

export interface PaginateOptions {
  query?: Query;
  /** Overrides the client's page cap for this listing. */
  pageCap?: number;
}

export interface BitbucketClient {
  /** The same client with another delivery id on its log lines. */
  forDelivery(deliveryId: string): BitbucketClient;
  /** GET every page of `path` (`/2.0/...`), `pagelen=100` unless the query sets it, items validated by `itemSchema`. */
  paginate<Item extends z.ZodType>(
    path: string,
    itemSchema: Item,
    options?: PaginateOptions,
  ): Promise<z.output<Item>[]>;

  getPullRequest(workspace: string, repoSlug: string, pullRequestId: number): Promise<BitbucketPullRequest>;
  listPullRequestCommits(
    workspace: string,
    repoSlug: string,
    pullRequestId: number,
  ): Promise<BitbucketCommitListItem[]>;
  /**
   * The PR's diffstat, 500 items a page (Bitbucket's diffstat default; at most DIFFSTAT_MAX_ITEMS in
   * all, like any other listing). With `pullRequest` (as GET …/pullrequests/{id} returned it) its
   * `links.diffstat` is read directly when it is under the API base (one call fewer); otherwise
   * `…/pullrequests/{id}/diffstat` and its 302 to `…/diffstat/{spec}` (re-signed).
   */
  listPullRequestDiffstat(
    workspace: string,
    repoSlug: string,
    pullRequestId: number,
    pullRequest?: Pick<BitbucketPullRequest, 'id' | 'links'>,
  ): Promise<BitbucketDiffstatItem[]>;
  /** The files one commit changed against its first parent (`…/diffstat/{sha}`); per-file provenance needs it. */
  listCommitDiffstat(workspace: string, repoSlug: string, commitHash: string): Promise<BitbucketDiffstatItem[]>;
  /** Raw file text at `commit`; null when the path or commit does not exist. Not UTF-8 → BitbucketResponseError. */
  getFileAtCommit(
    workspace: string,
    repoSlug: string,
    commit: string,
    path: string,
    options?: { maxBytes?: number },
  ): Promise<string | null>;
  /**
   * The same file as its exact bytes (bounded by `maxBytes`, not decoded): for a file up to the bundle
   * limit, decoding and hashing belong off the event loop (the caller's verification pool).
   */
  getFileBytesAtCommit(
    workspace: string,
    repoSlug: string,
    commit: string,
    path: string,
    options?: { maxBytes?: number },
  ): Promise<Uint8Array | null>;
  getCommit(workspace: string, repoSlug: string, hashOrPrefix: string): Promise<BitbucketCommit>;
  /** Commits reachable from `include` and not from `exclude` (`…/commits/{include}?exclude=`), newest first, at most `pageCap` pages. */
  listCommitsBetween(
    workspace: string,
    repoSlug: string,
    include: string,
    exclude: string | null,
    pageCap: number,
  ): Promise<BitbucketCommitListItem[]>;
  /** 40-hex input is returned as is (no request); a prefix is resolved and must resolve to a hash it prefixes. */
  resolveCommitHash(workspace: string, repoSlug: string, hashOrPrefix: string): Promise<string>;

  /** POST `…/commit/{sha}/statuses/build`: create or overwrite the status with this key. */
  /** `allowShortHash`: accept a 12–40 hex prefix (otherwise a full hash is required). */
  putBuildStatus(
    workspace: string,
    repoSlug: string,
    commitHash: string,
    status: BuildStatusInput,
    options?: { allowShortHash?: boolean },
  ): Promise<BitbucketCommitStatus>;
  /** null when no status with this key exists on the commit. */
  getBuildStatus(
    workspace: string,
    repoSlug: string,
    commitHash: string,
    key: string,
  ): Promise<BitbucketCommitStatus | null>;
  putReport(
    workspace: string,
    repoSlug: string,
    commitHash: string,
    reportId: string,
    report: ReportInput,
  ): Promise<BitbucketReport>;
  /** false when there was no such report (deleting is how a report is refreshed, so absence is fine). */
  deleteReport(workspace: string, repoSlug: string, commitHash: string, reportId: string): Promise<boolean>;
  /** Chunks of ≤ 100 per request; more than 1,000 → AnnotationLimitError before any request. */
  postAnnotations(
    workspace: string,
    repoSlug: string,
    commitHash: string,
    reportId: string,
    annotations: readonly AnnotationInput[],
  ): Promise<BitbucketAnnotation[]>;

  listBranchRestrictions(
    workspace: string,
    repoSlug: string,
    filter?: { kind?: string; pattern?: string },
  ): Promise<BitbucketBranchRestriction[]>;
  createBranchRestriction(
    workspace: string,
    repoSlug: string,
    restriction: BranchRestrictionInput,
  ): Promise<BitbucketBranchRestriction>;
  postPullRequestComment(
    workspace: string,
    repoSlug: string,
    pullRequestId: number,
    comment: PullRequestCommentInput,
  ): Promise<BitbucketPullRequestComment>;

  listHooks(scope: HookScope): Promise<BitbucketWebhookSubscription[]>;
  createHook(scope: HookScope, hook: HookInput): Promise<BitbucketWebhookSubscription>;
  /** false when there was no such hook. */
  deleteHook(scope: HookScope, hookUuid: string): Promise<boolean>;

  getWorkspace(workspace: string): Promise<BitbucketWorkspace>;
  getCurrentUser(): Promise<BitbucketCurrentUser>;

  /** `GET …/refs/branches/{name}`: false on 404 (the branch does not exist now). */
  branchExists(workspace: string, repoSlug: string, branch: string): Promise<boolean>;
  /** `GET …/repositories/{ws}/{slug}`: the main branch (`mainbranch.name`) is what clawgate reads. */
  getRepository(workspace: string, repoSlug: string): Promise<BitbucketRepository>;
  /**
   * The account's effective permission on the repository
   * (`GET /2.0/workspaces/{ws}/permissions/repositories/{slug}?q=user.uuid="{…}"`); `none` when not listed.
   */
  getRepositoryPermission(workspace: string, repoSlug: string, account: AccountRef): Promise<RepositoryPermission>;
  /**
   * Like getRepositoryPermission, plus the account's `{uuid}` as Bitbucket lists it (null when the
   * account is not listed or the entry has no uuid): a page user known by account id is matched
   * against agent identities, which are registered by uuid.
   */
  getRepositoryAccess(
    workspace: string,
    repoSlug: string,
    account: AccountRef,
  ): Promise<{ permission: RepositoryPermission; accountUuid: string | null }>;
  /** The account's workspace role (`GET /2.0/workspaces/{ws}/permissions?q=…`); null when not a member. */
  getWorkspacePermission(workspace: string, account: AccountRef): Promise<WorkspacePermission | null>;
  /**
   * With a user's own OAuth token (Sign in with Bitbucket): the caller's role in the workspace
   * (`GET /2.0/user/workspaces/{ws}/permission`); null when not a member (404).
   */
  getOwnWorkspacePermission(workspace: string): Promise<WorkspacePermission | null>;
  /**
   * With a user's own OAuth token: the caller's permission on one repository
   * (`GET /2.0/user/workspaces/{ws}/permissions/repositories?q=repository.full_name="{ws}/{slug}"`);
   * `none` when not listed. Only entries naming that very repository count.
   */
  getOwnRepositoryPermission(workspace: string, repoSlug: string): Promise<RepositoryPermission>;
}

interface ClientConfig {
  apiBase: ApiBase;
  allowedHosts: readonly string[];
  pageCap: number;
  maxJsonBytes: number;
  /** Everything but the logger, which differs per delivery. */
  makeTransport: (logger: Logger) => HttpTransport;
  baseLogger: Logger;
}

function positiveInteger(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${what} must be a positive integer`);
  return value;
}

export function createBitbucketClient(options: BitbucketClientOptions): BitbucketClient {
  const apiBase = parseApiBase(options.baseApiUrl);
  const allowedHosts = options.allowedHosts.map((host) => host.trim().toLowerCase());
  // A tenant whose API base is not allowed never gets a client at all (no SSRF via a forged install).
  assertEgressAllowed(apiBase.url, allowedHosts);
  const retry: RetryOptions = {
    maxAttempts: positiveInteger(options.retry?.maxAttempts, DEFAULT_RETRY_OPTIONS.maxAttempts, 'retry.maxAttempts'),
    baseDelayMs: options.retry?.baseDelayMs ?? DEFAULT_RETRY_OPTIONS.baseDelayMs,
    maxDelayMs: options.retry?.maxDelayMs ?? DEFAULT_RETRY_OPTIONS.maxDelayMs,
    maxTotalDelayMs: options.retry?.maxTotalDelayMs ?? DEFAULT_RETRY_OPTIONS.maxTotalDelayMs,
  };
  const retryEnvironment: RetryEnvironment = {
    sleep: options.retry?.sleep ?? REAL_RETRY_ENVIRONMENT.sleep,
    random: options.retry?.random ?? REAL_RETRY_ENVIRONMENT.random,
    now: options.retry?.now ?? REAL_RETRY_ENVIRONMENT.now,
  };
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const requestTimeoutMs = positiveInteger(options.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS, 'requestTimeoutMs');
  const config: ClientConfig = {
    apiBase,
    allowedHosts,
    pageCap: positiveInteger(options.pageCap, DEFAULT_PAGE_CAP, 'pageCap'),
    maxJsonBytes: positiveInteger(options.maxJsonBytes, DEFAULT_MAX_JSON_BYTES, 'maxJsonBytes'),
    makeTransport: (logger) =>
      new HttpTransport({
        apiBase,
        auth: options.auth,
        allowedHosts,
        logger,
        fetch: fetchImpl,
        retry,
        retryEnvironment,
        requestTimeoutMs,
        ...(options.meter ? { meter: options.meter } : {}),
      }),
    baseLogger: options.logger,
  };
  return new RestClient(config, options.deliveryId);
}

function repositoryPath(workspace: string, repoSlug: string): string {
  return `/2.0/repositories/${pathSegment(workspace, 'workspace')}/${pathSegment(repoSlug, 'repository slug')}`;
}

function commitPath(workspace: string, repoSlug: string, commitHash: string): string {
  return `${repositoryPath(workspace, repoSlug)}/commit/${requireFullCommitHash(commitHash)}`;
}

function pullRequestPath(workspace: string, repoSlug: string, pullRequestId: number): string {
  if (!Number.isSafeInteger(pullRequestId) || pullRequestId < 1)
    throw new BitbucketInputError(`pull request id ${pullRequestId} is not a positive integer`);
  return `${repositoryPath(workspace, repoSlug)}/pullrequests/${pullRequestId}`;
}

function hooksPath(scope: HookScope): string {
  return scope.repoSlug === undefined
    ? `/2.0/workspaces/${pathSegment(scope.workspace, 'workspace')}/hooks`
    : `${repositoryPath(scope.workspace, scope.repoSlug)}/hooks`;
}

async function nullIfNotFound<T>(request: Promise<T>): Promise<T | null> {
  try {
    return await request;
  } catch (error) {
    if (error instanceof BitbucketNotFoundError) return null;
    throw error;
  }
}

class RestClient implements BitbucketClient {
  private readonly transport: HttpTransport;

  constructor(
    private readonly config: ClientConfig,
    deliveryId: string | undefined,
  ) {
    // `null` rather than omitted so a line without a delivery is visibly one.
    const logger = config.baseLogger.child({ component: 'bitbucket', deliveryId: deliveryId ?? null });
    this.transport = config.makeTransport(logger);
  }

  forDelivery(deliveryId: string): BitbucketClient {
    return new RestClient(this.config, deliveryId);
  }

  private async json<Schema extends z.ZodType>(
    method: HttpMethod,
    path: string,
    schema: Schema,
    body?: unknown,
    query?: Query,
  ): Promise<z.output<Schema>> {
    const response = await this.transport.send({
      method,
      url: apiUrl(this.config.apiBase, path, query),
      json: body,
      accept: 'application/json',
      maxBodyBytes: this.config.maxJsonBytes,
    });
    return parseJsonBody(schema, response.body, response.context, response.status);
  }

  /** For calls whose success has no body we use (DELETE → 204). */
  private async noContent(method: HttpMethod, path: string): Promise<void> {
    await this.transport.send({
      method,
      url: apiUrl(this.config.apiBase, path),
      accept: 'application/json',
      maxBodyBytes: this.config.maxJsonBytes,
    });
  }

  async paginate<Item extends z.ZodType>(
    path: string,
    itemSchema: Item,
    options: PaginateOptions = {},
  ): Promise<z.output<Item>[]> {
    const query: Query = { pagelen: DEFAULT_PAGELEN, ...options.query };
    return paginate({
      firstUrl: apiUrl(this.config.apiBase, path, query),
      itemSchema,
      pageCap: positiveInteger(options.pageCap, this.config.pageCap, 'pageCap'),
      apiBase: this.config.apiBase,
      allowedHosts: this.config.allowedHosts,
      fetchPage: (url) =>
        this.transport.send({ method: 'GET', url, accept: 'application/json', maxBodyBytes: this.config.maxJsonBytes }),
    });
  }

  async getPullRequest(workspace: string, repoSlug: string, pullRequestId: number): Promise<BitbucketPullRequest> {
    return this.json('GET', pullRequestPath(workspace, repoSlug, pullRequestId), pullRequestSchema);
  }

  async listPullRequestCommits(
    workspace: string,
    repoSlug: string,
    pullRequestId: number,
  ): Promise<BitbucketCommitListItem[]> {
    return this.paginate(`${pullRequestPath(workspace, repoSlug, pullRequestId)}/commits`, commitListItemSchema);
  }

  async listPullRequestDiffstat(
    workspace: string,
    repoSlug: string,
    pullRequestId: number,
    pullRequest?: Pick<BitbucketPullRequest, 'id' | 'links'>,
  ): Promise<BitbucketDiffstatItem[]> {
    const path = pullRequestPath(workspace, repoSlug, pullRequestId);
    const direct =
      pullRequest?.id === pullRequestId
        ? this.repositoryDiffstatLink(workspace, repoSlug, pullRequest.links.diffstat?.href)
        : undefined;
    if (direct === undefined) return this.paginate(`${path}/diffstat`, diffstatItemSchema, DIFFSTAT_PAGES);
    direct.searchParams.set('pagelen', String(DIFFSTAT_PAGELEN));
    return paginate({
      firstUrl: direct,
      itemSchema: diffstatItemSchema,
      pageCap: DIFFSTAT_PAGE_CAP,
      apiBase: this.config.apiBase,
      allowedHosts: this.config.allowedHosts,
      fetchPage: (url) =>
        this.transport.send({ method: 'GET', url, accept: 'application/json', maxBodyBytes: this.config.maxJsonBytes }),
    });
  }

  /** A PR's `links.diffstat`, only when it is this repository's diffstat under the API base. */
  private repositoryDiffstatLink(workspace: string, repoSlug: string, href: string | undefined): URL | undefined {
    if (href === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(href);
    } catch {
      return undefined;
    }
    if (!isUnderApiBase(url, this.config.apiBase)) return undefined;
    const expected = apiUrl(this.config.apiBase, `${repositoryPath(workspace, repoSlug)}/diffstat/`).pathname;
    return url.pathname.toLowerCase().startsWith(expected.toLowerCase()) ? url : undefined;
  }

  async listCommitDiffstat(workspace: string, repoSlug: string, commitHash: string): Promise<BitbucketDiffstatItem[]> {
    return this.paginate(
      `${repositoryPath(workspace, repoSlug)}/diffstat/${requireCommitHashPrefix(commitHash)}`,
      diffstatItemSchema,
      DIFFSTAT_PAGES,
    );
  }

  async getFileAtCommit(
    workspace: string,
    repoSlug: string,
    commit: string,
    path: string,
    options: { maxBytes?: number } = {},
  ): Promise<string | null> {
    const maxBodyBytes = positiveInteger(options.maxBytes, DEFAULT_MAX_FILE_BYTES, 'maxBytes');
    const response = await this.fileAtCommit(workspace, repoSlug, commit, path, maxBodyBytes);
    if (response === null) return null;
    return decodeUtf8(response.body, response.context, response.status);
  }

  async getFileBytesAtCommit(
    workspace: string,
    repoSlug: string,
    commit: string,
    path: string,
    options: { maxBytes?: number } = {},
  ): Promise<Uint8Array | null> {
    const maxBodyBytes = positiveInteger(options.maxBytes, DEFAULT_MAX_FILE_BYTES, 'maxBytes');
    const response = await this.fileAtCommit(workspace, repoSlug, commit, path, maxBodyBytes);
    return response === null ? null : response.body;
  }

  private fileAtCommit(workspace: string, repoSlug: string, commit: string, path: string, maxBodyBytes: number) {
    const url = apiUrl(
      this.config.apiBase,
      `${repositoryPath(workspace, repoSlug)}/src/${requireCommitHashPrefix(commit)}/${filePathSegments(path)}`,
    );
    return nullIfNotFound(this.transport.send({ method: 'GET', url, accept: '*/*', maxBodyBytes }));
  }

  async listCommitsBetween(
    workspace: string,
    repoSlug: string,
    include: string,
    exclude: string | null,
    pageCap: number,
  ): Promise<BitbucketCommitListItem[]> {
    return this.paginate(
      `${repositoryPath(workspace, repoSlug)}/commits/${requireCommitHashPrefix(include)}`,
      commitListItemSchema,
      { pageCap, ...(exclude !== null ? { query: { exclude: requireCommitHashPrefix(exclude) } } : {}) },
    );
  }

  async getCommit(workspace: string, repoSlug: string, hashOrPrefix: string): Promise<BitbucketCommit> {
    return this.json(
      'GET',
      `${repositoryPath(workspace, repoSlug)}/commit/${requireCommitHashPrefix(hashOrPrefix)}`,
      commitSchema,
    );
  }

  async resolveCommitHash(workspace: string, repoSlug: string, hashOrPrefix: string): Promise<string> {
    if (isFullCommitHash(hashOrPrefix)) return hashOrPrefix;
    const prefix = requireCommitHashPrefix(hashOrPrefix);
    const commit = await this.getCommit(workspace, repoSlug, prefix);
    // The schema already demands 40 hex; it must also be the commit we asked about.
    if (!commit.hash.startsWith(prefix)) {
      throw new BitbucketResponseError(
        `commit ${prefix} resolved to ${commit.hash}, which it does not prefix`,
        { method: 'GET', path: `${repositoryPath(workspace, repoSlug)}/commit/${prefix}` },
        [{ path: 'hash', message: `expected a hash starting with ${prefix}` }],
      );
    }
    return commit.hash;
  }

  async putBuildStatus(
    workspace: string,
    repoSlug: string,
    commitHash: string,
    status: BuildStatusInput,
    options: { allowShortHash?: boolean } = {},
  ): Promise<BitbucketCommitStatus> {
    const body = validateInput(buildStatusInputSchema, status, 'build status');
    // A 12+ character hash only when asked (the first INPROGRESS of a job, written before any read,
    // on the head as the webhook named it; that Bitbucket resolves it is UNCONFIRMED).
    const path =
      options.allowShortHash === true && /^[0-9a-f]{12,40}$/.test(commitHash)
        ? `${repositoryPath(workspace, repoSlug)}/commit/${commitHash}`
        : commitPath(workspace, repoSlug, commitHash);
    return this.json('POST', `${path}/statuses/build`, commitStatusSchema, body);
  }

  async getBuildStatus(
    workspace: string,
    repoSlug: string,
    commitHash: string,
    key: string,
  ): Promise<BitbucketCommitStatus | null> {
    return nullIfNotFound(
      this.json(
        'GET',
        `${commitPath(workspace, repoSlug, commitHash)}/statuses/build/${pathSegment(key, 'status key')}`,
        commitStatusSchema,
      ),
    );
  }

  async putReport(
    workspace: string,
    repoSlug: string,
    commitHash: string,
    reportId: string,
    report: ReportInput,
  ): Promise<BitbucketReport> {
    const body = validateInput(reportInputSchema, report, 'report');
    return this.json(
      'PUT',
      `${commitPath(workspace, repoSlug, commitHash)}/reports/${pathSegment(reportId, 'report id')}`,
      reportSchema,
      body,
    );
  }

  async deleteReport(workspace: string, repoSlug: string, commitHash: string, reportId: string): Promise<boolean> {
    const deleted = await nullIfNotFound(
      this.noContent(
        'DELETE',
        `${commitPath(workspace, repoSlug, commitHash)}/reports/${pathSegment(reportId, 'report id')}`,
      ).then(() => true),
    );
    return deleted ?? false;
  }

  async postAnnotations(
    workspace: string,
    repoSlug: string,
    commitHash: string,
    reportId: string,
    annotations: readonly AnnotationInput[],
  ): Promise<BitbucketAnnotation[]> {
    if (annotations.length > ANNOTATIONS_PER_REPORT)
      throw new AnnotationLimitError(annotations.length, ANNOTATIONS_PER_REPORT);
    const bodies = annotations.map((annotation, index) =>
      validateInput(annotationInputSchema, annotation, `annotation ${index}`),
    );
    const path = `${commitPath(workspace, repoSlug, commitHash)}/reports/${pathSegment(reportId, 'report id')}/annotations`;
    const created: BitbucketAnnotation[] = [];
    // Sequential on purpose: parallel chunks would spend the hourly budget in bursts and race a 429.
    for (let start = 0; start < bodies.length; start += ANNOTATIONS_PER_REQUEST) {
      created.push(
        ...(await this.json('POST', path, annotationListSchema, bodies.slice(start, start + ANNOTATIONS_PER_REQUEST))),
      );
    }
    return created;
  }

  async listBranchRestrictions(
    workspace: string,
    repoSlug: string,
    filter: { kind?: string; pattern?: string } = {},
  ): Promise<BitbucketBranchRestriction[]> {
    return this.paginate(`${repositoryPath(workspace, repoSlug)}/branch-restrictions`, branchRestrictionSchema, {
      query: { kind: filter.kind, pattern: filter.pattern },
    });
  }

  async createBranchRestriction(
    workspace: string,
    repoSlug: string,
    restriction: BranchRestrictionInput,
  ): Promise<BitbucketBranchRestriction> {
    const body = validateInput(branchRestrictionInputSchema, restriction, 'branch restriction');
    return this.json(
      'POST',
      `${repositoryPath(workspace, repoSlug)}/branch-restrictions`,
      branchRestrictionSchema,
      body,
    );
  }

  async postPullRequestComment(
    workspace: string,
    repoSlug: string,
    pullRequestId: number,
    comment: PullRequestCommentInput,
  ): Promise<BitbucketPullRequestComment> {
    const input = validateInput(pullRequestCommentInputSchema, comment, 'pull request comment');
    const body = {
      content: { raw: input.raw },
      ...(input.inline ? { inline: input.inline } : {}),
      ...(input.parentId !== undefined ? { parent: { id: input.parentId } } : {}),
    };
    return this.json(
      'POST',
      `${pullRequestPath(workspace, repoSlug, pullRequestId)}/comments`,
      pullRequestCommentSchema,
      body,
    );
  }

  async listHooks(scope: HookScope): Promise<BitbucketWebhookSubscription[]> {
    return this.paginate(hooksPath(scope), webhookSubscriptionSchema);
  }

  async createHook(scope: HookScope, hook: HookInput): Promise<BitbucketWebhookSubscription> {
    const body = validateInput(hookInputSchema, hook, 'webhook');
    return this.json('POST', hooksPath(scope), webhookSubscriptionSchema, body);
  }

  async deleteHook(scope: HookScope, hookUuid: string): Promise<boolean> {
    const deleted = await nullIfNotFound(
      this.noContent('DELETE', `${hooksPath(scope)}/${pathSegment(hookUuid, 'hook uuid')}`).then(() => true),
    );
    return deleted ?? false;
  }

  async getWorkspace(workspace: string): Promise<BitbucketWorkspace> {
    return this.json('GET', `/2.0/workspaces/${pathSegment(workspace, 'workspace')}`, workspaceSchema);
  }

  async getCurrentUser(): Promise<BitbucketCurrentUser> {
    return this.json('GET', '/2.0/user', currentUserSchema);
  }

  async branchExists(workspace: string, repoSlug: string, branch: string): Promise<boolean> {
    // A branch name may hold slashes: each segment is encoded on its own.
    const path = `${repositoryPath(workspace, repoSlug)}/refs/branches/${branch
      .split('/')
      .map((segment) => pathSegment(segment, 'branch name segment'))
      .join('/')}`;
    try {
      await this.json('GET', path, z.looseObject({ name: z.string() }));
      return true;
    } catch (error) {
      if (error instanceof BitbucketNotFoundError) return false;
      throw error;
    }
  }

  async getRepository(workspace: string, repoSlug: string): Promise<BitbucketRepository> {
    return this.json('GET', repositoryPath(workspace, repoSlug), repositorySchema);
  }

  async getRepositoryPermission(
    workspace: string,
    repoSlug: string,
    account: AccountRef,
  ): Promise<RepositoryPermission> {
    return (await this.getRepositoryAccess(workspace, repoSlug, account)).permission;
  }

  async getRepositoryAccess(
    workspace: string,
    repoSlug: string,
    account: AccountRef,
  ): Promise<{ permission: RepositoryPermission; accountUuid: string | null }> {
    const path = `/2.0/workspaces/${pathSegment(workspace, 'workspace')}/permissions/repositories/${pathSegment(repoSlug, 'repository slug')}`;
    const items = await this.paginate(path, repositoryPermissionSchema, {
      query: { q: accountFilter(account) },
      pageCap: 2,
    });
    // The filter is the server's; only entries for this very account count.
    const mine = items.filter((item) => isSameAccount(item.user, account));
    const accountUuid =
      mine.map((item) => item.user?.uuid).find((uuid): uuid is string => typeof uuid === 'string') ??
      ('uuid' in account ? account.uuid : null);
    return {
      permission: highestRepositoryPermission(mine.map((item) => item.permission)),
      accountUuid: accountUuid === null ? null : accountUuid.toLowerCase(),
    };
  }

  async getOwnWorkspacePermission(workspace: string): Promise<WorkspacePermission | null> {
    const answer = await nullIfNotFound(
      this.json(
        'GET',
        `/2.0/user/workspaces/${pathSegment(workspace, 'workspace')}/permission`,
        ownWorkspacePermissionSchema,
      ),
    );
    return answer === null ? null : answer.permission;
  }

  async getOwnRepositoryPermission(workspace: string, repoSlug: string): Promise<RepositoryPermission> {
    const fullName = `${workspace}/${repoSlug}`.toLowerCase();
    // The slug goes into a BBQL string: only slug characters, so it cannot widen the filter.
    if (!/^[a-z0-9_.{}-]{1,128}\/[a-z0-9_.-]{1,128}$/.test(fullName))
      throw new BitbucketInputError('repository name has characters a slug never has');
    const path = `/2.0/user/workspaces/${pathSegment(workspace, 'workspace')}/permissions/repositories`;
    const items = await this.paginate(path, ownRepositoryPermissionSchema, {
      query: { q: `repository.full_name="${fullName}"` },
      pageCap: 2,
    });
    const mine = items
      .filter((item) => item.repository?.full_name?.toLowerCase() === fullName)
      .map((item) => item.permission);
    return highestRepositoryPermission(mine);
  }

  async getWorkspacePermission(workspace: string, account: AccountRef): Promise<WorkspacePermission | null> {
    const path = `/2.0/workspaces/${pathSegment(workspace, 'workspace')}/permissions`;
    const items = await this.paginate(path, workspaceMembershipSchema, {
      query: { q: accountFilter(account) },
      pageCap: 2,
    });
    const mine = items.filter((item) => isSameAccount(item.user, account)).map((item) => item.permission);
    if (mine.includes('owner')) return 'owner';
    if (mine.includes('collaborator')) return 'collaborator';
    return mine.includes('member') ? 'member' : null;
  }
}
