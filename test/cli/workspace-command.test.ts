import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/io';
import { startSandbox, type BitbucketSandbox } from '../../src/sandbox';
import { openStore } from '../../src/store';

/** `clawgate workspace add|list` against the sandbox and a real SQLite file. */

const SECRET_KEY = Buffer.alloc(32, 12).toString('hex');

let sandbox: BitbucketSandbox;
let dir: string;
let env: NodeJS.ProcessEnv;
let tokenFile: string;
let accessToken: string;

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    now: () => Date.now(),
    env,
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

beforeEach(async () => {
  sandbox = await startSandbox();
  sandbox.createWorkspace({ slug: 'acme' });
  const alice = sandbox.createUser({ nickname: 'alice' });
  sandbox.createRepository({ workspace: 'acme', slug: 'proj-web', author: alice, files: { 'README.md': '# web\n' } });
  accessToken = sandbox.createAccessToken({ workspace: 'acme' }, [
    'repository:write',
    'pullrequest:write',
    'webhook',
  ]).token;
  dir = mkdtempSync(path.join(tmpdir(), 'clawgate-cli-ws-'));
  tokenFile = path.join(dir, 'token.txt');
  writeFileSync(tokenFile, `${accessToken}\n`);
  env = {
    DATABASE_URL: `sqlite:${path.join(dir, 'db.sqlite')}`,
    CLAWGATE_SECRET_KEY: SECRET_KEY,
    APP_BASE_URL: 'http://127.0.0.1:4999',
    CLAWGATE_ALLOWED_HOSTS: new URL(sandbox.baseUrl).host,
    LOG_LEVEL: 'silent',
  };
});

