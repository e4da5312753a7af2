/**
 * The three WPC forms through the engine: official Clawsig v1 and v2 (bare and signed) beside the
 * Bitbucket shape; each clause's outcome is reported, unenforceable fields are never dropped, and
 * the reference evaluator's fail-open cases are closed.
 */
import type { JsonObject } from '../../../src/core/clawsig/json';
import { jcsHashB64u } from '../../../src/core/clawsig/hashing';
import { judgeWriteAction, parseWpc, parseWpcDocument } from '../../../src/core/policy';
import { verifyAndEvaluate, type Verdict } from '../../../src/core/verdict';
import { createTestKey, makeScenario, scenarioEvaluationInput } from '../../../src/testkit';

const WS = 'acme';
const REPO = 'proj-web';
const WORK = 'a'.repeat(40);
const START = Date.UTC(2026, 10, 25, 12, 0, 0);
const issuer = createTestKey();

async function run(
  wpc: JsonObject,
  edit?: (input: ReturnType<typeof scenarioEvaluationInput>) => void,
): Promise<Verdict> {
  const scenario = makeScenario({
    workspace: WS,
    repoSlug: REPO,
    commit: WORK,
    wpc,
    startMs: START,
    provider: 'anthropic',
    model: 'claude-sonnet-4',
  });
  const input = scenarioEvaluationInput(scenario, {
    workspace: WS,
    repoSlug: REPO,
    workCommit: WORK,
    nowMs: START + 60_000,
  });
  edit?.(input);
  return await verifyAndEvaluate(input);
}
const failing = (v: Verdict) => v.checks.filter((c) => c.outcome === 'fail').map((c) => c.code);

const v1 = (extra: JsonObject = {}): JsonObject => ({
  policy_version: '1',
  policy_id: 'pol-v1',
  issuer_did: issuer.did,
  allowed_providers: ['anthropic'],
  allowed_models: ['claude-*'],
  ...extra,
});

function signWpc(payload: JsonObject, key = issuer): JsonObject {
  const hash = jcsHashB64u(payload);
  return {
    envelope_version: '1',
    envelope_type: 'work_policy_contract',
    payload,
    payload_hash_b64u: hash,
    hash_algorithm: 'SHA-256',
    signature_b64u: key.signB64u(hash),
    algorithm: 'Ed25519',
    signer_did: key.did,
    issued_at: '2026-11-25T00:00:00Z',
  };
}

