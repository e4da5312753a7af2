import type { Check } from '../check';
import type { IdentityRole } from './change-set';
import type { WriteActionDecision } from './write-action-policy';

/**
 * An agent identity writing a `clawgate` build status (issue 9, forged statuses). No WPC can allow
 * it: the status is clawgate's verdict on the agent's own work, so an agent that writes one is
 * forging its gate, whatever its role. Always denied, with its own code.
 */
export function judgeStatusForgery(
  actor: { accountId: string; role: IdentityRole },
  forged: { state: string | null; commit: string },
): WriteActionDecision {
  const check: Check = {
    rule: 'profile.agent_identity',
    outcome: 'fail',
    code: 'STATUS_FORGED',
    subject: { kind: 'actor', id: actor.accountId },
    evidence: { role: actor.role, forged_state: forged.state, commit: forged.commit },
  };
  return { denied: true, reasonCode: 'STATUS_FORGED', checks: [check] };
}
