import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runAgent } from '../../src/cli/agent-command';
import {
  bitbucketBinding,
  proofBundleLine,
  setProofBundleLine,
  trustPulseBinding,
  urmReference,
} from '../../src/agent';
import { startSandbox, type BitbucketSandbox } from '../../src/sandbox';
import type { ClawgateServer } from '../../src/server/create-server';
import { createTestKey, makeBitbucketWpc, makeScenario } from '../../src/testkit';
import { callApi, finalStatus, prepareWorkspace, startTestClawgate, type Workspace } from '../e2e/harness';

function cli(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      stdout: (s: string) => void out.push(s),
      stderr: (s: string) => void err.push(s),
      now: () => Date.now(),
      env,
    },
  };
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.name=agent', '-c', 'user.email=agent@example.com', '-c', 'commit.gpgsign=false', ...args],
    { cwd, encoding: 'utf8' },
  ).trim();
}

function writeRun(dir: string, s: ReturnType<typeof makeScenario>): string {
  const bundleFile = path.join(dir, `${s.bundle.runId}-bundle.json`);
  writeFileSync(bundleFile, JSON.stringify(s.bundle.envelope));
  writeFileSync(path.join(dir, `${s.bundle.runId}-urm.json`), JSON.stringify(s.bundle.urm));
  writeFileSync(path.join(dir, `${s.bundle.runId}-trust-pulse.json`), JSON.stringify(s.bundle.trustPulse));
  return bundleFile;
}

