import { computeTokenScopeHash } from '../../../src/core/clawsig/scoped-token';
import type { BitbucketSandbox } from '../../../src/sandbox';
import { makeCstClaims, makeProofBundle, signCst, wpcHash } from '../../../src/testkit';
import type { Workspace } from '../../e2e/harness';

/**
 * An agent PR whose bundle has every kind of receipt the panel's timeline shows: model calls (gateway
 * receipts), tool calls and a side effect — otherwise built like the e2e harness's scenario (a CST
 * pinned to the workspace's WPC, the bundle bound to the work commit).
 */
export function openAgentPullRequestWithTools(
  sandbox: BitbucketSandbox,
  ws: Workspace,
  branch: string,
  files: Record<string, string>,
): { prId: number; head: string; bundleId: string } {
  const work = sandbox.commit('acme/proj-web', { branch, author: 'claw-bot', message: 'agent work with tools', files });
  const start = Date.now() - 60_000;
  const policyHash = wpcHash(ws.wpc);
  const iat = Math.floor(start / 1000) - 60;
  const claims = makeCstClaims({
    sub: ws.keys.agent.did,
    policyHash,
    missionId: 'acme/proj-web',
    iat,
    exp: iat + 3600,
  });
  const bundle = makeProofBundle({
    agent: ws.keys.agent,
    gateway: ws.keys.gateway,
    receipts: 1,
    policyHash,
    tokenScopeHash: computeTokenScopeHash(claims),
    startMs: start,
    toolReceipts: 2,
    sideEffects: [{ effectClass: 'network_egress', target: 'https://registry.npmjs.org/left-pad' }],
    metadata: {
      bitbucket: { workspace: 'acme', repo_slug: 'proj-web', commit: work.hash, branch },
      scoped_token: signCst(claims, ws.keys.issuer),
    },
  });
  const withBundle = sandbox.commit('acme/proj-web', {
    branch,
    author: 'claw-bot',
    message: 'proof bundle',
    files: { '.clawsig/proof_bundle.json': JSON.stringify(bundle.envelope) },
  });
  const pr = sandbox.openPullRequest('acme/proj-web', {
    source: branch,
    author: 'claw-bot',
    title: branch,
    description: `Proof-Bundle: ${bundle.bundleId}`,
  });
  return { prId: pr.id, head: withBundle.hash, bundleId: bundle.bundleId };
}
