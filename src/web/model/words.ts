import { REASON_TEXT, RULE_TEXT } from '../../render/explanations';
import type { CheckView, VerdictView } from '../client/api-schemas';

/**
 * The words of the pages for verdicts, checks and files. Rules and reason codes are worded once, in
 * src/render/explanations.ts (the CLI and reports use the same text); this only adds page phrasing.
 */

export type LozengeAppearance = 'default' | 'success' | 'removed' | 'inprogress' | 'new' | 'moved';

function hasKey<T extends object>(table: T, key: string): key is Extract<keyof T, string> {
  return Object.prototype.hasOwnProperty.call(table, key);
}

export function ruleText(rule: string): string {
  return hasKey(RULE_TEXT, rule) ? RULE_TEXT[rule] : rule;
}

export function reasonText(code: string): string {
  return hasKey(REASON_TEXT, code) ? REASON_TEXT[code] : code;
}

export type VerdictState = VerdictView['state'];
export type Mode = VerdictView['mode'];

export function verdictLabel(state: VerdictState, mode: Mode | string): string {
  switch (state) {
    case 'PASS':
      return 'Passed';
    case 'PENDING':
      return 'Waiting';
    case 'NOT_APPLICABLE':
      return 'Not an agent PR';
    case 'FAIL':
      return mode === 'enforce' ? 'Failed' : `Failed (${mode}: not blocking)`;
  }
}

export function verdictAppearance(state: VerdictState, mode: Mode | string): LozengeAppearance {
  switch (state) {
    case 'PASS':
      return 'success';
    case 'PENDING':
      return 'inprogress';
    case 'NOT_APPLICABLE':
      return 'default';
    case 'FAIL':
      return mode === 'enforce' ? 'removed' : 'moved';
  }
}

export const MODE_TEXT: Record<Mode, string> = {
  observe: 'Observe: verdicts are recorded and shown; the build status always passes.',
  warn: 'Warn: failures are reported on the PR; the build status still passes.',
  enforce: 'Enforce: a failing verdict sets the build status to FAILED.',
};

export function outcomeLabel(outcome: CheckView['outcome']): { text: string; appearance: LozengeAppearance } {
  switch (outcome) {
    case 'pass':
      return { text: 'holds', appearance: 'success' };
    case 'fail':
      return { text: 'fails', appearance: 'removed' };
    case 'pending':
      return { text: 'waiting', appearance: 'inprogress' };
    case 'skip':
      return { text: 'not applied', appearance: 'default' };
  }
}

const SUBJECT_KIND_TEXT: Record<string, string> = {
  bundle: 'proof bundle',
  envelope: 'bundle envelope',
  event: 'event',
  gateway_receipt: 'model-call receipt',
  tool_receipt: 'tool receipt',
  side_effect_receipt: 'side-effect receipt',
  human_approval_receipt: 'approval receipt',
  rate_limit_claim: 'rate-limit claim',
  token: 'scoped token',
  policy: 'policy',
  file: 'file',
  commit: 'commit',
  pull_request: 'pull request',
  repository: 'repository',
  actor: 'account',
  action: 'action',
  workspace: 'workspace',
};

/** What a check is about, e.g. "file bitbucket-pipelines.yml" or "model-call receipt rcpt_1". */
export function subjectText(subject: CheckView['subject']): string | null {
  if (subject === undefined) return null;
  const kind = SUBJECT_KIND_TEXT[subject.kind] ?? subject.kind;
  const id = subject.id !== undefined && subject.id !== '' ? ` ${subject.id}` : '';
  const where = subject.path !== undefined && subject.path !== '' ? ` (at ${subject.path})` : '';
  return `${kind}${id}${where}`;
}

/** The scalar evidence of a check as "name: value" pairs (objects are left to the JSON download). */
export function evidencePairs(evidence: CheckView['evidence']): [string, string][] {
  if (evidence === undefined) return [];
  const pairs: [string, string][] = [];
  for (const [key, value] of Object.entries(evidence)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      pairs.push([key, String(value)]);
    else if (
      Array.isArray(value) &&
      value.length <= 10 &&
      value.every((item) => typeof item === 'string' || typeof item === 'number')
    )
      pairs.push([key, value.join(', ')]);
  }
  return pairs;
}

export const PROVENANCE_TEXT: Record<string, { text: string; appearance: LozengeAppearance; explanation: string }> = {
  attested: {
    text: 'attested by the agent',
    appearance: 'success',
    explanation: 'Last changed by the commit the agent’s proof bundle vouches for.',
  },
  changed_after_attestation: {
    text: 'changed after attestation',
    appearance: 'moved',
    explanation:
      'Changed again by a later commit a registered human wrote and pushed (an agent or unknown account doing so fails the PR); still checked against the path rules.',
  },
  unattested: {
    text: 'not attested',
    appearance: 'default',
    explanation: 'No attested agent commit covers this file.',
  },
};

export function provenanceOf(provenance: string): { text: string; appearance: LozengeAppearance; explanation: string } {
  return PROVENANCE_TEXT[provenance] ?? { text: provenance, appearance: 'default', explanation: '' };
}

/** Failing checks first, then waiting ones, then the rest; the engine's order inside each group. */
export function failingFirst(checks: readonly CheckView[]): CheckView[] {
  const rank = { fail: 0, pending: 1, pass: 2, skip: 3 } as const;
  return checks
    .map((check, index) => ({ check, index }))
    .sort((a, b) => rank[a.check.outcome] - rank[b.check.outcome] || a.index - b.index)
    .map((entry) => entry.check);
}

/** `did:key:z6MkhaX…q7Z` — enough to tell keys apart; the full value goes in a title. */
export function shortId(value: string, keep = 10): string {
  return value.length <= keep * 2 + 3 ? value : `${value.slice(0, keep + 8)}…${value.slice(-keep)}`;
}

export function formatTime(value: string | number | Date | undefined | null): string {
  if (value === undefined || value === null) return '—';
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, ' UTC');
}

/** Why a PR counts as agent work (issue 9), one sentence per reason the engine gave. */
export function agentWorkText(reason: {
  kind: string;
  accountId?: string | undefined;
  commit?: string | undefined;
}): string {
  const commit = reason.commit ? ` ${reason.commit.slice(0, 12)}` : '';
  const account = reason.accountId ? ` (${reason.accountId})` : '';
  switch (reason.kind) {
    case 'pr_author':
      return `The pull request was opened by a registered agent identity${account}.`;
    case 'commit_author':
      return `Commit${commit} was written by a registered agent identity${account}.`;
    case 'commit_pusher':
      return `Commit${commit} was pushed by a registered agent identity${account}, whoever its git author says.`;
    case 'bundle_declared':
      return 'The pull request names a proof bundle (Proof-Bundle: line).';
    case 'bundle_found':
      return 'The pull request carries a proof bundle.';
    case 'too_large':
      return 'The pull request is too large to read completely, so it cannot be shown to be human work.';
    case 'bundle_unreadable':
      return 'The pull request carries a bundle that could not be read.';
    default:
      return reason.kind;
  }
}
