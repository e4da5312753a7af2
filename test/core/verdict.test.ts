import type { JsonObject } from '../../src/core/clawsig/json';
import { computeTokenScopeHash } from '../../src/core/clawsig/scoped-token';
import type { ChangeSet } from '../../src/core/policy/change-set';
import { parseBitbucketWpc } from '../../src/core/policy';
import { idsToRecord, verifyAndEvaluate, type EngineSettings, type EvaluationInput } from '../../src/core/verdict';
import {
  createTestKey,
  makeBitbucketWpc,
  makeCstClaims,
  makeProofBundle,
  resignEnvelope,
  signCst,
  wpcHash,
  type TestKey,
} from '../../src/testkit';

const WS = 'acme';
const REPO = 'proj-web';
const WORK_COMMIT = 'a'.repeat(40);
const HEAD_COMMIT = 'b'.repeat(40);
const START = Date.UTC(2026, 10, 25, 12, 0, 0);
const NOW = START + 3_600_000;

const agent = createTestKey();
const gateway = createTestKey();
const issuer = createTestKey();

interface Build {
  wpc?: JsonObject;
  claims?: (c: JsonObject) => JsonObject;
  receiptPolicyHash?: string;
  receiptScopeHash?: string;
  token?: 'jwt' | 'claims' | 'none';
  tokenSigner?: TestKey;
  tokenAlg?: string;
  metadata?: (m: JsonObject) => JsonObject;
  bundleAgent?: TestKey;
  change?: (c: ChangeSet) => ChangeSet;
  settings?: Partial<EngineSettings>;
  consumed?: EvaluationInput['consumed'];
  startMs?: number;
}

function build(options: Build = {}): EvaluationInput {
  const wpc =
    options.wpc ??
    makeBitbucketWpc({ repos: [`${WS}/${REPO}`], allowedProviders: ['anthropic'], allowedModels: ['claude-*'] });
  const parsed = parseBitbucketWpc(wpc);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const policyHash = wpcHash(wpc);
  const iat = Math.floor(START / 1000) - 60;
  const bundleAgent = options.bundleAgent ?? agent;
  let claims = makeCstClaims({ sub: bundleAgent.did, policyHash, missionId: `${WS}/${REPO}`, iat, exp: iat + 3600 });
  if (options.claims) {
    claims = options.claims(claims);
    claims.token_scope_hash_b64u = computeTokenScopeHash(claims);
  }
  const scopeHash = computeTokenScopeHash(claims);
  let metadata: JsonObject = { bitbucket: { workspace: WS, repo_slug: REPO, commit: WORK_COMMIT, branch: 'agent/x' } };
  const token = options.token ?? 'jwt';
  if (token === 'jwt') metadata.scoped_token = signCst(claims, options.tokenSigner ?? issuer, options.tokenAlg);
  if (token === 'claims') metadata.scoped_token_claims = claims;
  if (options.metadata) metadata = options.metadata(metadata);
  const bundle = makeProofBundle({
    agent: bundleAgent,
    gateway,
    receipts: 2,
    policyHash: options.receiptPolicyHash ?? policyHash,
    tokenScopeHash: options.receiptScopeHash ?? scopeHash,
    startMs: options.startMs ?? START,
    metadata,
  });
  let change: ChangeSet = {
    workspace: WS,
    repoSlug: REPO,
    repoFullName: `${WS}/${REPO}`,
    action: 'create_pr',
    actor: { accountId: '{agent-uuid}', agentIdentity: { role: 'write', agentDid: agent.did } },
    pullRequest: { id: 7, sourceBranch: 'agent/x', destinationBranch: 'main', headCommit: HEAD_COMMIT },
    files: [{ status: 'modified', path: 'src/app.ts' }],
    commits: [
      { hash: WORK_COMMIT, paths: ['src/app.ts'] },
      { hash: HEAD_COMMIT, paths: ['.clawsig/proof_bundle.json'] },
    ],
    approvals: [],
  };
  if (options.change) change = options.change(change);
  return {
    nowMs: NOW,
    profile: 'clawgate',
    settings: {
      mode: 'enforce',
      trustedGateways: [{ did: gateway.did }],
      cstIssuers: [{ publicKeyB64u: issuer.publicKeyB64u }],
      ...options.settings,
    },
    bundle: bundle.envelope,
    policy: { wpc: parsed.wpc, hash: parsed.policyHashB64u },
    change,
    consumed: options.consumed ?? [],
  };
}

