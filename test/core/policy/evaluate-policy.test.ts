import { RULES, type Check } from '../../../src/core/check';
import type { BitbucketWpc } from '../../../src/core/policy/bitbucket-wpc';
import type { ChangedFile } from '../../../src/core/policy/change-set';
import { evaluatePolicy, type PolicyFacts } from '../../../src/core/policy/evaluate-policy';
import {
  AGENT_READ,
  AGENT_WRITE,
  COMMITS,
  HUMAN,
  compliantChange,
  compliantFacts,
  seedWpc,
  seedWpcDocument,
  wpcFrom,
} from './policy-fixtures';

const outcomes = (checks: Check[]) => checks.map((c) => `${c.rule} ${c.outcome} ${c.code}`);
const failures = (checks: Check[]) => checks.filter((c) => c.outcome !== 'pass' && c.outcome !== 'skip');
const ofRule = (checks: Check[], rule: Check['rule']) => checks.filter((c) => c.rule === rule);

describe('evaluatePolicy: a compliant change', () => {
  it('passes every clause of the seed WPC and lists each criterion once, in RULES order', () => {
    const checks = evaluatePolicy(seedWpc(), compliantChange(), compliantFacts());
    expect(outcomes(checks)).toEqual([
      'policy.wpc pass OK',
      'policy.repos_allowlist pass OK',
      'policy.write_actions pass OK',
      'policy.paths pass OK',
      'policy.auth pass OK',
      'policy.auth pass OK',
      'policy.attestation pass OK',
      'policy.attestation pass OK',
      'policy.models skip OK',
      'policy.models skip OK',
      'policy.approval pass OK',
    ]);
    expect(checks.map((c) => c.evidence?.clause)).toEqual([
      undefined,
      'policy.repos_allowlist',
      'policy.write',
      'policy.paths.deny_globs',
      // policy.auth sorts by subject id: the token check has none, the actor check has the account id.
      'policy.auth.least_privilege_scopes_required',
      'policy.auth.separate_identities_for_read_vs_write',
      'policy.attestation.emit_proof_bundle',
      'policy.attestation.require_gateway_receipts',
      'allowed_providers',
      'allowed_models',
      'policy.write.approval_required',
    ]);
  });

  it('names the policy it enforced by its hash', () => {
    const [first] = evaluatePolicy(seedWpc({ top: { policy_id: 'acme' } }), compliantChange(), compliantFacts());
    expect(first).toEqual({
      rule: 'policy.wpc',
      outcome: 'pass',
      code: 'OK',
      subject: { kind: 'policy', id: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) },
      evidence: { policy_hash_b64u: first?.subject?.id, tool: 'bitbucket_via_official_api', policy_id: 'acme' },
    });
  });

  it('skips (not passes) the clauses the policy switches off', () => {
    const wpc = seedWpc({
      policy: {
        write: { allow: ['create_pr'], deny: [], approval_required: false },
        auth: { least_privilege_scopes_required: false, separate_identities_for_read_vs_write: false },
        attestation: { require_gateway_receipts: false, emit_proof_bundle: false },
      },
    });
    const checks = evaluatePolicy(wpc, compliantChange({ approvals: [] }), {
      bundlePresent: false,
      gatewayReceipts: [],
    });
    expect(outcomes(checks.filter((c) => c.outcome === 'skip'))).toEqual([
      'policy.auth skip OK',
      'policy.auth skip OK',
      'policy.attestation skip OK',
      'policy.attestation skip OK',
      'policy.models skip OK',
      'policy.models skip OK',
      'policy.approval skip OK',
    ]);
    expect(failures(checks)).toEqual([]);
  });
});

