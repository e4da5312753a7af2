import type {
  BitbucketClient,
  BitbucketCommitListItem,
  BitbucketDiffstatItem,
  BitbucketPullRequest,
} from '../../bitbucket';
import {
  ApiBudgetExceededError,
  BitbucketNotFoundError,
  BitbucketResponseError,
  DIFFSTAT_MAX_ITEMS,
  PageCapExceededError,
} from '../../bitbucket';
import type { TenantHeadCache } from './head-cache';
import type { AccountClass, ChangeCommit, ChangedFile, ChangeSet } from '../../core/policy/change-set';
import type { EnginePolicy } from '../../core/policy';
import type { EngineSettings, Mode } from '../../core/verdict';
import type { CommitPush, Store, WorkspaceSettings } from '../../store';
import { agentIdentityOf } from '../agent-identities';
import { engineSettingsFrom } from '../engine-settings';
import { policyForRepository } from '../repository-policy';
import { discoverBundleInPullRequest, readFileAtHead } from './bundle-discovery';
import type { Verifier } from '../../verification';
import { declaredBundleIds } from './proof-bundle-reference';
import { runArtifactPaths, uploadedRunArtifactPaths } from '../../core/clawsig/run-artifacts';
import { MAX_TRUST_PULSE_BYTES } from '../../core/clawsig/trust-pulse';

/** What gather found: the engine's inputs plus what the record and the publisher need. */
export interface GatheredEvidence {
  change: ChangeSet;
  settings: EngineSettings;
  mode: Mode;
  policy?: EnginePolicy;
  /** The bundle as text: it is parsed, bounded and verified off the event loop (src/verification). */
  bundle?: {
    text: string;
    source: 'api' | 'repo_file';
    sha256B64u: string;
    bundleId?: string;
    path?: string;
    scopedToken?: string;
  };
  /** A reason the evidence is incomplete (fail closed in the engine). */
  evidenceError?: 'BUNDLE_UNREADABLE' | 'WPC_NOT_ASSIGNED' | 'API_BUDGET_EXCEEDED';
  /**
   * The run's URM as text (parsed and bounded off the event loop by the evaluation, like the bundle;
   * undefined when absent) and Trust Pulse text, found beside the bundle.
   */
  urmText?: string;
  trustPulseText?: string;
}

/**
 * Reads the URM and the Trust Pulse a PR adds beside its bundle. A file that cannot be read (too
 * large, not UTF-8) is passed on as unreadable text, so the pulse shows as unverified, never as absent.
 */
async function runArtifactsFromPr(
  client: BitbucketClient,
  verifier: Verifier,
  workspace: string,
  repoSlug: string,
  headSha: string,
  changed: ReadonlySet<string>,
  paths: { urm: string; trustPulse: string },
  maxUrmBytes: number,
): Promise<{ urmText?: string; trustPulseText?: string }> {
  const read = async (path: string, maxBytes: number): Promise<string | undefined> => {
    if (!changed.has(path)) return undefined;
    try {
      return (await client.getFileAtCommit(workspace, repoSlug, headSha, path, { maxBytes })) ?? undefined;
    } catch (error) {
      if (error instanceof BitbucketNotFoundError) return undefined;
      if (!(error instanceof BitbucketResponseError)) throw error;
      return '';
    }
  };
  const out: { urmText?: string; trustPulseText?: string } = {};
  // Neither decoded nor parsed here: a hostile URM (up to the bundle limit) is decoded in a worker,
  // then parsed in one (evaluate-pull-request).
  if (changed.has(paths.urm)) {
    const urm = await readFileAtHead(client, verifier, { workspace, repoSlug, headSha }, paths.urm, maxUrmBytes);
    if (urm.ok) out.urmText = urm.artifact.text;
    else if (urm.reason === 'unreadable') out.urmText = '';
  }
  // Small (one byte over the limit is enough to tell "too large"; the engine checks the size): read as text.
  const pulse = await read(paths.trustPulse, MAX_TRUST_PULSE_BYTES + 1);
  if (pulse !== undefined) out.trustPulseText = pulse;
  return out;
}