describe('clawgate agent preflight (offline, from the local git branch)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'clawgate-agent-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("PASS before the PR exists; a denied path on the branch fails with the PR's reason code; the harness siblings are found", async () => {
    const repo = path.join(dir, 'repo');
    mkdirSync(repo);
    git(repo, 'init', '-q', '-b', 'main');
    writeFileSync(path.join(repo, 'README.md'), '# r\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'base');
    git(repo, 'checkout', '-q', '-b', 'agent/work');
    mkdirSync(path.join(repo, 'src'));
    writeFileSync(path.join(repo, 'src', 'a.ts'), 'export const a = 1;\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'agent work');
    const work = git(repo, 'rev-parse', 'HEAD');

    const keys = { agent: createTestKey(), gateway: createTestKey(), issuer: createTestKey() };
    const wpc = makeBitbucketWpc({
      repos: ['acme/proj-web'],
      allowedProviders: ['anthropic'],
      allowedModels: ['claude-*'],
    });
    const s = makeScenario({
      workspace: 'acme',
      repoSlug: 'proj-web',
      commit: work,
      branch: 'agent/work',
      wpc,
      startMs: Date.now() - 60_000,
      ...keys,
      trustPulse: { tools: [{ name: 'edit_file', calls: 1 }], files: [{ path: 'src/a.ts', touches: 1 }] },
    });
    const runs = path.join(dir, 'artifacts');
    mkdirSync(runs);
    const bundleFile = writeRun(runs, s);
    const wpcFile = path.join(dir, 'wpc.json');
    writeFileSync(wpcFile, JSON.stringify(wpc));
    const args = [
      'preflight',
      '--bundle',
      bundleFile,
      '--base',
      'main',
      '-C',
      repo,
      '--wpc',
      wpcFile,
      '--trusted-gateway',
      keys.gateway.did,
      '--cst-issuer-key',
      keys.issuer.publicKeyB64u,
    ];

    const ok = cli();
    expect(await runAgent([...args, '--format', 'json'], ok.io)).toBe(0);
    const verdict = JSON.parse(ok.out.join('')) as {
      state: string;
      reason_code: string;
      trust_pulse: { status: string; comparison: { unreported_diff_paths: string[] } };
    };
    expect(verdict).toMatchObject({
      state: 'PASS',
      reason_code: 'OK',
      trust_pulse: { status: 'verified', comparison: { unreported_diff_paths: [] } },
    });

    // The agent pushes a CI change after its attested commit: it fails before the PR exists.
    mkdirSync(path.join(repo, '.github'));
    writeFileSync(path.join(repo, '.github', 'ci.yml'), 'on: push\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'ci');
    const bad = cli();
    expect(await runAgent([...args, '--format', 'json'], bad.io)).toBe(1);
    expect(JSON.parse(bad.out.join(''))).toMatchObject({ state: 'FAIL' });
    const codes = (JSON.parse(bad.out.join('')) as { checks: { code: string }[] }).checks.map((c) => c.code);
    expect(codes).toContain('PATH_DENIED');

    const text = cli();
    expect(await runAgent(args, text.io)).toBe(1);
    expect(text.out.join('')).toContain("Trust Pulse (self-reported by the agent's harness): verified");
  }, 30_000);

  test('usage errors exit 2 and name the problem', async () => {
    const noBase = cli();
    expect(await runAgent(['preflight', '--bundle', 'x.json', '--wpc', 'w.json'], noBase.io)).toBe(2);
    expect(noBase.err.join('')).toContain('--base');
    const noToken = cli();
    writeFileSync(
      path.join(dir, 'b.json'),
      JSON.stringify(makeScenario({ workspace: 'a', repoSlug: 'b', commit: 'a'.repeat(40) }).bundle.envelope),
    );
    expect(
      await runAgent(
        ['attach', '--bundle', path.join(dir, 'b.json'), '--service', 'http://127.0.0.1:9', '--workspace', 'a'],
        noToken.io,
      ),
    ).toBe(2);
    expect(noToken.err.join('')).toContain('CLAWGATE_TOKEN');
    const plainHttp = cli({ CLAWGATE_TOKEN: 't' });
    expect(
      await runAgent(
        ['attach', '--bundle', path.join(dir, 'b.json'), '--service', 'http://example.com', '--workspace', 'a'],
        plainHttp.io,
      ),
    ).toBe(2);
  });
});

describe('clawgate agent preflight --service and attach, against clawgate and the sandbox', () => {
  let sandbox: BitbucketSandbox;
  let app: ClawgateServer;
  let ws: Workspace;
  let dir: string;
  beforeAll(async () => {
    sandbox = await startSandbox();
    app = await startTestClawgate(sandbox);
    ws = await prepareWorkspace(sandbox, app.url);
    dir = mkdtempSync(path.join(tmpdir(), 'clawgate-agent-svc-'));
  }, 30_000);
  afterAll(async () => {
    await app.close();
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('preflight answers what the PR then gets; attach uploads bundle, URM and pulse and sets the Proof-Bundle line; a replay is caught before the PR', async () => {
    const work = sandbox.commit('acme/proj-web', {
      branch: 'agent/svc',
      author: 'claw-bot',
      message: 'agent work',
      files: { 'src/svc.ts': 'export const svc = 1;\n' },
    });
    const s = makeScenario({
      workspace: 'acme',
      repoSlug: 'proj-web',
      commit: work.hash,
      branch: 'agent/svc',
      wpc: ws.wpc,
      startMs: Date.now() - 60_000,
      ...ws.keys,
      trustPulse: { tools: [{ name: 'edit_file', calls: 2 }], files: [{ path: 'src/svc.ts', touches: 2 }] },
    });
    const bundleFile = writeRun(dir, s);
    const changesFile = path.join(dir, 'changes.json');
    writeFileSync(
      changesFile,
      JSON.stringify({
        workspace: 'acme',
        repoSlug: 'proj-web',
        actor: { accountId: 'agent' },
        pullRequest: { id: 1, sourceBranch: 'agent/svc', destinationBranch: 'main', headCommit: work.hash },
        files: [{ status: 'added', path: 'src/svc.ts' }],
        commits: [{ hash: work.hash, paths: ['src/svc.ts'] }],
      }),
    );
    const env = { CLAWGATE_TOKEN: ws.bearer.replace(/^Bearer /, '') };
    const common = ['--bundle', bundleFile, '--service', app.url, '--workspace', 'acme'];

    const pre = cli(env);
    expect(await runAgent(['preflight', ...common, '--changes', changesFile, '--format', 'json'], pre.io)).toBe(0);
    const preVerdict = JSON.parse(pre.out.join('')) as {
      state: string;
      reason_code: string;
      checks: unknown[];
      trust_pulse: { status: string };
    };
    expect(preVerdict).toMatchObject({
      preflight: true,
      state: 'PASS',
      reason_code: 'OK',
      trust_pulse: { status: 'verified' },
    });

    const description = path.join(dir, 'pr.md');
    writeFileSync(description, 'Adds svc.\n\nProof-Bundle: stale-id\n');
    const attach = cli(env);
    expect(await runAgent(['attach', ...common, '--set', description], attach.io)).toBe(0);
    expect(attach.out.join('')).toBe(`Proof-Bundle: ${s.bundle.bundleId}\n`);
    expect(readFileSync(description, 'utf8')).toBe(`Adds svc.\n\nProof-Bundle: ${s.bundle.bundleId}\n`);

    const pr = sandbox.openPullRequest('acme/proj-web', {
      source: 'agent/svc',
      author: 'claw-bot',
      title: 'svc',
      description: readFileSync(description, 'utf8'),
    });
    expect((await finalStatus(sandbox, work.hash)).state).toBe('SUCCESSFUL');
    const list = await callApi(
      app.url,
      'GET',
      `/api/v1/workspaces/acme/evaluations?repo=acme/proj-web&pr=${pr.id}`,
      ws.bearer,
    );
    const id = (list.json.evaluations as { id: string }[])[0]!.id;
    const detail = await callApi(app.url, 'GET', `/api/v1/workspaces/acme/evaluations/${id}`, ws.bearer);
    const prVerdict = detail.json.verdict as {
      state: string;
      reason_code: string;
      checks: unknown[];
      trust_pulse: { status: string };
    };
    expect([prVerdict.state, prVerdict.reason_code, prVerdict.trust_pulse.status]).toEqual([
      preVerdict.state,
      preVerdict.reason_code,
      preVerdict.trust_pulse.status,
    ]);
    // Same engine, same checks (rule, outcome, code), apart from the PR's id in subjects.
    const shape = (checks: unknown[]) =>
      (checks as { rule: string; outcome: string; code: string }[]).map((c) => `${c.rule}:${c.outcome}:${c.code}`);
    expect(shape(prVerdict.checks)).toEqual(shape(preVerdict.checks));

    // The bundle is now consumed by that PR: presenting it again is a replay, known before any PR.
    const replay = cli(env);
    expect(await runAgent(['preflight', ...common, '--changes', changesFile, '--format', 'json'], replay.io)).toBe(1);
    expect(JSON.parse(replay.out.join(''))).toMatchObject({ state: 'FAIL', reason_code: 'REPLAY' });
  }, 40_000);
});

describe('clawgate/agent: the TypeScript API a harness uses', () => {
  test('builds the signed metadata.bitbucket binding, the URM pulse binding and the Proof-Bundle line', () => {
    expect(
      bitbucketBinding({ workspace: 'acme', repoSlug: 'proj-web', commit: 'a'.repeat(40), branch: 'agent/x' }),
    ).toEqual({ bitbucket: { workspace: 'acme', repo_slug: 'proj-web', commit: 'a'.repeat(40), branch: 'agent/x' } });
    expect(() => bitbucketBinding({ workspace: 'acme', repoSlug: 'proj-web', commit: 'abc1234', branch: 'x' })).toThrow(
      /commit/,
    );
    const s = makeScenario({
      workspace: 'acme',
      repoSlug: 'proj-web',
      commit: 'a'.repeat(40),
      trustPulse: { tools: [], files: [] },
    });
    const binding = trustPulseBinding(s.bundle.trustPulse as never);
    const urm = s.bundle.urm as { urm_id: string; metadata: unknown; outputs: unknown[] };
    expect(binding.urmMetadata).toEqual(urm.metadata);
    expect(urm.outputs).toContainEqual(binding.urmOutput);
    expect(urmReference(urm)).toEqual((s.bundle.envelope as { payload: { urm: unknown } }).payload.urm);
    expect(proofBundleLine('bundle_1')).toBe('Proof-Bundle: bundle_1');
    expect(setProofBundleLine('', 'b')).toBe('Proof-Bundle: b\n');
    expect(() => proofBundleLine('bad id')).toThrow();
  });
});
