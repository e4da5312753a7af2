import type { BitbucketClient, BitbucketDiffstatItem, BitbucketPullRequest } from '../../bitbucket';
import { sha256B64u } from '../../core/clawsig/hashing';
import type { ChangeCommit, ChangedFile, ChangeSet } from '../../core/policy/change-set';
import type { EnginePolicy } from '../../core/policy';
import type { EngineSettings, Mode } from '../../core/verdict';
import type { Store, WorkspaceSettings } from '../../store';
import { agentIdentityOf } from '../agent-identities';
import { policyForRepository } from '../repository-policy';
import { discoverBundleInPullRequest, type PullRequestArtifact } from './bundle-discovery';
import { declaredBundleIds } from './proof-bundle-reference';

/** What gather found: the engine's inputs plus what the record and the publisher need. */
export interface GatheredEvidence {
  change: ChangeSet;
  settings: EngineSettings;
  mode: Mode;
  policy?: EnginePolicy;
  bundle?: { value: unknown; text: string; source: 'api' | 'repo_file'; sha256B64u: string; bundleId?: string; path?: string; scopedToken?: string };
  /** The URM beside a PR-file bundle (src/pipeline/bundle-discovery.ts), for the engine. */
  urm?: PullRequestArtifact;
  /** The Trust Pulse beside a PR-file bundle, raw and unverified (for the Trust Pulse binding). */
  trustPulse?: PullRequestArtifact;
  /** A reason the evidence is incomplete (fail closed in the engine). */
  evidenceError?: 'BUNDLE_UNREADABLE' | 'WPC_NOT_ASSIGNED';
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

/** The engine's settings from the stored document (trust lists, keys, revocations). */
export function engineSettingsFrom(settings: WorkspaceSettings, mode: Mode): EngineSettings {
  return {
    mode,
    trustedGateways: settings.trusted_gateways
      .filter((g) => !settings.revocations.gateway_dids.includes(g.did))
      .map((g) => ({ did: g.did, ...(g.expires_at ? { expiresAtMs: Date.parse(g.expires_at) } : {}) })),
    cstIssuers: settings.cst_issuers.map((k) => ({ publicKeyB64u: k.public_key_b64u, ...(k.kid ? { kid: k.kid } : {}) })),
    frozen: settings.frozen,
    ...(settings.mission_id_pattern !== undefined ? { missionIdPattern: settings.mission_id_pattern } : {}),
    revocations: { agentDids: settings.revocations.agent_dids, cstJtis: settings.revocations.cst_jtis, bundleIds: settings.revocations.bundle_ids },
  };
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

  // (a) uploaded to the API, named by the PR.
  for (const bundleId of declared) {
    const uploaded = await store.bundles.get(workspaceId, bundleId);
    if (!uploaded) continue;
    try {
      evidence.bundle = { value: JSON.parse(uploaded.envelopeText) as unknown, text: uploaded.envelopeText, source: 'api', sha256B64u: uploaded.sha256B64u, bundleId, ...(uploaded.scopedToken ? { scopedToken: uploaded.scopedToken } : {}) };
      // Sidecars uploaded with the bundle (the URM is verified against the bundle by the engine).
      if (uploaded.urmText !== null) evidence.urm = { path: 'upload:urm', text: uploaded.urmText, value: JSON.parse(uploaded.urmText) as unknown, sha256B64u: sha256B64u(uploaded.urmText) };
      if (uploaded.trustPulseText !== null) evidence.trustPulse = { path: 'upload:trust_pulse', text: uploaded.trustPulseText, value: JSON.parse(uploaded.trustPulseText) as unknown, sha256B64u: sha256B64u(uploaded.trustPulseText) };
    } catch {
      evidence.evidenceError = 'BUNDLE_UNREADABLE';
    }
    return evidence;
  }
  // (b) a bundle file the PR changed, read at head, with its URM and Trust Pulse sidecars.
  const discovered = await discoverBundleInPullRequest({
    client,
    workspace,
    repoSlug,
    headSha,
    changedPaths: change.files.filter((f) => f.status !== 'removed').map((f) => f.path),
    declared,
    maxBundleBytes: input.maxBundleBytes,
  });
  if (discovered.error) evidence.evidenceError = discovered.error;
  if (discovered.bundle) {
    const { path, text, value, sha256B64u: sha } = discovered.bundle;
    evidence.bundle = { value, text, source: 'repo_file', sha256B64u: sha, path };
  }
  if (discovered.urm) evidence.urm = discovered.urm;
  if (discovered.trustPulse) evidence.trustPulse = discovered.trustPulse;
  return evidence;
}