function filesFromDiffstat(items: readonly BitbucketDiffstatItem[]): ChangedFile[] {
  return items.map((item): ChangedFile => {
    const oldPath = item.old?.path;
    const newPath = item.new?.path;
    const status =
      item.status === 'added'
        ? 'added'
        : item.status === 'removed'
          ? 'removed'
          : item.status === 'renamed'
            ? 'renamed'
            : 'modified';
    const path = newPath ?? oldPath ?? '';
    return {
      status,
      path,
      ...(oldPath !== undefined && oldPath !== path ? { oldPath } : {}),
      ...(item.lines_added !== undefined ? { linesAdded: item.lines_added } : {}),
      ...(item.lines_removed !== undefined ? { linesRemoved: item.lines_removed } : {}),
    };
  });
}

function diffstatPaths(items: readonly BitbucketDiffstatItem[]): string[] {
  const paths = new Set<string>();
  for (const item of items) {
    if (item.old?.path) paths.add(item.old.path);
    if (item.new?.path) paths.add(item.new.path);
  }
  return [...paths];
}

/** Commits one evaluation judges; more is CHANGE_TOO_LARGE, not an error. */
export const MAX_EVALUATED_COMMITS = 100;

/** The PR's commits, newest first, as one paginated listing read them; `tooLarge` when there are too many. */
export interface ListedCommits {
  commits: BitbucketCommitListItem[];
  tooLarge?: NonNullable<ChangeSet['tooLarge']>;
}

/** Lists the PR's commits once (the job resolves the head from them and gather judges them). */
export async function listPullRequestCommitsOf(
  client: BitbucketClient,
  workspace: string,
  repoSlug: string,
  prId: number,
): Promise<ListedCommits> {
  try {
    const commits = await client.listPullRequestCommits(workspace, repoSlug, prId);
    return commits.length > MAX_EVALUATED_COMMITS
      ? { commits, tooLarge: { what: 'commits', limit: MAX_EVALUATED_COMMITS } }
      : { commits };
  } catch (error) {
    if (!(error instanceof PageCapExceededError)) throw error;
    return { commits: [], tooLarge: { what: 'pages', limit: error.pageCap } };
  }
}

/**
 * The full head hash from the listing: the newest commit when the PR's (12-character) head prefixes
 * it, so no `GET …/commit/{short}` is spent. undefined when it does not (the caller resolves it).
 */
export function headFromListing(listed: ListedCommits, prHead: string): string | undefined {
  const newest = listed.commits[0];
  const prefix = prHead.toLowerCase();
  return newest !== undefined && /^[0-9a-f]{7,40}$/.test(prefix) && newest.hash.toLowerCase().startsWith(prefix)
    ? newest.hash.toLowerCase()
    : undefined;
}

/**
 * Reads the paths of each PR commit after `attestedCommit` (one diffstat per commit, served from
 * the per-head cache when a job for the same head read it before) and returns the change with
 * them filled in; null when nothing is to read (no attested commit in the PR, or none after it).
 * Only these commits' paths matter to the engine (proof coverage, file provenance).
 */
export async function pathsAfterAttestation(input: {
  client: BitbucketClient;
  workspace: string;
  repoSlug: string;
  change: ChangeSet;
  attestedCommit: string | undefined;
  cache?: TenantHeadCache;
}): Promise<ChangeSet | null> {
  const { change, attestedCommit } = input;
  if (attestedCommit === undefined || change.tooLarge !== undefined) return null;
  const index = change.commits.findIndex((c) => c.hash.toLowerCase() === attestedCommit.toLowerCase());
  if (index < 0 || index === change.commits.length - 1) return null;
  const commits = [...change.commits];
  for (let i = index + 1; i < commits.length; i++) {
    const commit = commits[i] as ChangeCommit;
    if (commit.paths !== undefined) continue;
    const read = () =>
      input.client.listCommitDiffstat(input.workspace, input.repoSlug, commit.hash).then(diffstatPaths);
    const paths = input.cache
      ? await input.cache.commitPaths(`${input.workspace}/${input.repoSlug}`, commit.hash, read)
      : await read();
    commits[i] = { ...commit, paths };
  }
  return { ...change, commits };
}

