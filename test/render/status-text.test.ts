import { REASON_CODES, type ReasonCode } from '../../src/core/reason-codes';
import { buildStatusFor, evaluate, failedStatusFor, type Mode, type Verdict } from '../../src/core/verdict';
import { REASON_TEXT } from '../../src/render/explanations';
import {
  clip,
  DESCRIPTION_MAX,
  evaluationErrorDescription,
  incidentDescription,
  NO_VERDICT_DESCRIPTION,
  statusDescription,
  storedIncidentDescription,
  storedVerdictDescription,
} from '../../src/render/status-text';

/** A real verdict from the engine: no bundle for a non-PR verification fails BUNDLE_NOT_FOUND. */
function failingVerdict(mode: Mode): Verdict {
  return evaluate({
    nowMs: Date.UTC(2026, 0, 1),
    profile: 'clawgate',
    settings: { mode, trustedGateways: [], cstIssuers: [] },
  });
}

describe('status texts', () => {
  test('a failing verdict names its reason code and words, prefixed by its mode unless enforced', () => {
    const enforced = failingVerdict('enforce');
    expect(enforced.state).toBe('FAIL');
    expect(statusDescription(enforced)).toBe(`BUNDLE_NOT_FOUND: ${REASON_TEXT.BUNDLE_NOT_FOUND}`);
    expect(statusDescription(failingVerdict('warn'))).toBe(`warn: BUNDLE_NOT_FOUND: ${REASON_TEXT.BUNDLE_NOT_FOUND}`);
    expect(statusDescription(failingVerdict('observe'))).toMatch(/^observe: BUNDLE_NOT_FOUND: /);
  });

  test('pending, passing and not-applicable verdicts say so', () => {
    const base = failingVerdict('enforce');
    expect(statusDescription({ ...base, state: 'PENDING', reasonCode: 'APPROVAL_REQUIRED' })).toBe(
      `waiting: ${REASON_TEXT.APPROVAL_REQUIRED}`,
    );
    const passing: Verdict = {
      ...base,
      state: 'PASS',
      reasonCode: 'OK',
      checks: [
        { rule: 'policy.wpc', outcome: 'pass', code: 'OK' },
        { rule: 'policy.wpc', outcome: 'pass', code: 'OK' },
        { rule: 'policy.paths', outcome: 'pass', code: 'OK' },
      ],
    };
    expect(statusDescription(passing)).toBe('verified: all 2 criteria hold');
    expect(statusDescription({ ...base, state: 'NOT_APPLICABLE', reasonCode: 'NOT_AN_AGENT_PR' })).toBe(
      'Not an agent pull request',
    );
  });

  test('every reason code fits a status description (clipped to what Bitbucket shows)', () => {
    const base = failingVerdict('observe');
    for (const code of Object.keys(REASON_CODES) as ReasonCode[]) {
      const text = statusDescription({ ...base, reasonCode: code });
      expect(text.length).toBeLessThanOrEqual(DESCRIPTION_MAX);
      expect(text.startsWith(`observe: ${code}`)).toBe(true);
    }
  });

  test('clip keeps short text and ends long text with an ellipsis at the limit', () => {
    expect(clip('short', 10)).toBe('short');
    expect(clip('x'.repeat(11), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(clip('x'.repeat(10), 10)).toBe('x'.repeat(10));
  });

  test('incident, error and no-verdict descriptions', () => {
    expect(incidentDescription('enforce', 'merge_pr', 'bot merged pull request #3')).toBe(
      'INCIDENT merge_pr: bot merged pull request #3',
    );
    expect(incidentDescription('warn', 'delete_branch', 'x'.repeat(300))).toHaveLength(DESCRIPTION_MAX);
    expect(evaluationErrorDescription('enforce')).toBe('CLAWGATE_ERROR: clawgate could not complete the evaluation');
    expect(evaluationErrorDescription('observe')).toBe('observe: clawgate could not complete the evaluation');
    expect(NO_VERDICT_DESCRIPTION).toBe('no clawgate verdict for this commit');
    expect(storedVerdictDescription('enforce', 'FAIL', 'REPLAY')).toBe('FAIL: REPLAY');
    expect(storedVerdictDescription('warn', 'FAIL', undefined)).toBe('warn: FAIL: verdict');
    expect(storedIncidentDescription('comment_pr')).toBe('INCIDENT comment_pr');
  });
});

describe('one build status rule for verdicts, incidents and clawgate errors', () => {
  test.each(['observe', 'warn', 'enforce'] as const)('%s', (mode) => {
    expect(failedStatusFor(mode)).toBe(buildStatusFor('FAIL', mode));
    expect(failingVerdict(mode).statusState).toBe(failedStatusFor(mode));
  });
  test('only enforce fails the build; pending is in progress', () => {
    expect(failedStatusFor('enforce')).toBe('FAILED');
    expect(failedStatusFor('warn')).toBe('SUCCESSFUL');
    expect(buildStatusFor('PENDING', 'observe')).toBe('INPROGRESS');
  });
});
