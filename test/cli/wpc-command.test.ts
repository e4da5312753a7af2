import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { CliIo } from '../../src/cli/io';
import { runCli } from '../../src/cli/main';
import { WPC_TEMPLATE_NAMES, wpcTemplate } from '../../src/core/policy/wpc-templates';
import { readSharedJson } from '../shared-data';
import { bearer, createApiWorld, type ApiWorld } from '../api/support/api-world';

/**
 * `clawgate wpc init|check|hash|sign|keygen`: templates that the official schemas and the server
 * accept, field-path errors, weak-policy warnings, and an envelope signed with a local key file
 * that the real API accepts from a configured WPC issuer (and refuses once tampered with).
 */

let dir: string;

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    now: () => Date.parse('2026-12-07T02:00:00Z'),
    env: {},
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

function file(name: string, content?: unknown): string {
  const target = path.join(dir, name);
  if (content !== undefined) writeFileSync(target, typeof content === 'string' ? content : JSON.stringify(content));
  return target;
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'clawgate-wpc-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('wpc init', () => {
  test('the default template is the seed policy; with --repo it checks clean and the printed hash is what the API stores', async () => {
    const world = await createApiWorld();
    try {
      const init = await run('wpc', 'init', '--repo', 'acme/web', '--repo', 'acme/api');
      expect(init.code).toBe(0);
      const document = JSON.parse(init.stdout) as {
        tool: string;
        policy: { repos_allowlist: string[]; write: { deny: string[] }; paths: { deny_globs: string[] } };
      };
      expect(document.tool).toBe('bitbucket_via_official_api');
      expect(document.policy.repos_allowlist).toEqual(['acme/web', 'acme/api']);
      expect(document.policy.write.deny).toEqual(expect.arrayContaining(['merge_pr', 'direct_push_main']));
      expect(document.policy.paths.deny_globs).toContain('**/bitbucket-pipelines.yml');
      const wpcFile = file('wpc.json', init.stdout);
      const check = await run('wpc', 'check', wpcFile, '--strict');
      expect(check).toMatchObject({ code: 0 });
      expect(check.stdout).toContain('valid');
      const hash = (await run('wpc', 'hash', wpcFile)).stdout.trim();
      expect(hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const stored = await world
        .http()
        .post(`/api/v1/workspaces/${world.a.slug}/policies`)
        .set(...bearer(world.a))
        .type('application/json')
        .send(init.stdout)
        .expect(201);
      expect(stored.body.policy_hash_b64u).toBe(hash);
    } finally {
      await world.close();
    }
  });

  test('without --repo the placeholder repository is flagged, and --strict turns that into exit 1', async () => {
    const wpcFile = file('wpc.json', (await run('wpc', 'init')).stdout);
    const check = await run('wpc', 'check', wpcFile);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/warning policy\.repos_allowlist\[0\]: still the template's placeholder repository/);
    expect((await run('wpc', 'check', wpcFile, '--strict')).code).toBe(1);
  });

  test.each(WPC_TEMPLATE_NAMES.filter((name) => name !== 'bitbucket'))(
    'the %s template validates against the official JSON schema',
    async (name) => {
      const version = name === 'clawsig-v1' ? 'v1' : 'v2';
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      addFormats(ajv);
      const validate = ajv.compile(
        readSharedJson('clawsig', 'schema', 'policy', `work_policy_contract.${version}.json`) as object,
      );
      const { stdout, code } = await run(
        'wpc',
        'init',
        '--template',
        name,
        '--issuer',
        'did:key:z6MkoHGSzXUxk8i1YYb14PzPjJEnytE2gkwG6bPscPTcANd5',
        '--repo',
        'acme/web',
      );
      expect(code).toBe(0);
      const document = JSON.parse(stdout) as unknown;
      expect(validate(document) ? [] : validate.errors).toEqual([]);
      expect(document).toEqual(
        wpcTemplate(name, {
          issuerDid: 'did:key:z6MkoHGSzXUxk8i1YYb14PzPjJEnytE2gkwG6bPscPTcANd5',
          repos: ['acme/web'],
        }),
      );
      const check = await run('wpc', 'check', file(`${name}.json`, stdout), '--format', 'json');
      const report = JSON.parse(check.stdout) as { form: string; valid: boolean; errors: unknown[] };
      expect(report).toMatchObject({
        form: name === 'clawsig-v1' ? 'clawsig_v1' : 'clawsig_v2',
        valid: true,
        errors: [],
      });
    },
  );

  test('an invalid --repo is refused with its field path, and an existing --out is not overwritten', async () => {
    const bad = await run('wpc', 'init', '--repo', 'acme/*');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('policy.repos_allowlist[0]');
    const out = file('wpc.json', '{"keep":true}');
    const refused = await run('wpc', 'init', '--out', out);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('exists (use --force');
    expect(readFileSync(out, 'utf8')).toBe('{"keep":true}');
    expect((await run('wpc', 'init', '--out', out, '--force')).code).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ tool: 'bitbucket_via_official_api' });
  });
});

