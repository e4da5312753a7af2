import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/io';
import { makeScenario } from '../../src/testkit';
import { conformanceGatewayDids, conformanceManifest, vectorPath } from '../shared-data';

const dir = mkdtempSync(path.join(tmpdir(), 'clawgate-cli-'));
function file(name: string, content: string | object): string {
  const p = path.join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    now: () => Date.parse('2026-11-25T13:00:00Z'),
    env: {},
  };
  const code = await runCli(args, io);
  return { code, out, err };
}

const manifest = conformanceManifest();
const vector = (name: string) => vectorPath(manifest.vectors.find((v) => v.name === name)?.path ?? '');
const gw = conformanceGatewayDids()[0] ?? '';

describe('clawgate verify', () => {
  test('protocol mode: the passing vector passes, JSON has status, reason_code, checks', async () => {
    const { code, out } = await run([
      'verify',
      vector('proof_bundle.pass'),
      '--trusted-gateway',
      gw,
      '--now',
      manifest.generated_at,
      '--format',
      'json',
    ]);
    const json = JSON.parse(out) as {
      status: string;
      reason_code: string;
      checks: { rule: string; outcome: string }[];
    };
    expect(code).toBe(0);
    expect(json.status).toBe('PASS');
    expect(json.reason_code).toBe('OK');
    expect(json.checks.some((c) => c.rule === 'protocol.signature' && c.outcome === 'pass')).toBe(true);
  });

  test('protocol mode: a failing vector exits 1 with its reason code', async () => {
    const { code, out } = await run([
      'verify',
      vector('proof_bundle.fail.invalid_signature'),
      '--trusted-gateway',
      gw,
      '--format',
      'json',
    ]);
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ status: 'FAIL', reason_code: 'SIGNATURE_INVALID' });
  });

  test('no trusted gateway: DEPENDENCY_NOT_CONFIGURED', async () => {
    const { code, out } = await run([
      'verify',
      vector('proof_bundle.pass'),
      '--format',
      'json',
      '--now',
      manifest.generated_at,
    ]);
    expect(code).toBe(1);
    expect(JSON.parse(out).reason_code).toBe('DEPENDENCY_NOT_CONFIGURED');
  });

  test('commit signatures are detected and verified', async () => {
    const ok = await run(['verify', vector('commit_sig.pass'), '--format', 'json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({
      status: 'PASS',
      kind: 'commit_signature',
      commit_sha: '135016bbeda0a95d5745ff9031c1287263ea0a06',
    });
    const bad = await run(['verify', vector('commit_sig.fail.tampered_message')]);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('Verdict: FAIL (SIGNATURE_INVALID)');
  });

  test('export bundles are detected (the vector wrapper too) and verified', async () => {
    const golden = vector('export_bundle.golden');
    const ok = await run([
      'verify',
      golden,
      '--trusted-gateway',
      gw,
      '--derivation-signer',
      'did:key:z6MkneMkZqwqRiU5mJzSG3kDwzt9P8C59N4NGTfBLfSGE7c7',
      '--now',
      manifest.generated_at,
      '--format',
      'json',
    ]);
    expect(JSON.parse(ok.out)).toMatchObject({ status: 'PASS', kind: 'export_bundle', export_id: 'exp_fixture_001' });
    expect(ok.code).toBe(0);
    const bad = await run([
      'verify',
      vector('export_bundle.fail.manifest_hash_mismatch'),
      '--trusted-gateway',
      gw,
      '--now',
      manifest.generated_at,
    ]);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('Verdict: FAIL (HASH_MISMATCH)');
  });

  test('text output lists the criteria, then the verdict', async () => {
    const { out } = await run([
      'verify',
      vector('proof_bundle.pass'),
      '--trusted-gateway',
      gw,
      '--now',
      manifest.generated_at,
    ]);
    const criteria = out.indexOf('Criteria enforced:');
    const verdict = out.indexOf('Verdict: PASS (OK)');
    expect(criteria).toBeGreaterThan(-1);
    expect(verdict).toBeGreaterThan(criteria);
    expect(out).toContain('✓ Payload hash and Ed25519 signature by the agent DID are valid');
  });

  test('full profile with --wpc, --cst, --cst-issuer-key and --changes', async () => {
    const commit = 'a'.repeat(40);
    const s = makeScenario({ workspace: 'acme', repoSlug: 'proj-web', commit, tokenInMetadata: 'none' });
    const changes = {
      workspace: 'acme',
      repoSlug: 'proj-web',
      actor: { accountId: '{agent}', agentIdentity: { role: 'write', agentDid: s.agent.did } },
      pullRequest: { id: 3, sourceBranch: 'agent/change', destinationBranch: 'main', headCommit: 'b'.repeat(40) },
      files: [{ status: 'modified', path: 'src/x.ts' }],
      commits: [
        { hash: commit, paths: ['src/x.ts'] },
        { hash: 'b'.repeat(40), paths: ['.clawsig/proof_bundle.json'] },
      ],
    };
    const args = [
      'verify',
      file('bundle.json', s.bundle.envelope),
      '--wpc',
      file('wpc.json', s.wpc),
      '--cst',
      file('cst.jwt', s.cst),
      '--cst-issuer-key',
      s.issuer.publicKeyB64u,
      '--trusted-gateway',
      s.gateway.did,
      '--changes',
      file('changes.json', changes),
      '--format',
      'json',
    ];
    const good = await run(args);
    expect(JSON.parse(good.out)).toMatchObject({ status: 'PASS', reason_code: 'OK' });
    expect(good.code).toBe(0);
    const denied = await run([
      ...args.slice(0, -4),
      '--changes',
      file('changes2.json', {
        ...changes,
        files: [{ status: 'renamed', oldPath: 'ci/bitbucket-pipelines.yml', path: 'ci/old.yml' }],
      }),
      '--format',
      'json',
    ]);
    expect(denied.code).toBe(1);
    expect(JSON.parse(denied.out).reason_code).toBe('PATH_DENIED');
    const wrongIssuer = await run(args.map((a) => (a === s.issuer.publicKeyB64u ? s.agent.publicKeyB64u : a)));
    expect(JSON.parse(wrongIssuer.out).reason_code).toBe('CST_SIGNATURE_INVALID');
  });

  test.each([
    ['a missing file', () => ['verify', path.join(dir, 'nope.json')], /cannot read input .*ENOENT/],
    ['non-JSON input', () => ['verify', file('bad.json', '{not json')], /is not JSON/],
    [
      'oversized input',
      () => ['verify', file('big.json', `"${'x'.repeat(2000)}"`), '--max-bytes', '1000'],
      /over the 1000-byte limit/,
    ],
    ['a directory', () => ['verify', dir], /not a regular file/],
    ['no file', () => ['verify'], /exactly one FILE/],
    ['an unknown option', () => ['verify', 'x.json', '--bogus'], /Unknown option/],
    ['a bad --format', () => ['verify', 'x.json', '--format', 'xml'], /--format must be text or json/],
    ['a bad --now', () => ['verify', vector('proof_bundle.pass'), '--now', 'yesterday'], /not an ISO 8601/],
    [
      'a bad gateway DID',
      () => ['verify', vector('proof_bundle.pass'), '--trusted-gateway', 'did:web:x'],
      /not a did:key/,
    ],
    [
      'an invalid WPC',
      () => ['verify', vector('proof_bundle.pass'), '--wpc', file('w.json', { tool: 'x' })],
      /WPC .* is invalid: /,
    ],
    [
      'an invalid changes file',
      () => ['verify', vector('proof_bundle.pass'), '--changes', file('c.json', { workspace: 'a' })],
      /changes file .* is invalid: repoSlug/,
    ],
  ])('%s: one-line error, exit 2', async (_label, args, pattern) => {
    const { code, err, out } = await run(args());
    expect(code).toBe(2);
    expect(err).toMatch(pattern);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(out).toBe('');
  });

  test('--help and unknown commands', async () => {
    expect((await run(['verify', '--help'])).out).toContain('--trusted-gateway DID');
    expect((await run(['frobnicate'])).code).toBe(2);
  });
});
