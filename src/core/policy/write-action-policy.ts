import type { Check } from '../check';
import { evaluateWpc, type EnginePolicy } from './evaluate-wpc';
import type { ChangeSet, IdentityRole, WriteAction } from './change-set';

/**
 * Was a write action an agent identity took allowed? Decided by the engine's own policy semantics
 * (docs/policy.md): a ChangeSet with that `action` goes through `evaluatePolicy`, and only the clauses
 * about the action itself count — `repos_allowlist` and `write.allow`/`write.deny` (deny wins, an
 * action in neither list is not allowed). A read identity taking a write action is refused as the
 * profile refuses it (AGENT_ROLE_INSUFFICIENT). No WPC for the repository fails closed.
 */

export interface WriteActionDecision {
  denied: boolean;
  /** The first failing check's code, `OK` when allowed. */
  reasonCode: string;
  /** The failing checks (empty when allowed). */
  checks: Check[];
}

const ACTION_RULES = new Set<string>(['policy.repos_allowlist', 'policy.write_actions']);

export function judgeWriteAction(
  policy: EnginePolicy | undefined,
  input: {
    workspace: string;
    repoSlug: string;
    repoFullName: string;
    action: WriteAction;
    actor: { accountId: string; role: IdentityRole; displayName?: string };
  },
): WriteActionDecision {
  const failing: Check[] = [];
  if (input.actor.role !== 'write') {
    failing.push({
      rule: 'profile.agent_identity',
      outcome: 'fail',
      code: 'AGENT_ROLE_INSUFFICIENT',
      subject: { kind: 'actor', id: input.actor.accountId },
      evidence: { role: input.actor.role, action: input.action },
    });
  }
  if (policy === undefined) {
    failing.push({
      rule: 'system.evidence',
      outcome: 'fail',
      code: 'WPC_NOT_ASSIGNED',
      subject: { kind: 'repository', id: input.repoFullName },
    });
  } else {
    const change: ChangeSet = {
      workspace: input.workspace,
      repoSlug: input.repoSlug,
      repoFullName: input.repoFullName,
      action: input.action,
      actor: {
        accountId: input.actor.accountId,
        ...(input.actor.displayName !== undefined ? { displayName: input.actor.displayName } : {}),
        agentIdentity: { role: input.actor.role },
      },
      files: [],
      commits: [],
      approvals: [],
    };
    // Any form: for an official v2 WPC the statements decide `bitbucket:<action>` too.
    const checks = evaluateWpc(policy, change, { bundlePresent: false, gatewayReceipts: [] });
    failing.push(...checks.filter((c) => ACTION_RULES.has(c.rule) && c.outcome === 'fail'));
  }
  return { denied: failing.length > 0, reasonCode: failing[0]?.code ?? 'OK', checks: failing };
}