describe('repos_allowlist', () => {
  it('fails a repository that is not listed', () => {
    const checks = evaluatePolicy(
      seedWpc(),
      compliantChange({ repoSlug: 'proj-api', repoFullName: 'WORKSPACE_A/proj-api' }),
      compliantFacts(),
    );
    expect(ofRule(checks, 'policy.repos_allowlist')).toEqual([
      {
        rule: 'policy.repos_allowlist',
        outcome: 'fail',
        code: 'REPO_NOT_ALLOWED',
        subject: { kind: 'repository', id: 'WORKSPACE_A/proj-api' },
        evidence: { clause: 'policy.repos_allowlist', repo: 'WORKSPACE_A/proj-api' },
      },
    ]);
  });

  it('matches case-insensitively (Bitbucket slugs are)', () => {
    const checks = evaluatePolicy(
      seedWpc(),
      compliantChange({ workspace: 'workspace_a', repoSlug: 'PROJ-WEB', repoFullName: 'Workspace_A/Proj-Web' }),
      compliantFacts(),
    );
    expect(ofRule(checks, 'policy.repos_allowlist')[0]?.outcome).toBe('pass');
  });

  it('fails when the full name and the workspace/slug pair disagree and one is not listed', () => {
    const checks = evaluatePolicy(
      seedWpc(),
      compliantChange({ workspace: 'OTHER', repoFullName: 'WORKSPACE_A/proj-web' }),
      compliantFacts(),
    );
    expect(ofRule(checks, 'policy.repos_allowlist').map((c) => [c.code, c.subject?.id])).toEqual([
      ['REPO_NOT_ALLOWED', 'OTHER/proj-web'],
    ]);
  });

  it('is exact: a prefix or a sibling repository does not match', () => {
    for (const slug of ['proj-web2', 'proj', 'proj-we']) {
      const checks = evaluatePolicy(
        seedWpc(),
        compliantChange({ repoSlug: slug, repoFullName: `WORKSPACE_A/${slug}` }),
        compliantFacts(),
      );
      expect(ofRule(checks, 'policy.repos_allowlist')[0]?.code).toBe('REPO_NOT_ALLOWED');
    }
  });
});

describe('write.allow / write.deny', () => {
  it.each([
    ['create_pr', 'pass', 'OK'],
    ['create_branch', 'pass', 'OK'],
    ['comment_pr', 'pass', 'OK'],
    ['merge_pr', 'fail', 'ACTION_DENIED'],
    ['delete_branch', 'fail', 'ACTION_DENIED'],
    ['direct_push_main', 'fail', 'ACTION_DENIED'],
    ['change_repo_permissions', 'fail', 'ACTION_DENIED'],
  ] as const)('%s → %s %s under the seed', (action, outcome, code) => {
    const [check] = ofRule(
      evaluatePolicy(seedWpc(), compliantChange({ action }), compliantFacts()),
      'policy.write_actions',
    );
    expect(check).toMatchObject({ outcome, code, subject: { kind: 'action', id: action }, evidence: { action } });
  });

  it('an action in neither list is not allowed (default deny)', () => {
    const wpc = seedWpc({ policy: { write: { allow: ['create_pr'], deny: ['merge_pr'], approval_required: true } } });
    const [check] = ofRule(
      evaluatePolicy(wpc, compliantChange({ action: 'comment_pr' }), compliantFacts()),
      'policy.write_actions',
    );
    expect(check).toEqual({
      rule: 'policy.write_actions',
      outcome: 'fail',
      code: 'ACTION_NOT_ALLOWED',
      subject: { kind: 'action', id: 'comment_pr' },
      evidence: { clause: 'policy.write.allow', action: 'comment_pr' },
    });
  });

  it('deny wins over allow (even in a WPC built without the parser)', () => {
    const base = seedWpc();
    const wpc: BitbucketWpc = {
      ...base,
      policy: {
        ...base.policy,
        write: { allow: ['merge_pr', 'create_pr'], deny: ['merge_pr'], approval_required: true },
      },
    };
    expect(
      ofRule(evaluatePolicy(wpc, compliantChange({ action: 'merge_pr' }), compliantFacts()), 'policy.write_actions')[0]
        ?.code,
    ).toBe('ACTION_DENIED');
  });
});