export type RepositoryPolicy = Awaited<ReturnType<typeof policyForRepository>>;

function classify(settings: WorkspaceSettings, accountUuid: string | null | undefined): AccountClass {
  if (!accountUuid) return 'unknown';
  return agentIdentityOf(settings, accountUuid) ? 'agent' : 'human';
}

/** The strongest class among pushers: any agent → agent; none recorded or one unknown → unknown. */
function pusherClass(settings: WorkspaceSettings, pushers: readonly CommitPush[]): AccountClass {
  if (pushers.length === 0) return 'unknown';
  const classes = pushers.map((p) => classify(settings, p.pusherUuid));
  return classes.includes('agent') ? 'agent' : classes.includes('unknown') ? 'unknown' : 'human';
}

/**
 * gather (docs/architecture.md §2): for the PR and its full head (fetched and resolved by the caller, which needs
 * them before gathering), the commits with the files each touched, who wrote and who pushed each
 * (recorded `repo:push` actors), the diffstat, the bundle (uploaded first, then a bundle file changed
 * in the PR at head), the WPC; `settings` is the workspace's stored document and `assignment` the
 * repository's policy and mode, both read by the caller before any Bitbucket call. A PR too large to
 * read completely (page caps, commit count) is gathered as `tooLarge`: the engine fails it.
 */