describe('wpc check', () => {
  function seed(): Record<string, unknown> & { policy: Record<string, Record<string, unknown>> } {
    return wpcTemplate('bitbucket', { repos: ['acme/web'] }) as Record<string, unknown> & {
      policy: Record<string, Record<string, unknown>>;
    };
  }

  test('errors name the field: a typo, a wrong type, an action in allow and deny', async () => {
    const wpc = seed();
    wpc.policy.paths = { deny_glob: ['**/x'] };
    wpc.policy.write = { ...wpc.policy.write, approval_required: 'yes' };
    const check = await run('wpc', 'check', file('bad.json', wpc));
    expect(check.code).toBe(1);
    expect(check.stdout).toContain('error   policy.paths.deny_glob: unknown field');
    expect(check.stdout).toContain('error   policy.write.approval_required:');
    expect(check.stdout).not.toContain('hash ');
    const contradiction = seed();
    contradiction.policy.write = { ...contradiction.policy.write, allow: ['create_pr', 'merge_pr'] };
    const both = await run('wpc', 'check', file('both.json', contradiction));
    expect(both.code).toBe(1);
    expect(both.stdout).toContain('error   policy.write.deny[0]: also listed in policy.write.allow');
    const json = JSON.parse((await run('wpc', 'check', file('bad.json'), '--format', 'json')).stdout) as {
      valid: boolean;
      errors: { path: string }[];
    };
    expect(json.valid).toBe(false);
    expect(json.errors.map((error) => error.path)).toEqual(
      expect.arrayContaining(['policy.paths.deny_glob', 'policy.paths.deny_globs', 'policy.write.approval_required']),
    );
  });

  test('a policy whose deny globs miss the pipeline file, allows merging and needs no receipts gets a warning for each', async () => {
    const wpc = seed();
    wpc.policy.paths = { deny_globs: ['**/.github/**', 'bitbucket-pipelines.yml'] };
    wpc.policy.write = { allow: ['create_pr', 'merge_pr'], deny: [], approval_required: true };
    wpc.policy.attestation = { require_gateway_receipts: false, emit_proof_bundle: true };
    const check = await run('wpc', 'check', file('weak.json', wpc), '--format', 'json');
    expect(check.code).toBe(0);
    const report = JSON.parse(check.stdout) as {
      warnings: { code: string; path: string; data?: Record<string, string> }[];
    };
    expect(report.warnings).toEqual(
      expect.arrayContaining([
        // A root-only glob leaves a nested pipeline file (monorepos) unguarded.
        {
          code: 'PIPELINE_FILE_NOT_DENIED',
          path: 'policy.paths.deny_globs',
          data: { path: 'service/bitbucket-pipelines.yml' },
        },
        { code: 'MERGE_NOT_DENIED', path: 'policy.write.deny' },
        { code: 'DIRECT_PUSH_NOT_DENIED', path: 'policy.write.deny' },
        { code: 'GATEWAY_RECEIPTS_NOT_REQUIRED', path: 'policy.attestation.require_gateway_receipts' },
      ]),
    );
    const text = await run('wpc', 'check', file('weak.json'));
    expect(text.stdout).toContain('no deny glob covers the pipeline file');
  });

  test('a broader glob that covers the pipeline file is enough', async () => {
    const wpc = seed();
    wpc.policy.paths = { deny_globs: ['**/*.yml'] };
    const report = JSON.parse((await run('wpc', 'check', file('yml.json', wpc), '--format', 'json')).stdout) as {
      warnings: { code: string }[];
    };
    expect(report.warnings.map((warning) => warning.code)).not.toContain('PIPELINE_FILE_NOT_DENIED');
  });

  test('a v2 policy without a Deny on pipeline writes is warned about; non-JSON and missing files are input errors', async () => {
    const v2 = wpcTemplate('clawsig-v2', {
      issuerDid: 'did:key:z6MkoHGSzXUxk8i1YYb14PzPjJEnytE2gkwG6bPscPTcANd5',
      repos: ['acme/web'],
    }) as { statements: { sid: string }[] };
    v2.statements = v2.statements.filter((statement) => statement.sid !== 'no-pipeline-edits');
    const report = JSON.parse((await run('wpc', 'check', file('v2.json', v2), '--format', 'json')).stdout) as {
      warnings: { code: string; path: string }[];
    };
    expect(report.warnings).toContainEqual(
      expect.objectContaining({ code: 'PIPELINE_FILE_NOT_DENIED', path: 'statements' }),
    );
    expect((await run('wpc', 'check', file('broken.json', '{"tool":'))).code).toBe(2);
    expect((await run('wpc', 'check', path.join(dir, 'absent.json'))).code).toBe(2);
  });
});