describe('official WPC v1', () => {
  test('is accepted (it used to be refused), its hash is the JCS hash, and an agent PR under it passes with clawgate defaults reported', async () => {
    const parsed = parseWpcDocument(v1());
    expect(parsed.ok && parsed.policy.official).toMatchObject({ form: 'clawsig_v1', bitbucketClauses: 'defaults' });
    expect(parsed.ok && parsed.policy.policyHashB64u).toBe(jcsHashB64u(v1()));
    const verdict = await run(v1());
    expect(failing(verdict)).toEqual([]);
    expect(verdict.policy).toMatchObject({ form: 'clawsig_v1', id: 'pol-v1' });
    expect(verdict.checks.find((c) => c.rule === 'policy.repos_allowlist')).toMatchObject({
      outcome: 'skip',
      evidence: { clause_source: 'assignment' },
    });
  });

  test('providers and models are enforced on every gateway receipt', async () => {
    expect(failing(await run(v1({ allowed_providers: ['openai'] })))).toContain('PROVIDER_NOT_ALLOWED');
    expect(failing(await run(v1({ allowed_models: ['gpt-*'] })))).toContain('MODEL_NOT_ALLOWED');
  });

  test('fields clawgate cannot enforce are listed as not enforceable, not dropped', async () => {
    const verdict = await run(
      v1({
        egress_allowlist: ['api.anthropic.com'],
        receipt_privacy_mode: 'hash_only',
        minimum_model_identity_tier: 'closed_opaque',
      }),
    );
    const reported = verdict.checks
      .filter((c) => c.evidence?.reason === 'not_enforceable_on_bitbucket')
      .map((c) => c.subject?.id);
    expect(reported.sort()).toEqual(['egress_allowlist', 'minimum_model_identity_tier', 'receipt_privacy_mode']);
  });

  test('Bitbucket clauses under metadata.bitbucket are enforced (deny globs, write rules), and validated', async () => {
    const bitbucket = {
      repos_allowlist: [`${WS}/${REPO}`],
      read: { allow: [] },
      write: { allow: ['create_pr'], deny: ['merge_pr'], approval_required: false },
      paths: { deny_globs: ['src/**'] },
      auth: { least_privilege_scopes_required: false, separate_identities_for_read_vs_write: false },
      attestation: { require_gateway_receipts: true, emit_proof_bundle: true },
    };
    expect(failing(await run(v1({ metadata: { bitbucket } })))).toEqual(['PATH_DENIED']);
    const bad = parseWpcDocument(v1({ metadata: { bitbucket: { ...bitbucket, paths: { deny_glob: [] } } } }));
    expect(bad.ok ? [] : bad.issues.map((i) => i.path)).toContain('metadata.bitbucket.paths.deny_glob');
  });

  test('a signed v1 envelope is verified against the WPC issuers, in the reference order', async () => {
    expect(parseWpc(signWpc(v1()), { wpcIssuers: [issuer.did] })).toMatchObject({
      ok: true,
      policy: { official: { form: 'clawsig_v1', signerDid: issuer.did } },
    });
    expect(parseWpc(signWpc(v1()), { wpcIssuers: [] })).toMatchObject({ ok: false, code: 'WPC_SIGNER_NOT_ALLOWED' });
    const tampered = { ...signWpc(v1()), payload: v1({ allowed_models: ['*'] }) };
    expect(parseWpc(tampered, { wpcIssuers: [issuer.did] })).toMatchObject({ ok: false, code: 'WPC_HASH_INVALID' });
    const other = createTestKey();
    expect(parseWpc(signWpc(v1(), other), { wpcIssuers: [other.did] })).toMatchObject({
      ok: false,
      code: 'WPC_ISSUER_MISMATCH',
    });
  });
});

