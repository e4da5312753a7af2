/**
 * The words of the operations side (src/pipeline/operations/): what an incident says happened, and
 * clawgate's reply to a `/clawgate recheck` comment. The pipeline passes facts; the sentences are
 * made here.
 */

/** An account as the texts name it: its display name, else its uuid, else that it is unknown. */
export function accountName(actor: { displayName?: string | null; uuid?: string | null }): string {
  return actor.displayName ?? actor.uuid ?? 'an unknown account';
}

/** What an agent did, in one line (an incident's `detail`, kept in its audit event). */
export type IncidentDetailFacts =
  | { action: 'delete_branch'; who: string; branch: string }
  | { action: 'direct_push_main'; who: string; commit: string; branch: string }
  | { action: 'merge_pr'; who: string; prId: number; destinationBranch: string | null }
  | { action: 'comment_pr'; who: string; prId: number }
  | { action: 'forge_status'; who: string; commit: string; state: string | null };

export function incidentDetail(facts: IncidentDetailFacts): string {
  switch (facts.action) {
    case 'delete_branch':
      return `${facts.who} deleted branch ${facts.branch}`;
    case 'direct_push_main':
      return `${facts.who} pushed ${facts.commit.slice(0, 12)} to ${facts.branch}`;
    case 'merge_pr':
      return `${facts.who} merged pull request #${facts.prId}${facts.destinationBranch ? ` into ${facts.destinationBranch}` : ''}`;
    case 'comment_pr':
      return `${facts.who} commented on pull request #${facts.prId}`;
    case 'forge_status':
      return `${facts.who} wrote a clawgate status${facts.state ? ` (${facts.state})` : ''} on ${facts.commit.slice(0, 12)}`;
  }
}

/**
 * clawgate's reply to an accepted re-check comment. It quotes no command and never puts one alone on
 * a line, so the reply cannot itself read as a `/clawgate recheck`.
 */
export function recheckAcknowledgement(who: string): string {
  return `clawgate: re-check requested by ${who}; the verdict on this pull request will be updated shortly.`;
}