describe('wpc sign', () => {
  test('keygen writes a 0600 key; sign makes an envelope the API accepts from that issuer, and refuses when the issuer is not configured or the payload was edited', async () => {
    const keyFile = path.join(dir, 'issuer.pem');
    const keygen = await run('wpc', 'keygen', '--out', keyFile);
    expect(keygen.code).toBe(0);
    const did = keygen.stdout.trim();
    expect(did).toMatch(/^did:key:z6Mk/);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(keygen.stdout).not.toContain('PRIVATE KEY');

    const wpcFile = file('wpc.json', (await run('wpc', 'init', '--repo', 'acme/web', '--key', keyFile)).stdout);
    expect(JSON.parse(readFileSync(wpcFile, 'utf8'))).toMatchObject({ issuer_did: did });
    const signed = await run('wpc', 'sign', wpcFile, '--key', keyFile);
    expect(signed.code).toBe(0);
    expect(signed.stderr).toContain(`signed by ${did}`);
    const envelope = JSON.parse(signed.stdout) as Record<string, unknown> & {
      payload: { policy: { repos_allowlist: string[] } };
    };
    expect(envelope).toMatchObject({
      envelope_type: 'work_policy_contract',
      signer_did: did,
      issued_at: '2026-12-07T02:00:00.000Z',
    });
    const hash = (await run('wpc', 'hash', wpcFile)).stdout.trim();
    expect(envelope.payload_hash_b64u).toBe(hash);
    const envelopeFile = file('wpc.envelope.json', signed.stdout);
    const check = await run('wpc', 'check', envelopeFile, '--strict');
    expect(check.code).toBe(0);
    expect(check.stdout).toContain(`signer  ${did}`);

    const world: ApiWorld = await createApiWorld();
    try {
      const base = `/api/v1/workspaces/${world.a.slug}`;
      const notIssuer = await world
        .http()
        .post(`${base}/policies`)
        .set(...bearer(world.a))
        .type('application/json')
        .send(signed.stdout)
        .expect(422);
      expect(notIssuer.body.error.code).toBe('WPC_SIGNER_NOT_ALLOWED');
      await world
        .http()
        .put(`${base}/settings`)
        .set(...bearer(world.a))
        .send({ mode: 'enforce', trusted_gateways: [], cst_issuers: [], wpc_issuers: [did], agents: [], frozen: false })
        .expect(200);
      const accepted = await world
        .http()
        .post(`${base}/policies`)
        .set(...bearer(world.a))
        .type('application/json')
        .send(signed.stdout)
        .expect(201);
      expect(accepted.body.policy_hash_b64u).toBe(hash);

      // An edited payload keeps its old hash and signature: check and the server both refuse it.
      envelope.payload.policy.repos_allowlist = ['acme/web', 'acme/other'];
      const tamperedFile = file('tampered.json', envelope);
      const tampered = await run('wpc', 'check', tamperedFile);
      expect(tampered.code).toBe(1);
      expect(tampered.stdout).toContain(
        'payload_hash_b64u: is not the JCS SHA-256 hash of the payload (WPC_HASH_INVALID)',
      );
      const refused = await world
        .http()
        .post(`${base}/policies`)
        .set(...bearer(world.a))
        .send(envelope)
        .expect(422);
      expect(refused.body.error.code).toBe('WPC_HASH_INVALID');
    } finally {
      await world.close();
    }
  });

  test('a re-signed hash with the wrong key fails the signature check', async () => {
    const keyA = path.join(dir, 'a.pem');
    const keyB = path.join(dir, 'b.pem');
    await run('wpc', 'keygen', '--out', keyA);
    const didB = (await run('wpc', 'keygen', '--out', keyB)).stdout.trim();
    const wpcFile = file('wpc.json', (await run('wpc', 'init', '--repo', 'acme/web')).stdout);
    const envelope = JSON.parse((await run('wpc', 'sign', wpcFile, '--key', keyA)).stdout) as Record<string, unknown>;
    envelope.signer_did = didB;
    const check = await run('wpc', 'check', file('forged.json', envelope));
    expect(check.code).toBe(1);
    expect(check.stdout).toContain('signature_b64u: does not verify with the signer key (WPC_SIGNATURE_INVALID)');
  });

  test('a JWK key works; a key of another type, a mismatched issuer_did and an invalid WPC are refused', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const jwkFile = file('key.jwk', privateKey.export({ format: 'jwk' }));
    const wpcFile = file('wpc.json', (await run('wpc', 'init', '--repo', 'acme/web')).stdout);
    expect((await run('wpc', 'sign', wpcFile, '--key', jwkFile)).code).toBe(0);

    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    const wrongType = await run('wpc', 'sign', wpcFile, '--key', file('rsa.pem', rsa));
    expect(wrongType.code).toBe(2);
    expect(wrongType.stderr).toContain('an Ed25519 key is needed');

    const otherIssuer = file(
      'other.json',
      (
        await run(
          'wpc',
          'init',
          '--repo',
          'acme/web',
          '--issuer',
          'did:key:z6MkoHGSzXUxk8i1YYb14PzPjJEnytE2gkwG6bPscPTcANd5',
        )
      ).stdout,
    );
    const mismatch = await run('wpc', 'sign', otherIssuer, '--key', jwkFile);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toContain('WPC_ISSUER_MISMATCH');

    const invalid = await run(
      'wpc',
      'sign',
      file('invalid.json', { tool: 'bitbucket_via_official_api' }),
      '--key',
      jwkFile,
    );
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('error   policy:');
    expect(invalid.stdout).toBe('');
  });
});

test('--help describes every subcommand; unknown subcommands and flags are usage errors', async () => {
  const help = await run('wpc', '--help');
  expect(help.code).toBe(0);
  for (const sub of ['wpc init', 'wpc check', 'wpc hash', 'wpc sign', 'wpc keygen', 'clawsig-v1', 'clawsig-v2'])
    expect(help.stdout).toContain(sub);
  expect((await run('help')).stdout).toContain('wpc ');
  expect((await run('wpc', 'frobnicate')).code).toBe(2);
  expect((await run('wpc', 'check', '--bogus', 'x.json')).code).toBe(2);
  expect((await run('wpc', 'init', '--template', 'nope')).code).toBe(2);
});
