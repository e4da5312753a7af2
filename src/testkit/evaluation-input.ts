import { parseWpcDocument } from '../core/policy';
import type { EvaluationInput } from '../core/verdict';
import type { Scenario } from './produce';

/**
 * The engine input for a produced scenario: enforce mode trusting the scenario's gateway and CST
 * issuer, its WPC, and an agent PR whose first commit is the attested work commit and whose head adds
 * the bundle file. The scenario must have been made for `workspace/repoSlug` and `workCommit`.
 */
export function scenarioEvaluationInput(
  scenario: Scenario,
  options: { workspace: string; repoSlug: string; workCommit: string; nowMs: number; pullRequestId?: number },
): EvaluationInput {
  // Any WPC form (the Bitbucket shape, official v1 or v2).
  const wpc = parseWpcDocument(scenario.wpc);
  if (!wpc.ok) throw new Error(`scenario WPC invalid: ${wpc.issues.map((i) => i.path).join(', ')}`);
  const head = 'b'.repeat(40);
  return {
    nowMs: options.nowMs,
    profile: 'clawgate',
    settings: {
      mode: 'enforce',
      trustedGateways: [{ did: scenario.gateway.did }],
      cstIssuers: [{ publicKeyB64u: scenario.issuer.publicKeyB64u }],
    },
    bundle: scenario.bundle.envelope,
    policy: { wpc: wpc.policy.wpc, hash: wpc.policy.policyHashB64u, official: wpc.policy.official },
    change: {
      workspace: options.workspace,
      repoSlug: options.repoSlug,
      repoFullName: `${options.workspace}/${options.repoSlug}`,
      action: 'create_pr',
      actor: { accountId: '{agent}', agentIdentity: { role: 'write', agentDid: scenario.agent.did } },
      pullRequest: {
        id: options.pullRequestId ?? 1,
        sourceBranch: 'agent/change',
        destinationBranch: 'main',
        headCommit: head,
      },
      files: [{ status: 'modified', path: 'src/a.ts' }],
      commits: [
        { hash: options.workCommit, paths: ['src/a.ts'] },
        { hash: head, paths: ['.clawsig/proof_bundle.json'] },
      ],
      approvals: [],
    },
  };
}