describe('paths.deny_globs', () => {
  const pathChecks = (files: ChangedFile[], facts: Partial<PolicyFacts> = {}) =>
    ofRule(evaluatePolicy(seedWpc(), compliantChange({ files }), compliantFacts(facts)), 'policy.paths');
  const denied = (files: ChangedFile[]) =>
    pathChecks(files)
      .filter((c) => c.code === 'PATH_DENIED')
      .map((c) => [c.subject?.id, c.evidence?.side]);

  it('one failing check per denied file, pinned to it, with glob, status and side', () => {
    const checks = pathChecks([
      { status: 'modified', path: 'src/app.ts' },
      { status: 'added', path: '.github/workflows/ci.yml' },
      { status: 'modified', path: 'bitbucket-pipelines.yml' },
    ]);
    expect(checks).toEqual([
      {
        rule: 'policy.paths',
        outcome: 'fail',
        code: 'PATH_DENIED',
        subject: { kind: 'file', id: '.github/workflows/ci.yml' },
        evidence: {
          clause: 'policy.paths.deny_globs',
          glob: '**/.github/**',
          globs: ['**/.github/**'],
          status: 'added',
          side: 'new',
          provenance: 'attested',
        },
      },
      {
        rule: 'policy.paths',
        outcome: 'fail',
        code: 'PATH_DENIED',
        subject: { kind: 'file', id: 'bitbucket-pipelines.yml' },
        evidence: {
          clause: 'policy.paths.deny_globs',
          glob: '**/bitbucket-pipelines.yml',
          globs: ['**/bitbucket-pipelines.yml'],
          status: 'modified',
          side: 'new',
          provenance: 'attested',
        },
      },
    ]);
  });

  it('passes with the number of paths checked when nothing matches', () => {
    expect(
      pathChecks([
        { status: 'modified', path: 'src/app.ts' },
        { status: 'renamed', path: 'b.ts', oldPath: 'a.ts' },
      ]),
    ).toEqual([
      {
        rule: 'policy.paths',
        outcome: 'pass',
        code: 'OK',
        evidence: { clause: 'policy.paths.deny_globs', globs: 4, paths_checked: 3 },
      },
    ]);
  });

  it('root-level and nested bitbucket-pipelines.yml', () => {
    expect(
      denied([
        { status: 'modified', path: 'bitbucket-pipelines.yml' },
        { status: 'added', path: 'a/b/bitbucket-pipelines.yml' },
      ]),
    ).toEqual([
      ['a/b/bitbucket-pipelines.yml', 'new'],
      ['bitbucket-pipelines.yml', 'new'],
    ]);
  });

  it('dotfile directories at the root and nested', () => {
    expect(
      denied([
        { status: 'added', path: '.pipeline/x' },
        { status: 'added', path: 'svc/.pipeline/deploy.sh' },
        { status: 'modified', path: '.github/workflows/a.yml' },
      ]),
    ).toEqual([
      ['.github/workflows/a.yml', 'new'],
      ['.pipeline/x', 'new'],
      ['svc/.pipeline/deploy.sh', 'new'],
    ]);
  });

  it('case-insensitive: Bitbucket-Pipelines.yml, security.md, .GITHUB/', () => {
    expect(
      denied([
        { status: 'modified', path: 'Bitbucket-Pipelines.yml' },
        { status: 'added', path: 'security.md' },
        { status: 'added', path: '.GITHUB/x.yml' },
      ]).map(([id]) => id),
    ).toEqual(['.GITHUB/x.yml', 'Bitbucket-Pipelines.yml', 'security.md']);
  });

  it('normalises ./, /, backslashes and .. so a spelling cannot dodge a glob, and records the raw path', () => {
    const checks = pathChecks([
      { status: 'added', path: './bitbucket-pipelines.yml' },
      { status: 'added', path: '/.pipeline/x' },
      { status: 'added', path: '.github\\workflows\\a.yml' },
      { status: 'added', path: 'src/../SECURITY.md' },
    ]);
    expect(checks.map((c) => [c.subject?.id, c.evidence?.path_as_given])).toEqual([
      ['.github/workflows/a.yml', '.github\\workflows\\a.yml'],
      ['.pipeline/x', '/.pipeline/x'],
      ['SECURITY.md', 'src/../SECURITY.md'],
      ['bitbucket-pipelines.yml', './bitbucket-pipelines.yml'],
    ]);
  });

  it('removed files are matched (side old)', () => {
    expect(pathChecks([{ status: 'removed', path: '.github/CODEOWNERS' }])).toEqual([
      expect.objectContaining({
        code: 'PATH_DENIED',
        subject: { kind: 'file', id: '.github/CODEOWNERS' },
        evidence: expect.objectContaining({ status: 'removed', side: 'old' }),
      }),
    ]);
  });

  it('renames: only the old path denied (moving a protected file out)', () => {
    const checks = pathChecks([
      { status: 'renamed', path: 'ci/old-pipelines.yml', oldPath: 'bitbucket-pipelines.yml' },
    ]);
    expect(checks).toEqual([
      {
        rule: 'policy.paths',
        outcome: 'fail',
        code: 'PATH_DENIED',
        subject: { kind: 'file', id: 'bitbucket-pipelines.yml' },
        evidence: {
          clause: 'policy.paths.deny_globs',
          glob: '**/bitbucket-pipelines.yml',
          globs: ['**/bitbucket-pipelines.yml'],
          status: 'renamed',
          side: 'old',
          provenance: 'attested',
          renamed_to: 'ci/old-pipelines.yml',
        },
      },
    ]);
  });

  it('renames: only the new path denied (moving a file into a protected place)', () => {
    const checks = pathChecks([{ status: 'renamed', path: '.github/workflows/evil.yml', oldPath: 'docs/notes.yml' }]);
    expect(checks).toEqual([
      {
        rule: 'policy.paths',
        outcome: 'fail',
        code: 'PATH_DENIED',
        subject: { kind: 'file', id: '.github/workflows/evil.yml' },
        evidence: {
          clause: 'policy.paths.deny_globs',
          glob: '**/.github/**',
          globs: ['**/.github/**'],
          status: 'renamed',
          side: 'new',
          provenance: 'attested',
          renamed_from: 'docs/notes.yml',
        },
      },
    ]);
  });

  it('renames: both sides denied give two checks', () => {
    expect(denied([{ status: 'renamed', path: '.github/b.yml', oldPath: '.pipeline/a.yml' }])).toEqual([
      ['.github/b.yml', 'new'],
      ['.pipeline/a.yml', 'old'],
    ]);
  });

  it('a directory named by a glob denies what is under it; evidence says which directory matched', () => {
    const wpc = seedWpc({ policy: { paths: { deny_globs: ['infra/secrets'] } } });
    const checks = ofRule(
      evaluatePolicy(
        wpc,
        compliantChange({ files: [{ status: 'added', path: 'infra/secrets/prod.env' }] }),
        compliantFacts(),
      ),
      'policy.paths',
    );
    expect(checks[0]?.evidence).toMatchObject({ glob: 'infra/secrets', matched_directory: 'infra/secrets' });
  });

  it('records per-file provenance against the attested commit', () => {
    const change = compliantChange({
      files: [
        { status: 'added', path: '.github/a.yml' },
        { status: 'added', path: '.github/b.yml' },
      ],
      commits: [
        { hash: COMMITS[0], paths: ['.github/a.yml', '.github/b.yml'] },
        { hash: COMMITS[1], paths: ['.github/b.yml'] },
      ],
    });
    const checks = ofRule(
      evaluatePolicy(seedWpc(), change, compliantFacts({ attestedCommit: COMMITS[0] })),
      'policy.paths',
    );
    expect(checks.map((c) => [c.subject?.id, c.evidence?.provenance])).toEqual([
      ['.github/a.yml', 'attested'],
      ['.github/b.yml', 'changed_after_attestation'],
    ]);
    const unattested = ofRule(
      evaluatePolicy(seedWpc(), change, compliantFacts({ attestedCommit: undefined })),
      'policy.paths',
    );
    expect(unattested.map((c) => c.evidence?.provenance)).toEqual(['unattested', 'unattested']);
  });

  it('reports a path listed twice once', () => {
    expect(
      denied([
        { status: 'modified', path: 'SECURITY.md' },
        { status: 'modified', path: './SECURITY.md' },
      ]),
    ).toEqual([['SECURITY.md', 'new']]);
  });
});

