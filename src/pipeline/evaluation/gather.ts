import type { BitbucketClient, BitbucketDiffstatItem, BitbucketPullRequest } from '../../bitbucket';
import { BitbucketNotFoundError, BitbucketResponseError } from '../../bitbucket';
import { sha256B64u } from '../../core/clawsig/hashing';
import type { ChangeCommit, ChangedFile, ChangeSet } from '../../core/policy/change-set';
import type { BitbucketWpc } from '../../core/policy';
import type { EngineSettings, Mode } from '../../core/verdict';
import type { Store, WorkspaceSettings } from '../../store';
import { agentIdentityOf } from '../agent-identities';
import { engineSettingsFrom } from '../engine-settings';
import { policyForRepository } from '../repository-policy';
import { bundleFileCandidates, declaredBundleIds } from './proof-bundle-reference';
import { runArtifactPaths, uploadedRunArtifactPaths } from '../../core/clawsig/run-artifacts';
import { MAX_TRUST_PULSE_BYTES } from '../../core/clawsig/trust-pulse';

/** What gather found: the engine's inputs plus what the record and the publisher need. */
export interface GatheredEvidence {
  change: ChangeSet;
  settings: EngineSettings;
  mode: Mode;
  policy?: { wpc: BitbucketWpc; hash: string };
  bundle?: { value: unknown; text: string; source: 'api' | 'repo_file'; sha256B64u: string; bundleId?: string; path?: string; scopedToken?: string };
  /** A reason the evidence is incomplete (fail closed in the engine). */
  evidenceError?: 'BUNDLE_UNREADABLE' | 'WPC_NOT_ASSIGNED';
  /** The run's URM (parsed; undefined when absent or unreadable) and Trust Pulse text, found beside the bundle. */
  urm?: unknown;
  trustPulseText?: string;
}

/**
 * Reads the URM and the Trust Pulse a PR adds beside its bundle. A file that cannot be read (too
 * large, not UTF-8) is passed on as unreadable text, so the pulse shows as unverified, never as absent.
 */
async function runArtifactsFromPr(client: BitbucketClient, workspace: string, repoSlug: string, headSha: string, changed: ReadonlySet<string>, paths: { urm: string; trustPulse: string }, maxUrmBytes: number): Promise<{ urm?: unknown; trustPulseText?: string }> {
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
  const out: { urm?: unknown; trustPulseText?: string } = {};
  const urmText = await read(paths.urm, maxUrmBytes);
  if (urmText !== undefined) {
    try {
      out.urm = JSON.parse(urmText) as unknown;
    } catch {
      // An unreadable URM binds nothing: the pulse will be unverified (URM missing).
    }
  }
  // One byte over the limit is enough to tell "too large" (the engine checks the size).
  const pulse = await read(paths.trustPulse, MAX_TRUST_PULSE_BYTES + 1);
  if (pulse !== undefined) out.trustPulseText = pulse;
  return out;
}