export async function gatherEvidence(input: {
  client: BitbucketClient;
  /** Decodes and hashes the files read from the PR (a bundle, a URM) off the event loop. */
  verifier: Verifier;
  store: Store;
  workspaceId: string;
  repoFullName: string;
  prId: number;
  pullRequest: BitbucketPullRequest;
  headSha: string;
  /** The PR's commits as listPullRequestCommitsOf read them (the caller resolved the head from them). */
  listed: ListedCommits;
  settings: WorkspaceSettings;
  assignment: RepositoryPolicy;
  maxBundleBytes: number;
}): Promise<GatheredEvidence> {
  const { client, store, workspaceId, repoFullName, prId, pullRequest, headSha } = input;
  const [workspace, repoSlug] = repoFullName.split('/') as [string, string];
  const settingsDoc = input.settings;
  let tooLarge: ChangeSet['tooLarge'] = input.listed.tooLarge;
  const commitsNewestFirst: BitbucketCommitListItem[] = input.listed.commits;
  let diffstat: BitbucketDiffstatItem[] = [];
  let budgetExceeded = false;
  if (tooLarge === undefined) {
    try {
      // One listing for the whole PR (500 items a page, the PR's own diffstat link: no redirect).
      diffstat = await client.listPullRequestDiffstat(workspace, repoSlug, prId, pullRequest);
    } catch (error) {
      if (isEvaluationBudgetError(error)) budgetExceeded = true;
      else if (error instanceof PageCapExceededError) tooLarge = { what: 'files', limit: DIFFSTAT_MAX_ITEMS };
      else throw error;
    }
  }
  const pushes = await store.commitPushes.forCommits(
    workspaceId,
    repoFullName,
    commitsNewestFirst.length > 0 ? commitsNewestFirst.map((c) => c.hash) : [headSha],
  );
  const pushesOf = (hash: string) => pushes.filter((p) => p.commit === hash);
  const commits: ChangeCommit[] = [];
  for (const commit of [...commitsNewestFirst].reverse()) {
    // A commit's own paths matter only after the attested commit (proof coverage, file provenance):
    // they are read once the engine has named that commit (pathsAfterAttestation), not here.
    const authorUuid = commit.author.user?.uuid;
    const pushers = pushesOf(commit.hash);
    const agentAccounts = [authorUuid, ...pushers.map((p) => p.pusherUuid)].filter(
      (u): u is string => typeof u === 'string' && agentIdentityOf(settingsDoc, u) !== null,
    );
    commits.push({
      hash: commit.hash,
      ...(authorUuid ? { authorAccountId: authorUuid } : {}),
      author: classify(settingsDoc, authorUuid),
      pushedBy: pusherClass(settingsDoc, pushers),
      ...(agentAccounts.length > 0 ? { agentAccountIds: [...new Set(agentAccounts)] } : {}),
    });
  }
  const headPushes = pushesOf(headSha);
  const headPushedAtMs = headPushes.length === 0 ? null : Math.max(...headPushes.map((p) => p.pushedAt.getTime()));

  const assignment = input.assignment;
  const mode: Mode = assignment.mode ?? settingsDoc.mode;
  // The actor whose work is judged: the PR author when it is an agent identity, else the first agent
  // that pushed or wrote one of its commits (agent work in a PR a human opened), else the author.
  // A revoked account stays an agent (revocation takes trust away, never the label): its PRs fail
  // REVOKED_AGENT instead of passing as human PRs, and its approvals never count.
  const authorIdentity = agentIdentityOf(settingsDoc, pullRequest.author.uuid);
  const commitAgent = authorIdentity ? undefined : commits.flatMap((c) => c.agentAccountIds ?? [])[0];
  const actorId = commitAgent ?? pullRequest.author.uuid;
  const identity = authorIdentity ?? (commitAgent ? agentIdentityOf(settingsDoc, commitAgent) : null);
  const actorName = commitAgent ? undefined : pullRequest.author.display_name;

  const declared = declaredBundleIds(pullRequest.description, ...commitsNewestFirst.map((c) => c.message));
  const change: ChangeSet = {
    workspace,
    repoSlug,
    repoFullName,
    action: 'create_pr',
    actor: {
      accountId: actorId,
      ...(actorName ? { displayName: actorName } : {}),
      ...(identity
        ? {
            agentIdentity: {
              role: identity.role,
              ...(identity.agentDid ? { agentDid: identity.agentDid } : {}),
              ...(identity.revoked ? { revoked: true } : {}),
            },
          }
        : {}),
    },
    pullRequest: {
      id: prId,
      sourceBranch: pullRequest.source.branch.name,
      destinationBranch: pullRequest.destination.branch.name,
      headCommit: headSha,
      declaredBundleIds: declared,
      headPushedAtMs,
    },
    files: filesFromDiffstat(diffstat),
    commits,
    approvals: pullRequest.participants
      .filter((p) => p.approved)
      .map((p) => {
        const at = p.participated_on ? Date.parse(p.participated_on) : Number.NaN;
        return {
          accountId: p.user.uuid,
          isAgentIdentity: agentIdentityOf(settingsDoc, p.user.uuid) !== null,
          ...(Number.isFinite(at) ? { atMs: at } : {}),
        };
      }),
    agentIdentities: settingsDoc.agents.map((a) => ({
      accountId: a.account_uuid,
      role: a.role,
      ...(a.agent_did ? { agentDid: a.agent_did } : {}),
    })),
    ...(tooLarge ? { tooLarge } : {}),
  };

  const evidence: GatheredEvidence = {
    change,
    settings: engineSettingsFrom(settingsDoc, mode),
    mode,
    ...(assignment.policy ? { policy: assignment.policy } : {}),
    ...(!assignment.policy ? { evidenceError: 'WPC_NOT_ASSIGNED' as const } : {}),
  };

  if (tooLarge) return evidence;
  if (budgetExceeded) {
    evidence.evidenceError = 'API_BUDGET_EXCEEDED';
    return evidence;
  }
  try {
    await attachBundle(evidence, {
      client,
      verifier: input.verifier,
      store,
      workspaceId,
      workspace,
      repoSlug,
      headSha,
      declared,
      maxBundleBytes: input.maxBundleBytes,
    });
  } catch (error) {
    if (!isEvaluationBudgetError(error)) throw error;
    // Out of this evaluation's API reads before the evidence was complete: fail closed, its own code.
    delete evidence.bundle;
    delete evidence.urmText;
    delete evidence.trustPulseText;
    evidence.evidenceError = 'API_BUDGET_EXCEEDED';
  }
  return evidence;
}

