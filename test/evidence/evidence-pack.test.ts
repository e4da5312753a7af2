import { recordEngineInput, restoreEngineInput } from '../../src/evidence/engine-input';
import { signEvidencePack, verifyEvidencePack, type EvidencePackFacts } from '../../src/evidence/evidence-pack';
import { sha256B64u } from '../../src/core/clawsig/hashing';
import { verifyAndEvaluate } from '../../src/core/verdict';
import { verdictToJson } from '../../src/render/verdict-json';
import { createTestKey, makeScenario, scenarioEvaluationInput, type TestKey } from '../../src/testkit';

const WORK = 'a'.repeat(40);
const START = Date.UTC(2026, 10, 25, 12, 0, 0);

async function packFor(options: {
  key: TestKey;
  mutateVerdict?: (v: Record<string, unknown>) => void;
  mutateInput?: (i: Record<string, unknown>) => void;
}) {
  const s = makeScenario({
    workspace: 'acme',
    repoSlug: 'proj-web',
    commit: WORK,
    startMs: START,
    trustPulse: { tools: [{ name: 'bash', calls: 1 }], files: [] },
  });
  const input = {
    ...scenarioEvaluationInput(s, { workspace: 'acme', repoSlug: 'proj-web', workCommit: WORK, nowMs: START + 60_000 }),
    urm: s.bundle.urm,
    trustPulse: JSON.stringify(s.bundle.trustPulse),
  };
  const bundleText = JSON.stringify(s.bundle.envelope);
  const verdict: Record<string, unknown> = {
    ...verdictToJson(await verifyAndEvaluate(input), 'acme/proj-web#1@b'),
    trigger: 'pullrequest:created',
  };
  options.mutateVerdict?.(verdict);
  const engineInput = recordEngineInput(input, bundleText) as unknown as Record<string, unknown>;
  options.mutateInput?.(engineInput);
  const facts: EvidencePackFacts = {
    evaluationId: '00000000-0000-4000-8000-000000000001',
    workspace: { uuid: '{ws}', slug: 'acme' },
    repository: 'acme/proj-web',
    pullRequest: { id: 1, url: 'https://bitbucket.org/acme/proj-web/pull-requests/1' },
    headSha: 'b'.repeat(40),
    commits: [WORK, 'b'.repeat(40)],
    clawgateVersion: 'test',
    evaluatedAt: new Date(START + 60_000).toISOString(),
    bundle: { id: s.bundle.bundleId, sha256B64u: sha256B64u(bundleText), source: 'repo_file' },
    policyHashB64u: s.policyHash,
    engineInput: engineInput as never,
    verdict,
  };
  return signEvidencePack(
    facts,
    { did: options.key.did, sign: (m) => options.key.signB64u(m) },
    new Date(START + 120_000).toISOString(),
  );
}

describe('evidence packs: signed, byte-exact, re-derived offline', () => {
  const key = createTestKey();

  it('a pack passes with its signer pinned and re-derives the recorded verdict (pulse included)', async () => {
    const result = await verifyEvidencePack(await packFor({ key }), { trustedSignerDids: [key.did] });
    expect(result).toMatchObject({
      valid: true,
      code: 'OK',
      signatureValid: true,
      signerTrusted: true,
      differences: [],
    });
    expect(result.derived?.trustPulse.status).toBe('verified');
  });

  it('a verdict the engine would not give fails, even correctly signed by the pinned key', async () => {
    const forged = await packFor({
      key,
      mutateVerdict: (v) => Object.assign(v, { state: 'PASS', reason_code: 'OK', checks: [] }),
    });
    const result = await verifyEvidencePack(forged, { trustedSignerDids: [key.did] });
    expect(result.code).toBe('EVIDENCE_VERDICT_MISMATCH');
    expect(result.differences).toEqual(['checks']);
  });

  it('a bundle that is not the recorded bundle fails; a pack signed by another key fails unless pinned', async () => {
    const swapped = await packFor({
      key,
      mutateInput: (i) => Object.assign(i, { bundle_text: `${String(i.bundle_text)} ` }),
    });
    expect((await verifyEvidencePack(swapped, { trustedSignerDids: [key.did] })).code).toBe('EVIDENCE_INPUT_INVALID');
    const other = createTestKey();
    expect(await verifyEvidencePack(await packFor({ key: other }), { trustedSignerDids: [key.did] })).toMatchObject({
      valid: false,
      code: 'EVIDENCE_SIGNER_UNTRUSTED',
      signatureValid: true,
    });
  });

  it('refuses re-serialized packs (pretty-printed) and signatures over another payload', async () => {
    const text = await packFor({ key });
    expect(
      (await verifyEvidencePack(JSON.stringify(JSON.parse(text), null, 2), { trustedSignerDids: [key.did] })).code,
    ).toBe('EVIDENCE_NOT_CANONICAL');
    const envelope = JSON.parse(text) as { payload: { repository: string } };
    envelope.payload.repository = 'acme/other';
    expect((await verifyEvidencePack(`${JSON.stringify(envelope)}\n`, { trustedSignerDids: [key.did] })).code).toBe(
      'EVIDENCE_HASH_MISMATCH',
    );
  });

  it('the recorded engine input round-trips to the same engine input', async () => {
    const s = makeScenario({ workspace: 'acme', repoSlug: 'proj-web', commit: WORK, startMs: START });
    const input = {
      ...scenarioEvaluationInput(s, {
        workspace: 'acme',
        repoSlug: 'proj-web',
        workCommit: WORK,
        nowMs: START + 60_000,
      }),
      consumed: [{ kind: 'bundle_id' as const, value: 'x', repoFullName: 'acme/proj-web', pullRequestId: 9 }],
    };
    const restored = restoreEngineInput(JSON.parse(JSON.stringify(recordEngineInput(input))));
    expect(restored.ok).toBe(true);
    if (restored.ok)
      expect(verdictToJson(await verifyAndEvaluate(restored.input), 's')).toEqual(
        verdictToJson(await verifyAndEvaluate(input), 's'),
      );
  });
});