async function failingCodes(input: EvaluationInput): Promise<string[]> {
  return (await verifyAndEvaluate(input)).checks.filter((c) => c.outcome === 'fail').map((c) => c.code);
}

describe('evaluate: the clawgate profile (docs/policy.md)', () => {
  test('a consistent agent PR passes, with a SUCCESSFUL status and every criterion listed', async () => {
    const verdict = await verifyAndEvaluate(build());
    expect(verdict.checks.filter((c) => c.outcome === 'fail')).toEqual([]);
    expect(verdict.state).toBe('PASS');
    expect(verdict.reasonCode).toBe('OK');
    expect(verdict.statusState).toBe('SUCCESSFUL');
    expect(verdict.proof?.proofTier).toBe('gateway');
    expect(verdict.token?.signatureVerified).toBe(true);
    expect(verdict.consume.map((c) => c.kind).sort()).toEqual([
      'bundle_id',
      'cst_jti',
      'cst_nonce',
      'receipt_id',
      'receipt_id',
      'run_id',
    ]);
    const rules = new Set(verdict.checks.map((c) => c.rule));
    for (const rule of [
      'profile.envelope_required',
      'protocol.signature',
      'profile.cst_subject',
      'profile.anti_replay',
      'policy.paths',
      'policy.models',
    ])
      expect(rules).toContain(rule);
  });

  test('is deterministic', async () => {
    const input = build();
    expect(await verifyAndEvaluate(input)).toEqual(await verifyAndEvaluate(input));
  });

  test('bare payloads are rejected with their own code', async () => {
    const input = build();
    input.bundle = (input.bundle as JsonObject).payload;
    const verdict = await verifyAndEvaluate(input);
    expect(verdict.state).toBe('FAIL');
    expect(verdict.reasonCode).toBe('BARE_PAYLOAD_REJECTED');
  });

  test('a bundle that fails verification fails first on that; the token clauses are not judged', async () => {
    const input = build();
    const envelope = input.bundle as JsonObject;
    const signature = String(envelope.signature_b64u);
    input.bundle = { ...envelope, signature_b64u: `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}` };
    const verdict = await verifyAndEvaluate(input);
    expect(verdict.reasonCode).toBe('SIGNATURE_INVALID');
    const failing = verdict.checks.filter((c) => c.outcome === 'fail').map((c) => c.code);
    expect(failing[0]).toBe('SIGNATURE_INVALID');
    expect(failing).not.toContain('CST_MISSING');
    expect(verdict.checks.find((c) => c.rule === 'policy.auth' && c.outcome === 'skip')?.evidence).toEqual({
      reason: 'bundle_not_verified',
    });
  });

  test('a bundle signed by a key other than its agent DID fails', async () => {
    const input = build();
    input.bundle = resignEnvelope(input.bundle as JsonObject, createTestKey());
    (input.bundle as JsonObject).signer_did = createTestKey().did;
    expect((await verifyAndEvaluate(input)).reasonCode).toBe('INVALID_DID_FORMAT');
  });

  test('receipts bound to another WPC fail', async () => {
    expect(await failingCodes(build({ receiptPolicyHash: 'x'.repeat(43) }))).toContain('RECEIPT_POLICY_HASH_MISMATCH');
  });

  test('receipts issued under another token fail', async () => {
    expect(await failingCodes(build({ receiptScopeHash: 'y'.repeat(43) }))).toContain('RECEIPT_TOKEN_SCOPE_MISMATCH');
  });

  test('a token issued to another agent fails', async () => {
    const other = createTestKey();
    expect(await failingCodes(build({ claims: (c) => ({ ...c, sub: other.did }) }))).toEqual(['CST_SUBJECT_MISMATCH']);
  });

  test('a token pinned to another WPC fails, and a token without a pin fails closed', async () => {
    expect(await failingCodes(build({ claims: (c) => ({ ...c, policy_hash_b64u: 'z'.repeat(43) }) }))).toEqual([
      'CST_POLICY_PIN_MISMATCH',
    ]);
    expect(
      await failingCodes(
        build({
          claims: (c) => {
            const { policy_hash_b64u: _drop, ...rest } = c;
            return rest;
          },
        }),
      ),
    ).toEqual(['CST_POLICY_PIN_MISMATCH']);
  });

  test('receipts outside the token validity fail', async () => {
    expect(await failingCodes(build({ startMs: START + 2 * 3_600_000 }))).toContain('RECEIPT_OUTSIDE_CST_VALIDITY');
  });

  test('a token whose lifetime exceeds the maximum fails', async () => {
    expect(await failingCodes(build({ claims: (c) => ({ ...c, exp: Number(c.iat) + 86_400 }) }))).toEqual([
      'CST_TTL_TOO_LONG',
    ]);
  });

  test('mission_id is opaque by default: a session key passes and is recorded', async () => {
    const verdict = await verifyAndEvaluate(
      build({ claims: (c) => ({ ...c, mission_id: 'agent:main:whatsapp:dm:+15551234567' }) }),
    );
    expect(verdict.state).toBe('PASS');
    expect(verdict.token?.missionId).toBe('agent:main:whatsapp:dm:+15551234567');
    expect(verdict.checks.find((c) => c.rule === 'profile.cst_mission')).toMatchObject({
      outcome: 'pass',
      evidence: { opaque: true },
    });
  });

  test('with a workspace mission pattern, a mission naming another repository fails; a missing one too', async () => {
    const settings = { missionIdPattern: '{repository}*' };
    expect(await failingCodes(build({ settings, claims: (c) => ({ ...c, mission_id: 'acme/other-repo' }) }))).toEqual([
      'CST_MISSION_MISMATCH',
    ]);
    expect(
      await failingCodes(build({ settings, claims: (c) => ({ ...c, mission_id: `${WS}/${REPO}#bounty-42` }) })),
    ).toEqual([]);
    expect(
      await failingCodes(
        build({
          settings,
          claims: (c) => {
            const { mission_id: _dropped, ...rest } = c;
            return rest;
          },
        }),
      ),
    ).toEqual(['CST_MISSION_MISMATCH']);
  });

  test('a token signed by an unknown issuer fails; claims-only fail when issuer keys exist; non-EdDSA fails', async () => {
    expect(await failingCodes(build({ tokenSigner: createTestKey() }))).toEqual(['CST_SIGNATURE_INVALID']);
    expect(await failingCodes(build({ token: 'claims' }))).toEqual(['CST_SIGNATURE_REQUIRED']);
    expect(await failingCodes(build({ token: 'claims', settings: { cstIssuers: [] } }))).toEqual([]);
    expect((await verifyAndEvaluate(build({ tokenAlg: 'HS256' }))).reasonCode).toBe('CST_UNSUPPORTED_ALG');
  });

  test('a missing token fails when a policy applies', async () => {
    expect(await failingCodes(build({ token: 'none' }))).toContain('CST_MISSING');
  });

  test('a declared scope hash that does not match the claims fails', async () => {
    const input = build({ metadata: (m) => m });
    const claims = makeCstClaims({ sub: agent.did, iat: 1, exp: 2 });
    claims.token_scope_hash_b64u = 'q'.repeat(43);
    input.scopedToken = claims;
    input.settings = { ...input.settings, cstIssuers: [] };
    expect(await failingCodes(input)).toContain('CST_SCOPE_HASH_MISMATCH');
  });

  test('ids consumed by another PR are a replay; the same PR re-presenting them is not', async () => {
    const first = build();
    const verdict = await verifyAndEvaluate(first);
    const consumedByOther = verdict.consume.map((id) => ({ ...id, repoFullName: `${WS}/${REPO}`, pullRequestId: 99 }));
    const consumedBySelf = verdict.consume.map((id) => ({ ...id, repoFullName: `${WS}/${REPO}`, pullRequestId: 7 }));
    const replay = await verifyAndEvaluate({ ...first, consumed: consumedByOther });
    expect(replay.state).toBe('FAIL');
    expect(replay.reasonCode).toBe('REPLAY');
    expect(replay.checks.filter((c) => c.code === 'REPLAY')).toHaveLength(verdict.consume.length);
    expect((await verifyAndEvaluate({ ...first, consumed: consumedBySelf })).state).toBe('PASS');
  });

  test('a copy of a bundle on a PR it is not bound to consumes no id, so it cannot take the ids of the PR it was copied from', async () => {
    const copies = [
      build({ change: (c) => ({ ...c, commits: c.commits.filter((commit) => commit.hash !== WORK_COMMIT) }) }),
      build({ metadata: (m) => ({ ...m, bitbucket: { workspace: WS, repo_slug: 'other', commit: WORK_COMMIT } }) }),
    ];
    for (const copy of copies) {
      const verdict = await verifyAndEvaluate(copy);
      expect(verdict.state).toBe('FAIL');
      expect(verdict.checks.some((c) => c.rule === 'profile.pr_binding' && c.outcome === 'fail')).toBe(true);
      expect(verdict.consume.length).toBeGreaterThan(0);
      expect(idsToRecord(verdict)).toEqual([]);
    }
    // The PR the bundle is bound to records them (and passes); once they are another PR's, it records none.
    const bound = build();
    const original = await verifyAndEvaluate(bound);
    expect(original.state).toBe('PASS');
    expect(idsToRecord(original)).toEqual(original.consume);
    const replay = await verifyAndEvaluate({
      ...bound,
      consumed: original.consume.map((id) => ({ ...id, repoFullName: `${WS}/${REPO}`, pullRequestId: 99 })),
    });
    expect(idsToRecord(replay)).toEqual([]);
  });

  test('a bundle bound to another repository, or to a commit outside the PR, fails', async () => {
    expect(
      await failingCodes(
        build({ metadata: (m) => ({ ...m, bitbucket: { workspace: WS, repo_slug: 'other', commit: WORK_COMMIT } }) }),
      ),
    ).toEqual(['BUNDLE_BINDING_MISMATCH']);
    expect(
      await failingCodes(
        build({
          metadata: (m) => {
            const { bitbucket: _b, ...rest } = m;
            return rest;
          },
        }),
      ),
    ).toEqual(['BUNDLE_BINDING_MISMATCH']);
    expect(
      await failingCodes(
        build({ metadata: (m) => ({ ...m, bitbucket: { workspace: WS, repo_slug: REPO, commit: 'c'.repeat(40) } }) }),
      ),
    ).toEqual(['BUNDLE_COMMIT_NOT_IN_PR']);
    expect(
      await failingCodes(
        build({
          change: (c) => ({ ...c, pullRequest: c.pullRequest && { ...c.pullRequest, declaredBundleIds: ['another'] } }),
        }),
      ),
    ).toEqual(['BUNDLE_BINDING_MISMATCH']);
  });

  test('agent identity: a read identity cannot write; the registered DID must sign', async () => {
    expect(
      await failingCodes(
        build({
          change: (c) => ({ ...c, actor: { ...c.actor, agentIdentity: { role: 'read', agentDid: agent.did } } }),
        }),
      ),
    ).toEqual(['AGENT_ROLE_INSUFFICIENT']);
    expect(
      await failingCodes(
        build({
          change: (c) => ({
            ...c,
            actor: { ...c.actor, agentIdentity: { role: 'write', agentDid: createTestKey().did } },
          }),
        }),
      ),
    ).toEqual(['AGENT_DID_MISMATCH']);
  });

  test('revocations and the kill switch apply', async () => {
    const input = build();
    const bundleId = String(((input.bundle as JsonObject).payload as JsonObject).bundle_id);
    expect(
      await failingCodes({ ...input, settings: { ...input.settings, revocations: { agentDids: [agent.did] } } }),
    ).toEqual(['REVOKED_AGENT']);
    expect(
      await failingCodes({ ...input, settings: { ...input.settings, revocations: { bundleIds: [bundleId] } } }),
    ).toEqual(['REVOKED_BUNDLE']);
    const jti = (await verifyAndEvaluate(input)).token?.jti ?? '';
    expect(await failingCodes({ ...input, settings: { ...input.settings, revocations: { cstJtis: [jti] } } })).toEqual([
      'REVOKED_TOKEN',
    ]);
    const frozen = await verifyAndEvaluate({ ...input, settings: { ...input.settings, frozen: true } });
    expect(frozen.reasonCode).toBe('WORKSPACE_FROZEN');
  });

  test('a revoked agent account fails even without a bundle (it never becomes a human PR)', async () => {
    const revoked = (c: ChangeSet): ChangeSet => ({
      ...c,
      actor: { ...c.actor, agentIdentity: { role: 'write', agentDid: agent.did, revoked: true } },
    });
    expect((await verifyAndEvaluate(build({ change: revoked }))).reasonCode).toBe('REVOKED_AGENT');
    const withoutBundle = await verifyAndEvaluate({ ...build({ change: revoked }), bundle: undefined });
    expect(withoutBundle.state).toBe('FAIL');
    expect(withoutBundle.checks.map((c) => c.code)).toContain('REVOKED_AGENT');
  });

  test('unbound and untrusted receipts fail the profile even where the protocol ignores them', async () => {
    const input = build();
    const envelope = input.bundle as JsonObject;
    const payload = envelope.payload as JsonObject;
    const receipts = payload.receipts as JsonObject[];
    const first = receipts[0] as JsonObject;
    const receiptPayload = { ...(first.payload as JsonObject) };
    const { event_hash_b64u: _e, ...binding } = receiptPayload.binding as JsonObject;
    receiptPayload.binding = binding;
    receipts[0] = resignEnvelope({ ...first, payload: receiptPayload }, gateway);
    input.bundle = resignEnvelope(envelope, agent);
    expect(await failingCodes(input)).toEqual(['UNRECEIPTED_MODEL_CALL', 'GATEWAY_RECEIPT_UNBOUND']);
    const stranger = createTestKey();
    receipts[0] = resignEnvelope({ ...first, payload: receiptPayload, signer_did: stranger.did }, stranger);
    input.bundle = resignEnvelope(envelope, agent);
    expect(await failingCodes(input)).toEqual(['UNRECEIPTED_MODEL_CALL', 'GATEWAY_RECEIPT_UNTRUSTED']);
  });

  test('a dropped receipt leaves its model call unreceipted; a duplicated one is rejected', async () => {
    const input = build();
    const envelope = input.bundle as JsonObject;
    const payload = envelope.payload as JsonObject;
    const receipts = payload.receipts as JsonObject[];
    input.bundle = resignEnvelope({ ...envelope, payload: { ...payload, receipts: receipts.slice(0, -1) } }, agent);
    expect(await failingCodes(input)).toEqual(['UNRECEIPTED_MODEL_CALL']);
    input.bundle = resignEnvelope(
      { ...envelope, payload: { ...payload, receipts: [...receipts, receipts[0] as JsonObject] } },
      agent,
    );
    expect(await failingCodes(input)).toEqual(['GATEWAY_RECEIPT_DUPLICATE']);
  });

  test('a trusted gateway whose trust expired no longer counts', async () => {
    const verdict = await verifyAndEvaluate(
      build({ settings: { trustedGateways: [{ did: gateway.did, expiresAtMs: NOW - 1 }] } }),
    );
    expect(verdict.state).toBe('FAIL');
    expect(verdict.reasonCode).toBe('DEPENDENCY_NOT_CONFIGURED');
  });

  test('policy: a denied path fails with the file as subject and the file marked denied', async () => {
    const verdict = await verifyAndEvaluate(
      build({
        change: (c) => ({
          ...c,
          files: [...c.files, { status: 'modified', path: 'bitbucket-pipelines.yml' }],
          commits: [
            { hash: WORK_COMMIT, paths: ['src/app.ts', 'bitbucket-pipelines.yml'] },
            c.commits[1] ?? { hash: HEAD_COMMIT },
          ],
        }),
      }),
    );
    expect(verdict.reasonCode).toBe('PATH_DENIED');
    expect(verdict.checks.find((c) => c.code === 'PATH_DENIED')?.subject?.id).toBe('bitbucket-pipelines.yml');
    expect(verdict.files.find((f) => f.path === 'bitbucket-pipelines.yml')).toMatchObject({
      denied: true,
      provenance: 'attested',
    });
  });

  test('policy: a model outside the WPC fails', async () => {
    const wpc = makeBitbucketWpc({
      repos: [`${WS}/${REPO}`],
      allowedProviders: ['openai'],
      allowedModels: ['gpt-4o*'],
    });
    const codes = await failingCodes(build({ wpc }));
    expect(codes).toContain('PROVIDER_NOT_ALLOWED');
    expect(codes).toContain('MODEL_NOT_ALLOWED');
  });

  test('approval gate: PENDING (INPROGRESS) until a human approves; an agent approval does not count', async () => {
    const wpc = makeBitbucketWpc({
      repos: [`${WS}/${REPO}`],
      approvalRequired: true,
      allowedProviders: ['anthropic'],
      allowedModels: ['claude-*'],
    });
    const pending = await verifyAndEvaluate(build({ wpc }));
    expect(pending.state).toBe('PENDING');
    expect(pending.statusState).toBe('INPROGRESS');
    expect(pending.reasonCode).toBe('APPROVAL_REQUIRED');
    expect(
      (
        await verifyAndEvaluate(
          build({ wpc, change: (c) => ({ ...c, approvals: [{ accountId: '{bot}', isAgentIdentity: true }] }) }),
        )
      ).state,
    ).toBe('PENDING');
    expect(
      (
        await verifyAndEvaluate(
          build({ wpc, change: (c) => ({ ...c, approvals: [{ accountId: '{human}', isAgentIdentity: false }] }) }),
        )
      ).state,
    ).toBe('PASS');
  });

  test('modes: observe and warn never fail the build status; enforce does', async () => {
    const input = build({ receiptPolicyHash: 'x'.repeat(43) });
    expect((await verifyAndEvaluate(input)).statusState).toBe('FAILED');
    for (const mode of ['observe', 'warn'] as const) {
      const verdict = await verifyAndEvaluate({ ...input, settings: { ...input.settings, mode } });
      expect(verdict.state).toBe('FAIL');
      expect(verdict.statusState).toBe('SUCCESSFUL');
    }
  });

  test('a human PR without a bundle is NOT_APPLICABLE; an agent PR without one fails closed', async () => {
    const input = build();
    const human = await verifyAndEvaluate({
      ...input,
      bundle: undefined,
      change: input.change && { ...input.change, actor: { accountId: '{human}' } },
    });
    expect(human.state).toBe('NOT_APPLICABLE');
    expect(human.statusState).toBe('SUCCESSFUL');
    const agentNoBundle = await verifyAndEvaluate({ ...input, bundle: undefined });
    expect(agentNoBundle.state).toBe('FAIL');
    expect(agentNoBundle.checks.map((c) => c.code)).toEqual(
      expect.arrayContaining(['BUNDLE_NOT_FOUND', 'BUNDLE_REQUIRED']),
    );
  });

  test('an evaluation out of API reads fails API_BUDGET_EXCEEDED, alone, even on a PR that looks human', async () => {
    const input = build();
    const agent = await verifyAndEvaluate({ ...input, bundle: undefined, evidenceError: 'API_BUDGET_EXCEEDED' });
    expect(agent.state).toBe('FAIL');
    expect(agent.reasonCode).toBe('API_BUDGET_EXCEEDED');
    expect(agent.statusState).toBe('FAILED');
    expect(agent.checks.map((c) => c.code)).toEqual(['API_BUDGET_EXCEEDED']);
    // What was not read (a bundle file, a later agent commit) cannot be shown absent: never NOT_APPLICABLE.
    const looksHuman = await verifyAndEvaluate({
      ...input,
      bundle: undefined,
      evidenceError: 'API_BUDGET_EXCEEDED',
      change: input.change && { ...input.change, actor: { accountId: '{human}' } },
    });
    expect(looksHuman.state).toBe('FAIL');
    expect(looksHuman.reasonCode).toBe('API_BUDGET_EXCEEDED');
    expect(looksHuman.agentWork).toEqual([]);
    const frozen = await verifyAndEvaluate({
      ...input,
      evidenceError: 'API_BUDGET_EXCEEDED',
      settings: { ...input.settings, frozen: true },
    });
    expect(frozen.checks.map((c) => c.code)).toEqual(['WORKSPACE_FROZEN', 'API_BUDGET_EXCEEDED']);
  });

  test('a clawgate error fails closed in enforce mode', async () => {
    const verdict = await verifyAndEvaluate({ ...build(), evidenceError: 'CLAWGATE_ERROR' });
    expect(verdict.state).toBe('FAIL');
    expect(verdict.statusState).toBe('FAILED');
  });
});