/** True for the meter's refusal of one more read by this evaluation (api-budget.ts): a verdict, not a retry. */
export function isEvaluationBudgetError(error: unknown): error is ApiBudgetExceededError {
  return error instanceof ApiBudgetExceededError && error.scope === 'evaluation';
}

/**
 * The bundle (uploaded first, then a bundle file changed in the PR at head) with its URM and pulse,
 * put into `evidence` (or the reason it could not be read).
 */
async function attachBundle(
  evidence: GatheredEvidence,
  ctx: {
    client: BitbucketClient;
    verifier: Verifier;
    store: Store;
    workspaceId: string;
    workspace: string;
    repoSlug: string;
    headSha: string;
    declared: string[];
    maxBundleBytes: number;
  },
): Promise<void> {
  const { client, verifier, store, workspaceId, workspace, repoSlug, headSha, declared } = ctx;
  const input = { maxBundleBytes: ctx.maxBundleBytes };
  const change = evidence.change;
  const changed = new Set(change.files.filter((f) => f.status !== 'removed').map((f) => f.path));
  // (a) uploaded to the API, named by the PR.
  for (const bundleId of declared) {
    const uploaded = await store.bundles.get(workspaceId, bundleId);
    if (!uploaded) continue;
    evidence.bundle = {
      text: uploaded.envelopeText,
      source: 'api',
      sha256B64u: uploaded.sha256B64u,
      bundleId,
      ...(uploaded.scopedToken ? { scopedToken: uploaded.scopedToken } : {}),
    };
    // Its URM and pulse: uploaded with it, else committed in the PR under the bundle's id.
    const fromPr =
      uploaded.urmText === null || uploaded.trustPulseText === null
        ? await runArtifactsFromPr(
            client,
            verifier,
            workspace,
            repoSlug,
            headSha,
            changed,
            uploadedRunArtifactPaths(bundleId),
            input.maxBundleBytes,
          )
        : {};
    const urmText = uploaded.urmText ?? fromPr.urmText;
    if (urmText !== undefined) evidence.urmText = urmText;
    const pulse = uploaded.trustPulseText ?? fromPr.trustPulseText;
    if (pulse !== undefined) evidence.trustPulseText = pulse;
    return;
  }
  // (b) a bundle file the PR changed, read at head (bundle-discovery.ts: declared .clawsig/bundles/<id>.json,
  // then the harness layout <name>-bundle.json, then .clawsig/proof_bundle.json), with its URM and pulse.
  const discovered = await discoverBundleInPullRequest({
    client,
    verifier,
    workspace,
    repoSlug,
    headSha,
    changedPaths: [...changed],
    declared,
    maxBundleBytes: input.maxBundleBytes,
  });
  if (discovered.error) {
    evidence.evidenceError = discovered.error;
    return;
  }
  if (discovered.bundle) {
    const { path, text, sha256B64u: sha } = discovered.bundle;
    evidence.bundle = { text, source: 'repo_file', sha256B64u: sha, path };
    Object.assign(
      evidence,
      await runArtifactsFromPr(
        client,
        verifier,
        workspace,
        repoSlug,
        headSha,
        changed,
        runArtifactPaths(path),
        input.maxBundleBytes,
      ),
    );
  }
}
