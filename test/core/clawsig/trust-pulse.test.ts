import {
  checkTrustPulse,
  compareTrustPulseWithDiff,
  isRedactedPath,
  MAX_TRUST_PULSE_BYTES,
} from '../../../src/core/clawsig/trust-pulse';
import { stringifyHashB64u } from '../../../src/core/clawsig/hashing';
import type { JsonObject } from '../../../src/core/clawsig/json';
import { evaluate } from '../../../src/core/verdict';
import { makeBitbucketWpc, makeScenario, scenarioEvaluationInput } from '../../../src/testkit';
import { readSharedJson } from '../../shared-data';

const WS = 'acme';
const REPO = 'proj-web';
const WORK = 'a'.repeat(40);
const START = Date.UTC(2026, 10, 25, 12, 0, 0);
const NOW = START + 600_000;

function scenario(
  files = [
    { path: 'src/a.ts', touches: 3 },
    { path: 'docs/notes.md', touches: 1 },
    { path: '.github/workflows/ci.yml', touches: 1 },
    { path: 'config/[REDACTED]/secret.env', touches: 1 },
  ],
) {
  const wpc = makeBitbucketWpc({
    repos: [`${WS}/${REPO}`],
    allowedProviders: ['anthropic'],
    allowedModels: ['claude-*'],
    denyGlobs: ['**/.github/**'],
  });
  const s = makeScenario({
    workspace: WS,
    repoSlug: REPO,
    commit: WORK,
    wpc,
    startMs: START,
    trustPulse: {
      tools: [
        { name: 'edit_file', calls: 4 },
        { name: 'bash', calls: 2 },
      ],
      files,
      durationMs: 42_000,
    },
  });
  const input = scenarioEvaluationInput(s, { workspace: WS, repoSlug: REPO, workCommit: WORK, nowMs: NOW });
  return { s, input: { ...input, urm: s.bundle.urm, trustPulse: JSON.stringify(s.bundle.trustPulse) } };
}

