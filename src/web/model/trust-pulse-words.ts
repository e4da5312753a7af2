import type { LozengeAppearance } from './words';

/** Words for the Trust Pulse (issue 12): a self-reported summary, never cryptographic evidence. */
export const TRUST_PULSE_STATUS: Record<
  'verified' | 'unverified' | 'absent',
  { text: string; appearance: LozengeAppearance; explanation: string }
> = {
  verified: {
    text: 'bound to the run',
    appearance: 'success',
    explanation:
      "The pulse is the one the agent's signed run manifest names. Its content is still only what the harness reported: it never raises the proof tier.",
  },
  unverified: {
    text: 'unverified',
    appearance: 'moved',
    explanation:
      "The pulse is not bound to the signed run (or does not match trust_pulse.v1). It is shown as the harness's claim only.",
  },
  absent: { text: 'none', appearance: 'default', explanation: "The agent's harness supplied no Trust Pulse." },
};

const PROBLEM_TEXT: Record<string, string> = {
  TRUST_PULSE_TOO_LARGE: 'the pulse is larger than 64 KiB',
  TRUST_PULSE_UNREADABLE: 'the pulse is not JSON',
  TRUST_PULSE_SCHEMA_INVALID: 'the pulse does not match trust_pulse.v1',
  TRUST_PULSE_URM_MISSING: 'no run manifest (URM) came with the bundle',
  TRUST_PULSE_URM_NOT_BOUND: 'the run manifest is not the one the signed bundle names',
  TRUST_PULSE_NOT_IN_URM: 'the run manifest does not name a Trust Pulse',
  TRUST_PULSE_HASH_MISMATCH: 'the pulse is not the one the run manifest names (it was changed)',
  TRUST_PULSE_RUN_MISMATCH: 'the pulse belongs to another run or agent',
  TRUST_PULSE_BUNDLE_NOT_VERIFIED: 'the proof bundle itself did not verify',
};

export function trustPulseProblemText(code: string | null | undefined): string | null {
  if (code === null || code === undefined) return null;
  return PROBLEM_TEXT[code] ?? code;
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return 'not reported';
  if (ms < 1000) return `${ms} ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${seconds % 60} s`;
}