function filesFromDiffstat(items: readonly BitbucketDiffstatItem[]): ChangedFile[] {
  return items.map((item): ChangedFile => {
    const oldPath = item.old?.path;
    const newPath = item.new?.path;
    const status = item.status === 'added' ? 'added' : item.status === 'removed' ? 'removed' : item.status === 'renamed' ? 'renamed' : 'modified';
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

/**
 * gather (design §3): for the PR and its full head (fetched and resolved by the caller, which needs
 * them before gathering), the commits with the files each touched, the diffstat, the bundle
 * (uploaded first, then a bundle file changed in the PR at head), the WPC; `settings` is the
 * workspace's stored document, also read by the caller.
 */
export async function gatherEvidence(input: {
  client: BitbucketClient;
  store: Store;
  workspaceId: string;
  repoFullName: string;
  prId: number;
  pullRequest: BitbucketPullRequest;
  headSha: string;
  settings: WorkspaceSettings;
  maxBundleBytes: number;
}): Promise<GatheredEvidence> {
  const { client, store, workspaceId, repoFullName, prId, pullRequest, headSha } = input;
  const [workspace, repoSlug] = repoFullName.split('/') as [string, string];
  const commitsNewestFirst = await client.listPullRequestCommits(workspace, repoSlug, prId);
  const diffstat = await client.listPullRequestDiffstat(workspace, repoSlug, prId);
  const commits: ChangeCommit[] = [];
  for (const commit of [...commitsNewestFirst].reverse()) {
    const touched = await client.listCommitDiffstat(workspace, repoSlug, commit.hash);
    commits.push({ hash: commit.hash, paths: diffstatPaths(touched), ...(commit.author.user?.uuid ? { authorAccountId: commit.author.user.uuid } : {}) });
  }

  const settingsDoc = input.settings;
  const assignment = await policyForRepository(store, workspaceId, repoFullName);
  const mode: Mode = assignment.mode ?? settingsDoc.mode;
  // A revoked account stays an agent (revocation takes trust away, never the label): its PRs fail
  // REVOKED_AGENT instead of passing as human PRs, and its approvals never count.
  const identity = agentIdentityOf(settingsDoc, pullRequest.author.uuid);
  const authorId = pullRequest.author.uuid;

  const declared = declaredBundleIds(pullRequest.description, ...commitsNewestFirst.map((c) => c.message));
  const change: ChangeSet = {
    workspace,
    repoSlug,
    repoFullName,
    action: 'create_pr',
    actor: { accountId: authorId, displayName: pullRequest.author.display_name, ...(identity ? { agentIdentity: { role: identity.role, ...(identity.agentDid ? { agentDid: identity.agentDid } : {}), ...(identity.revoked ? { revoked: true } : {}) } } : {}) },
    pullRequest: { id: prId, sourceBranch: pullRequest.source.branch.name, destinationBranch: pullRequest.destination.branch.name, headCommit: headSha, declaredBundleIds: declared },
    files: filesFromDiffstat(diffstat),
    commits,
    approvals: pullRequest.participants.filter((p) => p.approved).map((p) => ({ accountId: p.user.uuid, isAgentIdentity: agentIdentityOf(settingsDoc, p.user.uuid) !== null })),
    agentIdentities: settingsDoc.agents.map((a) => ({ accountId: a.account_uuid, role: a.role, ...(a.agent_did ? { agentDid: a.agent_did } : {}) })),
  };

  const evidence: GatheredEvidence = {
    change,
    settings: engineSettingsFrom(settingsDoc, mode),
    mode,
    ...(assignment.policy ? { policy: assignment.policy } : {}),
    ...(!assignment.policy ? { evidenceError: 'WPC_NOT_ASSIGNED' as const } : {}),
  };

  const changed = new Set(change.files.filter((f) => f.status !== 'removed').map((f) => f.path));
  // (a) uploaded to the API, named by the PR.
  for (const bundleId of declared) {
    const uploaded = await store.bundles.get(workspaceId, bundleId);
    if (!uploaded) continue;
    try {
      evidence.bundle = { value: JSON.parse(uploaded.envelopeText) as unknown, text: uploaded.envelopeText, source: 'api', sha256B64u: uploaded.sha256B64u, bundleId, ...(uploaded.scopedToken ? { scopedToken: uploaded.scopedToken } : {}) };
    } catch {
      evidence.evidenceError = 'BUNDLE_UNREADABLE';
      return evidence;
    }
    // Its URM and pulse: uploaded with it, else committed in the PR under the bundle's id.
    const fromPr = uploaded.urmText === null || uploaded.trustPulseText === null ? await runArtifactsFromPr(client, workspace, repoSlug, headSha, changed, uploadedRunArtifactPaths(bundleId), input.maxBundleBytes) : {};
    if (uploaded.urmText !== null) {
      try {
        evidence.urm = JSON.parse(uploaded.urmText) as unknown;
      } catch {
        // Stored as received; an unreadable URM binds nothing.
      }
    } else if (fromPr.urm !== undefined) evidence.urm = fromPr.urm;
    const pulse = uploaded.trustPulseText ?? fromPr.trustPulseText;
    if (pulse !== undefined) evidence.trustPulseText = pulse;
    return evidence;
  }
  // (b) a bundle file the PR changed, read at head.
  for (const path of bundleFileCandidates(declared)) {
    if (!changed.has(path)) continue;
    let text: string | null;
    try {
      text = await client.getFileAtCommit(workspace, repoSlug, headSha, path, { maxBytes: input.maxBundleBytes });
    } catch (error) {
      if (error instanceof BitbucketNotFoundError) continue;
      // Too large or not UTF-8: the bundle the PR claims cannot be read (fail closed). Anything else
      // (network, auth, rate limit) is clawgate's failure and propagates.
      if (!(error instanceof BitbucketResponseError)) throw error;
      evidence.evidenceError = 'BUNDLE_UNREADABLE';
      return evidence;
    }
    if (text === null) continue;
    try {
      evidence.bundle = { value: JSON.parse(text) as unknown, text, source: 'repo_file', sha256B64u: sha256B64u(text), path };
    } catch {
      evidence.evidenceError = 'BUNDLE_UNREADABLE';
      return evidence;
    }
    Object.assign(evidence, await runArtifactsFromPr(client, workspace, repoSlug, headSha, changed, runArtifactPaths(path), input.maxBundleBytes));
    return evidence;
  }
  return evidence;
}