afterEach(async () => {
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('clawgate workspace', () => {
  test('add registers (hooks with a secret, token printed once and valid), list shows it without secrets', async () => {
    const added = await run(
      'workspace',
      'add',
      '--workspace',
      'acme',
      '--access-token-file',
      tokenFile,
      '--repo',
      'proj-web',
      '--base-api-url',
      sandbox.baseUrl,
    );
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toContain('Webhook URL: http://127.0.0.1:4999/hooks/bitbucket');
    expect(added.stdout).toContain('acme/proj-web');
    expect(added.stdout).not.toContain(accessToken);
    const apiToken = /API token \(shown once; store it now\): (cgw_\S+)/.exec(added.stdout)?.[1];
    expect(apiToken).toBeDefined();
    const hooks = [...sandbox.repository('acme/proj-web').hooks.values()];
    expect(hooks).toHaveLength(1);
    expect(hooks[0]?.secret).toEqual(expect.any(String));

    const store = await openStore(env.DATABASE_URL, { secretKey: SECRET_KEY });
    try {
      expect(await store.verifyApiToken(apiToken ?? '')).not.toBeNull();
    } finally {
      await store.close();
    }

    const listed = await run('workspace', 'list');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^WORKSPACE\s+UUID\s+SURFACE\s+STATE/);
    expect(listed.stdout).toMatch(/acme\s+\{[0-9a-f-]+\}\s+repo_webhooks\s+active\s+http:\/\/127\.0\.0\.1/);
    expect(listed.stdout).not.toContain(accessToken);
    expect(listed.stdout).not.toContain(hooks[0]?.secret ?? '<none>');
  });

  test('a refusal by Bitbucket exits 1, names the flag, stores nothing', async () => {
    writeFileSync(tokenFile, 'ATCTT3xwrong\n');
    const refused = await run(
      'workspace',
      'add',
      '--workspace',
      'acme',
      '--access-token-file',
      tokenFile,
      '--repo',
      'proj-web',
      '--base-api-url',
      sandbox.baseUrl,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--access-token-file:');
    expect(refused.stderr).toContain('Nothing was stored.');
    expect(refused.stderr).not.toContain('ATCTT3xwrong');
    expect((await run('workspace', 'list')).stdout).toBe('No workspaces registered.\n');
    expect(sandbox.repository('acme/proj-web').hooks.size).toBe(0);
  });

  test('rotate-secret, reregister with a new token file, remove --keep-data / --purge-data: hooks follow in Bitbucket', async () => {
    expect(
      (
        await run(
          'workspace',
          'add',
          '--workspace',
          'acme',
          '--access-token-file',
          tokenFile,
          '--repo',
          'proj-web',
          '--base-api-url',
          sandbox.baseUrl,
        )
      ).code,
    ).toBe(0);
    const hooksNow = () => [...sandbox.repository('acme/proj-web').hooks.values()];
    const first = hooksNow()[0];

    const rotated = await run('workspace', 'rotate-secret', '--workspace', 'acme');
    expect(rotated).toMatchObject({ code: 0 });
    expect(hooksNow()).toHaveLength(1);
    expect(hooksNow()[0]?.secret).not.toBe(first?.secret);
    expect(rotated.stdout).toContain(`acme/proj-web  ${hooksNow()[0]?.uuid}`);

    const renewed = sandbox.createAccessToken({ workspace: 'acme' }, [
      'repository:write',
      'pullrequest:write',
      'webhook',
    ]).token;
    const renewedFile = path.join(dir, 'renewed.txt');
    writeFileSync(renewedFile, `${renewed}\n`);
    const reregistered = await run(
      'workspace',
      'reregister',
      '--workspace',
      'acme',
      '--access-token-file',
      renewedFile,
      '--repo',
      'proj-web',
      '--base-api-url',
      sandbox.baseUrl,
    );
    expect(reregistered).toMatchObject({ code: 0 });
    expect(reregistered.stdout).not.toContain(renewed);
    expect(reregistered.stdout).not.toContain('API token');
    const store = await openStore(env.DATABASE_URL, { secretKey: SECRET_KEY });
    try {
      const tenant = (await store.tenants.listAll())[0];
      expect(tenant?.accessToken?.reveal()).toBe(renewed);
    } finally {
      await store.close();
    }

    expect((await run('workspace', 'remove', '--workspace', 'acme')).code).toBe(2);
    const removed = await run('workspace', 'remove', '--workspace', 'acme', '--keep-data');
    expect(removed).toMatchObject({ code: 0 });
    expect(removed.stdout).toContain('data kept');
    expect(hooksNow()).toEqual([]);
    expect((await run('workspace', 'list')).stdout).toMatch(/acme\s+\{[0-9a-f-]+\}\s+repo_webhooks\s+uninstalled/);
    expect((await run('workspace', 'rotate-secret', '--workspace', 'acme')).code).toBe(1);
    const purged = await run('workspace', 'remove', '--workspace', 'acme', '--purge-data');
    expect(purged).toMatchObject({ code: 0 });
    expect(purged.stdout).toMatch(/Purged: .*\d+ policies.*\d+ api tokens/);
  });

  test('usage and input errors exit 2', async () => {
    expect((await run('workspace')).code).toBe(2);
    expect((await run('workspace', 'remove')).code).toBe(2);
    expect((await run('workspace', 'add', '--workspace', 'acme')).code).toBe(2);
    expect(
      (await run('workspace', 'add', '--workspace', 'acme', '--access-token-file', path.join(dir, 'missing.txt'))).code,
    ).toBe(2);
    const badRepo = await run(
      'workspace',
      'add',
      '--workspace',
      'acme',
      '--access-token-file',
      tokenFile,
      '--repo',
      'ok',
      '--repo',
      '../x',
      '--base-api-url',
      sandbox.baseUrl,
    );
    expect(badRepo.code).toBe(2);
    expect(badRepo.stderr).toContain('--repo #2:');
    const badHost = await run(
      'workspace',
      'add',
      '--workspace',
      'acme',
      '--access-token-file',
      tokenFile,
      '--base-api-url',
      'https://api.evil.example',
    );
    expect(badHost.code).toBe(2);
    expect(badHost.stderr).toContain('--base-api-url:');
    expect((await run('workspace', 'list', 'extra')).code).toBe(2);
    expect((await run('workspace', '--help')).code).toBe(0);
    expect(sandbox.received.requests).toEqual([]);
  });
});
