import type { WriteAction } from '../core/policy/change-set';
import type { Mode, Verdict } from '../core/verdict';
import { REASON_TEXT } from './explanations';

/**
 * The words of clawgate's `clawgate` build status: what the pipeline publishes for a verdict, while
 * it verifies, when it fails, for an incident and for a commit without a verdict. The pipeline only
 * chooses which; the words live here.
 */

/** Bitbucket shows about this many characters of a status description. */
export const DESCRIPTION_MAX = 140;

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** observe and warn say so in front of every description; enforce says nothing. */
function modePrefix(mode: Mode): string {
  return mode === 'enforce' ? '' : `${mode}: `;
}

/** A short description naming the first failing reason. */
export function statusDescription(verdict: Verdict): string {
  const prefix = modePrefix(verdict.mode);
  switch (verdict.state) {
    case 'PASS':
      return clip(
        `${prefix}verified: all ${new Set(verdict.checks.filter((c) => c.outcome === 'pass').map((c) => c.rule)).size} criteria hold`,
        DESCRIPTION_MAX,
      );
    case 'PENDING':
      return clip(`${prefix}waiting: ${REASON_TEXT[verdict.reasonCode]}`, DESCRIPTION_MAX);
    case 'NOT_APPLICABLE':
      return 'Not an agent pull request';
    default:
      return clip(`${prefix}${verdict.reasonCode}: ${REASON_TEXT[verdict.reasonCode]}`, DESCRIPTION_MAX);
  }
}

/** While an evaluation runs. */
export const IN_PROGRESS_DESCRIPTION = 'clawgate is verifying the proof bundle';

/** When clawgate itself could not finish an evaluation (FAILED in enforce mode). */
export function evaluationErrorDescription(mode: Mode): string {
  return mode === 'enforce'
    ? 'CLAWGATE_ERROR: clawgate could not complete the evaluation'
    : `${mode}: clawgate could not complete the evaluation`;
}

/** `HH:MM UTC` of a time in ms (the resume time of a deferred evaluation). */
function utcMinute(atMs: number): string {
  return `${new Date(atMs).toISOString().slice(11, 16)} UTC`;
}

/**
 * An evaluation deferred until Bitbucket API budget returns (INPROGRESS, or FAILED in enforce when
 * INPROGRESS could not be written): it says so and when it resumes.
 */
export function budgetWaitDescription(mode: Mode, state: 'INPROGRESS' | 'FAILED', resumeAtMs: number): string {
  const wait = `waiting for Bitbucket API budget; the evaluation resumes about ${utcMinute(resumeAtMs)}`;
  if (state === 'INPROGRESS') return clip(`clawgate is ${wait}`, DESCRIPTION_MAX);
  return clip(`${mode === 'enforce' ? 'CLAWGATE_ERROR' : mode}: ${wait}`, DESCRIPTION_MAX);
}

/** A commit clawgate has no record for (the forged-status defence writes it). */
export const NO_VERDICT_DESCRIPTION = 'no clawgate verdict for this commit';

/** A stored evaluation whose verdict JSON lost its description: state and reason code. */
export function storedVerdictDescription(mode: string, state: string, reasonCode: string | undefined): string {
  return `${mode === 'enforce' ? '' : `${mode}: `}${state}: ${reasonCode ?? 'verdict'}`;
}

/** An agent's write action the WPC denies; `detail` says who did what where. */
export function incidentDescription(mode: Mode, action: WriteAction | 'forge_status', detail: string): string {
  return clip(`${modePrefix(mode)}INCIDENT ${action}: ${detail}`, DESCRIPTION_MAX);
}

/** An incident without its stored description (older records). */
export function storedIncidentDescription(action: string): string {
  return `INCIDENT ${action}`;
}
