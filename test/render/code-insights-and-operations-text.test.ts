import { annotationInputSchema, reportInputSchema } from '../../src/bitbucket/request-bodies';
import type { Check } from '../../src/core/check';
import { verifyAndEvaluate, type Verdict } from '../../src/core/verdict';
import { annotationFor, reportFor, REPORT_TITLE } from '../../src/render/code-insights';
import { REASON_TEXT, RULE_TEXT } from '../../src/render/explanations';
import { accountName, incidentDetail, recheckAcknowledgement } from '../../src/render/operations-text';
import { makeScenario, scenarioEvaluationInput } from '../../src/testkit';

const WORK = 'a'.repeat(40);
const DETAILS = 'https://clawgate.example/connect/details/1';

async function passing(): Promise<Verdict> {
  const s = makeScenario({
    workspace: 'acme',
    repoSlug: 'proj-web',
    commit: WORK,
    receipts: 2,
    provider: 'anthropic',
    model: 'claude-sonnet-4',
  });
  return verifyAndEvaluate(
    scenarioEvaluationInput(s, {
      workspace: 'acme',
      repoSlug: 'proj-web',
      workCommit: WORK,
      nowMs: Date.UTC(2026, 10, 25, 13, 0, 0),
    }),
  );
}

describe('the Code Insights report', () => {
  it('a passing verdict: PASSED, its facts, and a body Bitbucket accepts', async () => {
    const verdict = await passing();
    expect(verdict.state).toBe('PASS');
    const report = reportFor(verdict, DETAILS);
    expect(reportInputSchema.safeParse(report).success).toBe(true);
    expect(report).toMatchObject({
      title: REPORT_TITLE,
      result: 'PASSED',
      link: DETAILS,
      details: expect.stringMatching(/verified/),
    });
    const datum = (title: string) => report.data.find((d) => d.title === title)?.value;
    expect(datum('Verdict')).toBe('PASS (enforce)');
    expect(datum('Agent')).toBe(verdict.proof?.agentDid);
    expect(datum('Gateway receipts')).toBe(2);
    expect(datum('Trusted receipts')).toBe(2);
    expect(datum('Models')).toBe('anthropic/claude-sonnet-4');
    expect(datum('Details')).toEqual({ text: 'clawgate verdict', href: DETAILS });
  });

  it('a failing verdict names its reason; a pending one is PENDING; absent facts read "none"', async () => {
    const verdict = await passing();
    const failed = reportFor(
      { ...verdict, state: 'FAIL', reasonCode: 'PATH_DENIED', proof: undefined, policy: undefined },
      DETAILS,
    );
    expect(failed.result).toBe('FAILED');
    expect(failed.details).toBe(`PATH_DENIED: ${REASON_TEXT.PATH_DENIED}`);
    expect(failed.data.find((d) => d.title === 'Agent')?.value).toBe('none');
    expect(failed.data.find((d) => d.title === 'Policy hash')?.value).toBe('none');
    expect(reportFor({ ...verdict, state: 'PENDING', reasonCode: 'APPROVAL_REQUIRED' }, DETAILS).result).toBe(
      'PENDING',
    );
  });
});

describe('annotations', () => {
  const denied: Check = {
    rule: 'policy.paths',
    outcome: 'fail',
    code: 'PATH_DENIED',
    subject: { kind: 'file', id: 'bitbucket-pipelines.yml' },
    evidence: { glob: '**/bitbucket-pipelines.yml' },
  };
  const replay: Check = {
    rule: 'profile.anti_replay',
    outcome: 'fail',
    code: 'REPLAY',
    subject: { kind: 'bundle', id: 'bundle_1' },
  };
  const other: Check = {
    rule: 'profile.cst_signature',
    outcome: 'fail',
    code: 'CST_SIGNATURE_INVALID',
    subject: { kind: 'token' },
  };

  it('a denied file: on the file, with the glob, HIGH, and a body Bitbucket accepts', () => {
    const a = annotationFor(denied);
    expect(annotationInputSchema.safeParse(a).success).toBe(true);
    expect(a).toMatchObject({
      path: 'bitbucket-pipelines.yml',
      severity: 'HIGH',
      result: 'FAILED',
      summary: `PATH_DENIED: ${REASON_TEXT.PATH_DENIED} (**/bitbucket-pipelines.yml)`,
      details: `Criterion: ${RULE_TEXT['policy.paths']}`,
    });
  });

  it('a subject that is not a file is named in the summary; replays are HIGH, the rest MEDIUM', () => {
    expect(annotationFor(replay)).toMatchObject({
      severity: 'HIGH',
      summary: `REPLAY: ${REASON_TEXT.REPLAY} — bundle bundle_1`,
    });
    expect(annotationFor(replay).path).toBeUndefined();
    expect(annotationFor(other).severity).toBe('MEDIUM');
  });

  it('the external id is stable for the same problem and differs between problems', () => {
    expect(annotationFor(denied).external_id).toBe(annotationFor({ ...denied }).external_id);
    expect(annotationFor(denied).external_id).not.toBe(
      annotationFor({ ...denied, subject: { kind: 'file', id: 'other.yml' } }).external_id,
    );
    expect(annotationFor(denied).external_id).toMatch(/^clawgate-[A-Za-z0-9_-]{24}$/);
  });

  it('a long subject is clipped to what Bitbucket keeps', () => {
    expect(
      annotationFor({ ...replay, subject: { kind: 'bundle', id: 'x'.repeat(5000) } }).summary.length,
    ).toBeLessThanOrEqual(450);
  });
});

describe('operations texts', () => {
  it('an account is named by display name, else uuid, else as unknown', () => {
    expect(accountName({ displayName: 'Ada', uuid: '{u}' })).toBe('Ada');
    expect(accountName({ uuid: '{u}' })).toBe('{u}');
    expect(accountName({})).toBe('an unknown account');
  });

  it('each incident says who did what, where', () => {
    expect(incidentDetail({ action: 'delete_branch', who: 'bot', branch: 'main' })).toBe('bot deleted branch main');
    expect(incidentDetail({ action: 'direct_push_main', who: 'bot', commit: 'c'.repeat(40), branch: 'main' })).toBe(
      `bot pushed ${'c'.repeat(12)} to main`,
    );
    expect(incidentDetail({ action: 'merge_pr', who: 'bot', prId: 4, destinationBranch: 'main' })).toBe(
      'bot merged pull request #4 into main',
    );
    expect(incidentDetail({ action: 'merge_pr', who: 'bot', prId: 4, destinationBranch: null })).toBe(
      'bot merged pull request #4',
    );
    expect(incidentDetail({ action: 'comment_pr', who: 'bot', prId: 4 })).toBe('bot commented on pull request #4');
  });

  it('the re-check reply names the requester and never reads as a command itself', () => {
    const reply = recheckAcknowledgement('/clawgate recheck');
    expect(reply).toContain('requested by /clawgate recheck');
    expect(reply.split('\n').some((line) => line.trim() === '/clawgate recheck')).toBe(false);
    expect(reply.startsWith('clawgate:')).toBe(true);
  });
});