describe('Trust Pulse: a non-tier, self-reported check bound through the URM', () => {
  it('is verified when the signed bundle names the URM and the URM names the pulse, and never changes the verdict or the tier', () => {
    const { input } = scenario();
    const withPulse = evaluate(input);
    // Without the pulse (the URM stays: a bundle that references one fails URM_MISSING without it).
    const without = evaluate({ ...input, trustPulse: undefined });
    expect(withPulse.trustPulse.status).toBe('verified');
    expect(withPulse.trustPulse.summary?.tools).toEqual([
      { name: 'edit_file', calls: 4 },
      { name: 'bash', calls: 2 },
    ]);
    expect(withPulse.trustPulse.summary?.durationMs).toBe(42_000);
    expect(without.trustPulse).toEqual({ status: 'absent' });
    expect(withPulse.state).toBe(without.state);
    expect(withPulse.reasonCode).toBe(without.reasonCode);
    expect(withPulse.checks).toEqual(without.checks);
    expect(withPulse.proof?.proofTier).toBe(without.proof?.proofTier);
  });

  it('compares the pulse with the diff: unreported diff files, reported-but-absent paths, denied paths, redacted paths', () => {
    const { input } = scenario();
    const c = evaluate(input).trustPulse.comparison;
    // The diff changes src/a.ts only (scenarioEvaluationInput).
    expect(c).toEqual({
      unreportedDiffPaths: [],
      reportedNotInDiff: ['.github/workflows/ci.yml', 'docs/notes.md'],
      reportedDenied: [{ path: '.github/workflows/ci.yml', glob: '**/.github/**' }],
      redacted: ['config/[REDACTED]/secret.env'],
    });
    const quiet = scenario([{ path: 'docs/notes.md', touches: 1 }]);
    expect(evaluate(quiet.input).trustPulse.comparison?.unreportedDiffPaths).toEqual(['src/a.ts']);
  });

  it('an edited pulse is unverified (hash mismatch) but still shown, marked as such', () => {
    const { s, input } = scenario();
    const edited = { ...(s.bundle.trustPulse as JsonObject), tools: [{ name: 'edit_file', calls: 1 }] };
    const result = evaluate({ ...input, trustPulse: JSON.stringify(edited) }).trustPulse;
    expect(result.status).toBe('unverified');
    expect(result.problem).toBe('TRUST_PULSE_HASH_MISMATCH');
    expect(result.summary?.tools).toEqual([{ name: 'edit_file', calls: 1 }]);
  });

  it('a URM the signed bundle does not name (swapped URM naming a forged pulse) is unverified', () => {
    const { s, input } = scenario();
    const forgedPulse = { ...(s.bundle.trustPulse as JsonObject), files: [] };
    const urm = JSON.parse(JSON.stringify(s.bundle.urm)) as {
      metadata: { trust_pulse: { artifact_hash_b64u: string } };
      outputs: { hash_b64u: string }[];
    };
    const h = stringifyHashB64u(forgedPulse);
    urm.metadata.trust_pulse.artifact_hash_b64u = h;
    urm.outputs[0]!.hash_b64u = h;
    // The swapped URM no longer hashes to the bundle's signed reference: the bundle itself fails
    // (HASH_MISMATCH, the reference's URM rule), so the pulse cannot be verified either.
    const swapped = evaluate({ ...input, urm, trustPulse: forgedPulse });
    expect(swapped.reasonCode).toBe('HASH_MISMATCH');
    expect(swapped.trustPulse.status).toBe('unverified');
    expect(swapped.trustPulse.problem).toBe('TRUST_PULSE_BUNDLE_NOT_VERIFIED');
  });

  it('refuses a pulse for another run, a pulse without a URM, one over 64 KiB, one that breaks the schema or claims a tier uplift', () => {
    const { s, input } = scenario();
    const other = { ...(s.bundle.trustPulse as JsonObject), run_id: 'run_other' };
    expect(
      checkTrustPulse({
        pulse: other,
        urm: s.bundle.urm,
        bundle: { verified: true, agentDid: s.agent.did, urmHashB64u: 'x' },
      }).problem,
    ).toBe('TRUST_PULSE_URM_NOT_BOUND');
    // A bundle that references a URM fails URM_MISSING without it; its pulse is not verified.
    const noUrm = evaluate({ ...input, urm: undefined });
    expect(noUrm.reasonCode).toBe('URM_MISSING');
    expect(noUrm.trustPulse.problem).toBe('TRUST_PULSE_BUNDLE_NOT_VERIFIED');
    const huge = JSON.stringify({
      ...(s.bundle.trustPulse as JsonObject),
      trust_pulse_id: 'x'.repeat(MAX_TRUST_PULSE_BYTES),
    });
    expect(evaluate({ ...input, trustPulse: huge }).trustPulse).toEqual({
      status: 'unverified',
      problem: 'TRUST_PULSE_TOO_LARGE',
    });
    expect(evaluate({ ...input, trustPulse: '{not json' }).trustPulse.problem).toBe('TRUST_PULSE_UNREADABLE');
    expect(
      evaluate({ ...input, trustPulse: { ...(s.bundle.trustPulse as JsonObject), tier_uplift: true } }).trustPulse
        .problem,
    ).toBe('TRUST_PULSE_SCHEMA_INVALID');
    expect(
      evaluate({
        ...input,
        trustPulse: { ...(s.bundle.trustPulse as JsonObject), files: [{ path: '../etc/passwd', touches: 1 }] },
      }).trustPulse.problem,
    ).toBe('TRUST_PULSE_SCHEMA_INVALID');
  });

  it('a pulse beside a bundle that does not verify is never verified', () => {
    const { s, input } = scenario();
    const tampered = {
      ...(s.bundle.envelope as JsonObject),
      payload: { ...((s.bundle.envelope as JsonObject).payload as JsonObject), bundle_id: 'other' },
    };
    const v = evaluate({ ...input, bundle: tampered });
    expect(v.state).toBe('FAIL');
    expect(v.trustPulse.problem).toBe('TRUST_PULSE_BUNDLE_NOT_VERIFIED');
  });

  it('accepts the real harness artifacts from the reference repository (bundle + URM + pulse)', () => {
    const dir = ['clawsig', 'real-world', 'poh'];
    for (const run of ['run_192c5f5d-3024-4596-9a37-bf0e9526ae49', 'run_c60e2642-18b8-4054-9fcc-7d9f1d0cdaf6']) {
      const bundle = readSharedJson(...dir, `${run}-bundle.json`) as {
        payload: { agent_did: string; urm: { resource_hash_b64u: string } };
      };
      const urm = readSharedJson(...dir, `${run}-urm.json`);
      const pulse = readSharedJson(...dir, `${run}-trust-pulse.json`);
      const result = checkTrustPulse({
        pulse,
        urm,
        bundle: {
          verified: true,
          agentDid: bundle.payload.agent_did,
          runId: run,
          urmHashB64u: bundle.payload.urm.resource_hash_b64u,
        },
      });
      expect(result.status).toBe('verified');
    }
  });

  it('marks redacted paths only for redaction markers', () => {
    expect(isRedactedPath('src/[redacted].ts')).toBe(true);
    expect(isRedactedPath('***/key.pem')).toBe(true);
    expect(isRedactedPath('sha256:abcDEF123/x')).toBe(true);
    expect(isRedactedPath('src/redaction.ts')).toBe(false);
    const change = {
      workspace: WS,
      repoSlug: REPO,
      repoFullName: `${WS}/${REPO}`,
      action: 'create_pr' as const,
      actor: { accountId: 'a' },
      files: [{ status: 'renamed' as const, path: 'b.ts', oldPath: 'a.ts' }],
      commits: [],
      approvals: [],
    };
    expect(compareTrustPulseWithDiff({ files: [{ path: 'b.ts', touches: 1 }] }, change).unreportedDiffPaths).toEqual([
      'a.ts',
    ]);
  });
});