describe('auth.least_privilege_scopes_required', () => {
  const authChecks = (facts: Partial<PolicyFacts>) =>
    ofRule(evaluatePolicy(seedWpc(), compliantChange(), compliantFacts(facts)), 'policy.auth').filter(
      (c) => c.evidence?.clause === 'policy.auth.least_privilege_scopes_required',
    );

  it('passes narrow scopes and lists them', () => {
    expect(authChecks({ cstScopes: ['proxy:call', 'pullrequest'] })).toEqual([
      {
        rule: 'policy.auth',
        outcome: 'pass',
        code: 'OK',
        subject: { kind: 'token' },
        evidence: { clause: 'policy.auth.least_privilege_scopes_required', scopes: ['proxy:call', 'pullrequest'] },
      },
    ]);
  });

  it('fails each wildcard or admin scope, one check per scope', () => {
    const checks = authChecks({
      cstScopes: ['proxy:call', '*', 'proxy:*', 'repository:admin', 'ADMIN:*', 'admin:repository:bitbucket'],
    });
    expect(checks.map((c) => [c.code, c.subject?.id, c.evidence?.problems])).toEqual([
      ['SCOPE_NOT_LEAST_PRIVILEGE', '*', ['wildcard']],
      ['SCOPE_NOT_LEAST_PRIVILEGE', 'ADMIN:*', ['wildcard', 'admin']],
      ['SCOPE_NOT_LEAST_PRIVILEGE', 'admin:repository:bitbucket', ['admin']],
      ['SCOPE_NOT_LEAST_PRIVILEGE', 'proxy:*', ['wildcard']],
      ['SCOPE_NOT_LEAST_PRIVILEGE', 'repository:admin', ['admin']],
    ]);
  });

  it('fails closed when no CST is known', () => {
    expect(authChecks({ cstScopes: undefined })).toEqual([
      {
        rule: 'policy.auth',
        outcome: 'fail',
        code: 'CST_MISSING',
        subject: { kind: 'token' },
        evidence: { clause: 'policy.auth.least_privilege_scopes_required' },
      },
    ]);
  });
});

