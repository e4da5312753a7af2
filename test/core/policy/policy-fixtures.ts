import type { ChangeSet } from '../../../src/core/policy/change-set';
import { parseBitbucketWpc, type BitbucketWpc } from '../../../src/core/policy/bitbucket-wpc';
import type { PolicyFacts } from '../../../src/core/policy/evaluate-policy';

/** The seed WPC of docs/policy.md, as a fresh plain object each call (tests mutate it). */
export function seedWpcDocument(): { tool: string; policy: Record<string, unknown> } & Record<string, unknown> {
  return {
    tool: 'bitbucket_via_official_api',
    policy: {
      repos_allowlist: ['WORKSPACE_A/proj-web'],
      read: { allow: ['list_repos', 'get_file', 'get_diff', 'list_prs', 'get_pr'] },
      write: {
        allow: ['create_branch', 'create_pr', 'comment_pr'],
        deny: ['merge_pr', 'delete_branch', 'change_repo_permissions', 'direct_push_main'],
        approval_required: true,
      },
      paths: { deny_globs: ['**/bitbucket-pipelines.yml', '**/.pipeline/**', '**/.github/**', '**/SECURITY*'] },
      auth: { least_privilege_scopes_required: true, separate_identities_for_read_vs_write: true },
      attestation: { require_gateway_receipts: true, emit_proof_bundle: true },
    },
  };
}

/** Parse a document that the test expects to be valid; fails the test with the issues otherwise. */
export function wpcFrom(document: unknown): BitbucketWpc {
  const result = parseBitbucketWpc(document);
  if (!result.ok) throw new Error(`expected a valid WPC: ${JSON.stringify(result.issues)}`);
  return result.wpc;
}

/** The seed with selected `policy` sections replaced (shallow per section). */
export function seedWpc(
  overrides: { policy?: Record<string, unknown>; top?: Record<string, unknown> } = {},
): BitbucketWpc {
  const doc = seedWpcDocument();
  return wpcFrom({ ...doc, ...overrides.top, policy: { ...doc.policy, ...overrides.policy } });
}

export const AGENT_WRITE = '{aaaaaaaa-0000-4000-8000-000000000001}';
export const AGENT_READ = '{aaaaaaaa-0000-4000-8000-000000000002}';
export const HUMAN = '{bbbbbbbb-0000-4000-8000-000000000003}';
export const COMMITS = ['1'.repeat(40), '2'.repeat(40), '3'.repeat(40)] as const;

/** A change that satisfies every clause of the seed WPC. */
export function compliantChange(overrides: Partial<ChangeSet> = {}): ChangeSet {
  return {
    workspace: 'WORKSPACE_A',
    repoSlug: 'proj-web',
    repoFullName: 'WORKSPACE_A/proj-web',
    action: 'create_pr',
    actor: { accountId: AGENT_WRITE, agentIdentity: { role: 'write', agentDid: 'did:key:z6Mkagent' } },
    pullRequest: { id: 7, sourceBranch: 'agent/feature', destinationBranch: 'main', headCommit: COMMITS[2] },
    files: [
      { status: 'modified', path: 'src/app.ts' },
      { status: 'added', path: 'docs/guide.md' },
    ],
    commits: [
      { hash: COMMITS[0], paths: ['src/app.ts'] },
      { hash: COMMITS[1], paths: ['docs/guide.md'] },
    ],
    approvals: [{ accountId: HUMAN, isAgentIdentity: false }],
    agentIdentities: [
      { accountId: AGENT_WRITE, role: 'write', agentDid: 'did:key:z6Mkagent' },
      { accountId: AGENT_READ, role: 'read', agentDid: 'did:key:z6Mkagent' },
    ],
    ...overrides,
  };
}

/** Facts that satisfy every clause of the seed WPC. */
export function compliantFacts(overrides: Partial<PolicyFacts> = {}): PolicyFacts {
  return {
    bundlePresent: true,
    gatewayReceipts: [{ receiptId: 'gr_1', provider: 'anthropic', model: 'claude-sonnet-4', counted: true }],
    cstScopes: ['proxy:call', 'pullrequest:write'],
    attestedCommit: COMMITS[1],
    ...overrides,
  };
}
