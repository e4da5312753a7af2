import { agentWorkReasons } from '../../../src/core/verdict';
import { evaluatePolicy, proofCoverageChecks } from '../../../src/core/policy';
import type { ChangeCommit } from '../../../src/core/policy/change-set';
import { AGENT_WRITE, COMMITS, compliantChange, compliantFacts, HUMAN, seedWpc } from './policy-fixtures';

/** Issue 9 in the engine: what the proof covers, which approvals count, why a PR is agent work. */

const LATER = '4'.repeat(40);
const withLater = (later: ChangeCommit) =>
  compliantChange({
    commits: [{ hash: COMMITS[0], paths: ['src/app.ts'] }, { hash: COMMITS[1], paths: ['docs/guide.md'] }, later],
  });

describe('the proof must cover the head', () => {
  test('a later commit written or pushed by an agent, or by an unknown account, fails CHANGED_AFTER_ATTESTATION', () => {
    for (const [author, pushedBy] of [
      ['agent', 'human'],
      ['human', 'agent'],
      ['unknown', 'human'],
      ['human', 'unknown'],
    ] as const) {
      const checks = proofCoverageChecks(
        withLater({ hash: LATER, paths: ['src/app.ts'], author, pushedBy }),
        COMMITS[1],
      );
      expect(checks).toEqual([
        expect.objectContaining({
          rule: 'profile.proof_covers_head',
          outcome: 'fail',
          code: 'CHANGED_AFTER_ATTESTATION',
          subject: { kind: 'commit', id: LATER },
        }),
      ]);
    }
  });

  test("a later commit of only the bundle's own files, or by a human, passes", () => {
    expect(
      proofCoverageChecks(
        withLater({ hash: LATER, paths: ['.clawsig/proof_bundle.json'], author: 'agent', pushedBy: 'agent' }),
        COMMITS[1],
      )[0]?.outcome,
    ).toBe('pass');
    expect(
      proofCoverageChecks(
        withLater({ hash: LATER, paths: ['.clawsig/bundles/b1.json'], author: 'agent', pushedBy: 'agent' }),
        COMMITS[1],
      )[0]?.outcome,
    ).toBe('pass');
    expect(
      proofCoverageChecks(
        withLater({ hash: LATER, paths: ['src/app.ts'], author: 'human', pushedBy: 'human' }),
        COMMITS[1],
      )[0],
    ).toMatchObject({ outcome: 'pass', evidence: { human_commits_after_attestation: 1 } });
  });

  test("the harness layout's bundle, URM and pulse count as the bundle's own files; another run's bundle does not", () => {
    const own = [
      'artifacts/poh/agent/run_1-bundle.json',
      'artifacts/poh/agent/run_1-urm.json',
      'artifacts/poh/agent/run_1-trust-pulse.json',
    ];
    expect(
      proofCoverageChecks(
        withLater({ hash: LATER, paths: own, author: 'agent', pushedBy: 'agent' }),
        COMMITS[1],
        own,
      )[0]?.outcome,
    ).toBe('pass');
    expect(
      proofCoverageChecks(withLater({ hash: LATER, paths: own, author: 'agent', pushedBy: 'agent' }), COMMITS[1])[0]
        ?.outcome,
    ).toBe('fail');
    expect(
      proofCoverageChecks(
        withLater({
          hash: LATER,
          paths: [...own, 'artifacts/poh/agent/run_2-bundle.json'],
          author: 'agent',
          pushedBy: 'agent',
        }),
        COMMITS[1],
        own,
      )[0]?.outcome,
    ).toBe('fail');
  });

  test('unknown paths, or a bundle file next to other files, do not count as the bundle', () => {
    expect(
      proofCoverageChecks(withLater({ hash: LATER, author: 'agent', pushedBy: 'agent' }), COMMITS[1])[0]?.outcome,
    ).toBe('fail');
    expect(
      proofCoverageChecks(
        withLater({
          hash: LATER,
          paths: ['.clawsig/proof_bundle.json', 'src/x.ts'],
          author: 'agent',
          pushedBy: 'agent',
        }),
        COMMITS[1],
      )[0]?.outcome,
    ).toBe('fail');
  });
});

describe('approvals count only after the head was pushed', () => {
  const approvalOutcome = (approvalAtMs: number | undefined, headPushedAtMs: number | null | undefined) => {
    const change = compliantChange({
      pullRequest: {
        id: 7,
        sourceBranch: 'a',
        destinationBranch: 'main',
        headCommit: COMMITS[1],
        ...(headPushedAtMs !== undefined ? { headPushedAtMs } : {}),
      },
      approvals: [
        { accountId: HUMAN, isAgentIdentity: false, ...(approvalAtMs !== undefined ? { atMs: approvalAtMs } : {}) },
      ],
    });
    return evaluatePolicy(seedWpc(), change, compliantFacts()).find((c) => c.rule === 'policy.approval')?.outcome;
  };
  test('after the push: counts; before it, or push time unknown: pending; no push facts (CLI): counts', () => {
    expect(approvalOutcome(2_000, 1_000)).toBe('pass');
    expect(approvalOutcome(500, 1_000)).toBe('pending');
    expect(approvalOutcome(2_000, null)).toBe('pending');
    expect(approvalOutcome(undefined, 1_000)).toBe('pending');
    expect(approvalOutcome(undefined, undefined)).toBe('pass');
  });
});

describe('agent work by provenance', () => {
  test('a human-opened PR with an agent-pushed commit is agent work, and says so', () => {
    const change = compliantChange({
      actor: { accountId: HUMAN },
      commits: [{ hash: COMMITS[0], paths: ['a'], author: 'human', pushedBy: 'agent', agentAccountIds: [AGENT_WRITE] }],
    });
    expect(agentWorkReasons(change, false)).toEqual([
      { kind: 'commit_pusher', commit: COMMITS[0], accountId: AGENT_WRITE },
    ]);
  });
  test('only humans and no bundle: not agent work', () => {
    const change = compliantChange({
      actor: { accountId: HUMAN },
      commits: [{ hash: COMMITS[0], paths: ['a'], author: 'human', pushedBy: 'unknown' }],
    });
    expect(agentWorkReasons(change, false)).toEqual([]);
  });
});