describe('auth.separate_identities_for_read_vs_write', () => {
  const clause = 'policy.auth.separate_identities_for_read_vs_write';
  const identityChecks = (overrides: Parameters<typeof compliantChange>[0]) =>
    ofRule(evaluatePolicy(seedWpc(), compliantChange(overrides), compliantFacts()), 'policy.auth').filter(
      (c) => c.evidence?.clause === clause,
    );

  it('passes a write identity distinct from the read identity', () => {
    expect(identityChecks({})).toEqual([
      {
        rule: 'policy.auth',
        outcome: 'pass',
        code: 'OK',
        subject: { kind: 'actor', id: AGENT_WRITE },
        evidence: { clause, read_identities: 1 },
      },
    ]);
  });

  it('fails an actor that is not a registered write identity', () => {
    expect(identityChecks({ actor: { accountId: HUMAN } })).toEqual([
      {
        rule: 'policy.auth',
        outcome: 'fail',
        code: 'IDENTITIES_NOT_SEPARATED',
        subject: { kind: 'actor', id: HUMAN },
        evidence: { clause, problem: 'actor_not_write_identity' },
      },
    ]);
  });

  it('fails a read identity acting (opening a PR)', () => {
    const checks = identityChecks({ actor: { accountId: AGENT_READ, agentIdentity: { role: 'read' } } });
    expect(checks.map((c) => c.evidence?.problem)).toEqual(['actor_not_write_identity', 'actor_is_read_identity']);
  });

  it('fails an actor registered with both roles, however its id is spelled', () => {
    const checks = identityChecks({
      agentIdentities: [
        { accountId: AGENT_WRITE, role: 'write' },
        { accountId: ` ${AGENT_WRITE.toUpperCase()} `, role: 'read' },
      ],
    });
    expect(checks.map((c) => [c.code, c.evidence?.problem])).toEqual([
      ['IDENTITIES_NOT_SEPARATED', 'actor_is_read_identity'],
    ]);
  });

  it('fails when the surface says the actor is a read identity even if the registry lists it as write', () => {
    const checks = identityChecks({ actor: { accountId: AGENT_WRITE, agentIdentity: { role: 'read' } } });
    expect(checks.map((c) => c.evidence?.problem)).toEqual(['actor_is_read_identity']);
  });

  it('fails any other account registered with both roles', () => {
    const other = '{cccccccc-0000-4000-8000-000000000004}';
    const checks = identityChecks({
      agentIdentities: [
        { accountId: AGENT_WRITE, role: 'write' },
        { accountId: AGENT_READ, role: 'read' },
        { accountId: other, role: 'read' },
        { accountId: other, role: 'write' },
      ],
    });
    expect(checks).toEqual([
      {
        rule: 'policy.auth',
        outcome: 'fail',
        code: 'IDENTITIES_NOT_SEPARATED',
        subject: { kind: 'actor', id: other },
        evidence: { clause, problem: 'account_has_both_roles' },
      },
    ]);
  });
});