describe('official WPC v2 on Bitbucket', () => {
  const allowAll: JsonObject[] = [
    { sid: 'pr', effect: 'Allow', actions: ['bitbucket:create_pr'], resources: [`${WS}/${REPO}`] },
    { sid: 'paths', effect: 'Allow', actions: ['bitbucket:write_path'], resources: ['**'] },
    { sid: 'models', effect: 'Allow', actions: ['model:invoke'], resources: ['claude-*'] },
  ];
  const v2 = (statements: JsonObject[], extra: JsonObject = {}): JsonObject => ({
    policy_version: '2',
    policy_id: 'pol-v2',
    issuer_did: issuer.did,
    statements,
    ...extra,
  });

  test('statements allowing the PR, the paths and the model: PASS', async () => {
    const verdict = await run(v2(allowAll));
    expect(failing(verdict)).toEqual([]);
    expect(verdict.policy?.form).toBe('clawsig_v2');
  });

  test('default deny: no statement allows the model → MODEL_NOT_ALLOWED; none allows the action → ACTION_NOT_ALLOWED', async () => {
    expect(failing(await run(v2(allowAll.filter((s) => s.sid !== 'models'))))).toEqual([
      'MODEL_NOT_ALLOWED',
      'MODEL_NOT_ALLOWED',
    ]);
    expect(failing(await run(v2(allowAll.filter((s) => s.sid !== 'pr'))))).toEqual(['ACTION_NOT_ALLOWED']);
  });

  test('an explicit Deny wins over an Allow', async () => {
    const verdict = await run(
      v2([...allowAll, { sid: 'no-src', effect: 'Deny', actions: ['bitbucket:write_path'], resources: ['src/**'] }]),
    );
    expect(failing(verdict)).toEqual(['PATH_DENIED']);
    expect(verdict.checks.find((c) => c.code === 'PATH_DENIED')?.evidence).toMatchObject({
      sid: 'no-src',
      decision: 'explicit_deny',
    });
  });

  test('fail-open closed: a Deny whose condition names a key clawgate cannot resolve still applies', async () => {
    const deny = {
      sid: 'deny-egress',
      effect: 'Deny',
      actions: ['model:invoke'],
      resources: ['*'],
      conditions: { StringEquals: { 'SideEffect:TargetDomain': 'evil.example' } },
    };
    expect(failing(await run(v2([...allowAll, deny])))).toEqual(['MODEL_NOT_ALLOWED', 'MODEL_NOT_ALLOWED']);
  });

  test('fail-open closed: an Allow guarded by StringNotEquals on a missing key does not apply', async () => {
    const models = {
      sid: 'models',
      effect: 'Allow',
      actions: ['model:invoke'],
      resources: ['*'],
      conditions: { StringNotEquals: { 'Tool:Name': 'rm' } },
    };
    expect(failing(await run(v2([...allowAll.filter((s) => s.sid !== 'models'), models])))).toEqual([
      'MODEL_NOT_ALLOWED',
      'MODEL_NOT_ALLOWED',
    ]);
  });

  test('conditions on keys clawgate does resolve work (Model:Provider, Bitbucket:DestinationBranch)', async () => {
    const models = {
      sid: 'models',
      effect: 'Allow',
      actions: ['model:invoke'],
      resources: ['*'],
      conditions: { StringEquals: { 'Model:Provider': 'anthropic' } },
    };
    expect(failing(await run(v2([...allowAll.filter((s) => s.sid !== 'models'), models])))).toEqual([]);
    const mainOnly = {
      sid: 'no-main',
      effect: 'Deny',
      actions: ['bitbucket:*'],
      resources: ['*'],
      conditions: { StringEquals: { 'Bitbucket:DestinationBranch': 'main' } },
    };
    expect(failing(await run(v2([...allowAll, mainOnly])))).toContain('ACTION_DENIED');
  });

  test('inherits is refused (the reference ignores it without a resolver); unenforceable statements and fields are reported', async () => {
    expect(parseWpcDocument(v2(allowAll, { inherits: 'parent' }))).toMatchObject({
      ok: false,
      issues: [{ path: 'inherits' }],
    });
    const verdict = await run(
      v2([...allowAll, { sid: 'tools', effect: 'Allow', actions: ['tool:execute'], resources: ['*'] }], {
        coverage_enforcement: 'enforce',
      }),
    );
    const reported = verdict.checks
      .filter((c) => c.evidence?.reason === 'not_enforceable_on_bitbucket')
      .map((c) => c.subject?.id);
    expect(reported.sort()).toEqual(['coverage_enforcement', 'tools']);
  });

  test('an agent merge under a v2 policy is judged by the statements (incidents)', async () => {
    const parsed = parseWpcDocument(v2(allowAll));
    if (!parsed.ok) throw new Error('v2 invalid');
    const policy = { wpc: parsed.policy.wpc, hash: parsed.policy.policyHashB64u, official: parsed.policy.official };
    const actor = { accountId: '{bot}', role: 'write' as const };
    expect(
      judgeWriteAction(policy, {
        workspace: WS,
        repoSlug: REPO,
        repoFullName: `${WS}/${REPO}`,
        action: 'merge_pr',
        actor,
      }),
    ).toMatchObject({ denied: true, reasonCode: 'ACTION_NOT_ALLOWED' });
    expect(
      judgeWriteAction(policy, {
        workspace: WS,
        repoSlug: REPO,
        repoFullName: `${WS}/${REPO}`,
        action: 'create_pr',
        actor,
      }).denied,
    ).toBe(false);
  });
});