describe('attestation', () => {
  const attestation = (facts: Partial<PolicyFacts>) =>
    ofRule(evaluatePolicy(seedWpc(), compliantChange(), compliantFacts(facts)), 'policy.attestation');

  it('emit_proof_bundle: a bundle is required', () => {
    expect(attestation({ bundlePresent: false })[0]).toEqual({
      rule: 'policy.attestation',
      outcome: 'fail',
      code: 'BUNDLE_REQUIRED',
      subject: { kind: 'bundle' },
      evidence: { clause: 'policy.attestation.emit_proof_bundle' },
    });
  });

  it('require_gateway_receipts: at least one counted receipt; uncounted ones do not count', () => {
    const uncounted = [{ receiptId: 'gr_x', provider: 'anthropic', model: 'claude-sonnet-4', counted: false }];
    expect(attestation({ gatewayReceipts: uncounted })[1]).toEqual({
      rule: 'policy.attestation',
      outcome: 'fail',
      code: 'GATEWAY_RECEIPTS_REQUIRED',
      subject: { kind: 'bundle' },
      evidence: { clause: 'policy.attestation.require_gateway_receipts', counted: 0, present: 1 },
    });
    expect(attestation({ gatewayReceipts: [] })[1]?.code).toBe('GATEWAY_RECEIPTS_REQUIRED');
    expect(
      attestation({ gatewayReceipts: [...uncounted, { ...uncounted[0]!, receiptId: 'gr_y', counted: true }] })[1],
    ).toMatchObject({ outcome: 'pass', evidence: { counted: 1, present: 2 } });
  });
});

describe('allowed_providers / allowed_models', () => {
  const wpc = wpcFrom({ ...seedWpcDocument(), allowed_providers: ['anthropic'], allowed_models: ['claude-*'] });
  const receipt = (receiptId: string, provider: string, model: string, counted = true) => ({
    receiptId,
    provider,
    model,
    counted,
  });
  const modelChecks = (w: BitbucketWpc, receipts: PolicyFacts['gatewayReceipts']) =>
    ofRule(evaluatePolicy(w, compliantChange(), compliantFacts({ gatewayReceipts: receipts })), 'policy.models');

  it('passes when both lists allow every receipt', () => {
    expect(
      outcomes(
        modelChecks(wpc, [
          receipt('gr_1', 'anthropic', 'claude-sonnet-4'),
          receipt('gr_2', 'anthropic', 'claude-opus-4'),
        ]),
      ),
    ).toEqual(['policy.models pass OK', 'policy.models pass OK']);
  });

  it('AND semantics: a listed provider with an unlisted model fails (the reference would allow it)', () => {
    expect(modelChecks(wpc, [receipt('gr_1', 'anthropic', 'llama-3')])).toEqual([
      {
        rule: 'policy.models',
        outcome: 'pass',
        code: 'OK',
        evidence: { clause: 'allowed_providers', receipts_checked: 1 },
      },
      {
        rule: 'policy.models',
        outcome: 'fail',
        code: 'MODEL_NOT_ALLOWED',
        subject: { kind: 'gateway_receipt', id: 'gr_1' },
        evidence: { clause: 'allowed_models', provider: 'anthropic', model: 'llama-3', counted: true },
      },
    ]);
  });

  it('AND semantics: a listed model pattern from an unlisted provider fails', () => {
    expect(
      modelChecks(wpc, [receipt('gr_1', 'openai', 'claude-sonnet-4')]).map((c) => [c.code, c.subject?.id]),
    ).toEqual([
      ['OK', undefined],
      ['PROVIDER_NOT_ALLOWED', 'gr_1'],
    ]);
  });

  it('checks every receipt, counted or not, one check per offending receipt and code, ordered by receipt id', () => {
    const checks = modelChecks(wpc, [
      receipt('gr_b', 'google', 'gemini-2', false),
      receipt('gr_a', 'anthropic', 'claude-x'),
      receipt('gr_c', 'openai', 'claude-y'),
    ]);
    expect(checks.map((c) => [c.subject?.id, c.code, c.evidence?.counted])).toEqual([
      ['gr_b', 'PROVIDER_NOT_ALLOWED', false],
      ['gr_b', 'MODEL_NOT_ALLOWED', false],
      ['gr_c', 'PROVIDER_NOT_ALLOWED', true],
    ]);
  });

  it('model globs follow the Clawsig rule: * stays within a segment, matching is case-sensitive', () => {
    expect(modelChecks(wpc, [receipt('gr_1', 'anthropic', 'claude-3/opus')]).map((c) => c.code)).toEqual([
      'OK',
      'MODEL_NOT_ALLOWED',
    ]);
    expect(modelChecks(wpc, [receipt('gr_1', 'anthropic', 'Claude-3')]).map((c) => c.code)).toEqual([
      'OK',
      'MODEL_NOT_ALLOWED',
    ]);
    expect(modelChecks(wpc, [receipt('gr_1', 'Anthropic', 'claude-3')]).map((c) => c.code)).toEqual([
      'OK',
      'PROVIDER_NOT_ALLOWED',
    ]);
  });

  it('only the list that is present constrains', () => {
    const providersOnly = wpcFrom({ ...seedWpcDocument(), allowed_providers: ['openai'] });
    expect(
      modelChecks(providersOnly, [receipt('gr_1', 'openai', 'anything/at-all')]).map(
        (c) => `${c.outcome} ${c.evidence?.clause}`,
      ),
    ).toEqual(['pass allowed_providers', 'skip allowed_models']);
    const modelsOnly = wpcFrom({ ...seedWpcDocument(), allowed_models: ['gpt-5*'] });
    expect(
      modelChecks(modelsOnly, [receipt('gr_1', 'some-other-provider', 'gpt-5-mini')]).map(
        (c) => `${c.outcome} ${c.evidence?.clause}`,
      ),
    ).toEqual(['skip allowed_providers', 'pass allowed_models']);
  });
});

describe('write.approval_required', () => {
  const approval = (overrides: Parameters<typeof compliantChange>[0]) =>
    ofRule(evaluatePolicy(seedWpc(), compliantChange(overrides), compliantFacts()), 'policy.approval');
  const clause = 'policy.write.approval_required';

  it('is pending (not failing) without approvals', () => {
    expect(approval({ approvals: [] })).toEqual([
      {
        rule: 'policy.approval',
        outcome: 'pending',
        code: 'APPROVAL_REQUIRED',
        subject: { kind: 'pull_request', id: '7' },
        evidence: { clause, approvals: 0, counted: 0 },
      },
    ]);
  });

  it('passes once a human who is not an agent identity approves', () => {
    expect(approval({ approvals: [{ accountId: HUMAN, isAgentIdentity: false }] })).toEqual([
      {
        rule: 'policy.approval',
        outcome: 'pass',
        code: 'OK',
        subject: { kind: 'pull_request', id: '7' },
        evidence: { clause, approvals: 1, counted: 1, approvers: [HUMAN] },
      },
    ]);
  });

  it('an agent approving does not count', () => {
    expect(approval({ approvals: [{ accountId: AGENT_READ, isAgentIdentity: true }] })[0]).toMatchObject({
      outcome: 'pending',
      evidence: { approvals: 1, counted: 0 },
    });
  });

  it('an approver the surface flags as an agent does not count even if it is missing from the registry', () => {
    expect(
      approval({ approvals: [{ accountId: '{eeeeeeee-0000-4000-8000-000000000006}', isAgentIdentity: true }] })[0]
        ?.outcome,
    ).toBe('pending');
  });

  it('a registered agent account does not count even when the surface did not flag it', () => {
    expect(approval({ approvals: [{ accountId: AGENT_READ.toUpperCase(), isAgentIdentity: false }] })[0]?.outcome).toBe(
      'pending',
    );
  });

  it('the actor approving its own PR does not count', () => {
    const actor = { accountId: '{dddddddd-0000-4000-8000-000000000005}' };
    expect(approval({ actor, approvals: [{ accountId: actor.accountId, isAgentIdentity: false }] })[0]?.outcome).toBe(
      'pending',
    );
  });

  it('one human approval among agent approvals suffices', () => {
    expect(
      approval({
        approvals: [
          { accountId: AGENT_READ, isAgentIdentity: true },
          { accountId: HUMAN, isAgentIdentity: false },
        ],
      })[0],
    ).toMatchObject({ outcome: 'pass', evidence: { counted: 1, approvers: [HUMAN] } });
  });
});

describe('ordering and determinism', () => {
  it('orders by RULES, then subject id, regardless of input order', () => {
    const files: ChangedFile[] = [
      { status: 'added', path: 'z/.github/a.yml' },
      { status: 'added', path: 'a/.github/a.yml' },
      { status: 'added', path: 'm/SECURITY.md' },
    ];
    const facts = compliantFacts({ cstScopes: ['x:*', 'a:*'], bundlePresent: false });
    const a = evaluatePolicy(seedWpc(), compliantChange({ files, action: 'merge_pr', approvals: [] }), facts);
    const b = evaluatePolicy(
      seedWpc(),
      compliantChange({ files: [...files].reverse(), action: 'merge_pr', approvals: [] }),
      { ...facts, cstScopes: ['a:*', 'x:*'] },
    );
    expect(b).toEqual(a);
    const ruleIndexes = a.map((c) => RULES.indexOf(c.rule));
    expect(ruleIndexes).toEqual([...ruleIndexes].sort((x, y) => x - y));
    expect(ofRule(a, 'policy.paths').map((c) => c.subject?.id)).toEqual([
      'a/.github/a.yml',
      'm/SECURITY.md',
      'z/.github/a.yml',
    ]);
    expect(failures(a).map((c) => c.code)).toEqual([
      'ACTION_DENIED',
      'PATH_DENIED',
      'PATH_DENIED',
      'PATH_DENIED',
      'SCOPE_NOT_LEAST_PRIVILEGE',
      'SCOPE_NOT_LEAST_PRIVILEGE',
      'BUNDLE_REQUIRED',
      'APPROVAL_REQUIRED',
    ]);
  });

  it('every check is JSON-safe (survives a JSON round trip unchanged)', () => {
    const checks = evaluatePolicy(
      seedWpc(),
      compliantChange({ files: [{ status: 'renamed', path: '.github/x', oldPath: 'y' }] }),
      compliantFacts(),
    );
    expect(JSON.parse(JSON.stringify(checks))).toEqual(checks);
  });
});
