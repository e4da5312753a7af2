import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  GENERATED_SECRET_KEY_FILE,
  loadOrCreateSecretKey,
  parseSecretKey,
  SecretBox,
  SecretDecryptionError,
  SecretKeyError,
  secretKeyId,
} from '../../src/store/secret-box';
import { openStore } from '../../src/store';

describe('parseSecretKey', () => {
  const key = randomBytes(32);

  test('accepts hex, base64 and base64url of exactly 32 bytes', () => {
    expect(parseSecretKey(key.toString('hex'))).toEqual(key);
    expect(parseSecretKey(key.toString('base64'))).toEqual(key);
    expect(parseSecretKey(key.toString('base64url'))).toEqual(key);
    expect(parseSecretKey(` ${key.toString('hex')}\n`)).toEqual(key);
  });

  test('derives a stable key from a long passphrase and refuses a short one', () => {
    const derived = parseSecretKey('correct horse battery staple');
    expect(derived).toHaveLength(32);
    expect(parseSecretKey('correct horse battery staple')).toEqual(derived);
    expect(parseSecretKey('correct horse battery stapler')).not.toEqual(derived);
    expect(() => parseSecretKey('short')).toThrow(SecretKeyError);
  });
});

describe('SecretBox', () => {
  const current = randomBytes(32);
  const old = randomBytes(32);

  test('round-trips, and each seal uses a fresh IV', () => {
    const box = new SecretBox(current);
    const a = box.seal('hunter2', 'ctx');
    const b = box.seal('hunter2', 'ctx');
    expect(a).not.toBe(b);
    expect(a.startsWith(`v1:${secretKeyId(current)}:`)).toBe(true);
    expect(box.open(a, 'ctx')).toBe('hunter2');
    expect(box.open(box.seal('', 'ctx'), 'ctx')).toBe('');
  });

  test('fails closed on tampering, wrong context, unknown key and bad format, without echoing the value', () => {
    const box = new SecretBox(current);
    const sealed = box.seal('hunter2', 'ctx');
    const parts = sealed.split(':');
    const body = Buffer.from(parts[3] as string, 'base64url');
    body[0] = (body[0] as number) ^ 1;
    const tampered = [...parts.slice(0, 3), body.toString('base64url')].join(':');
    expect(() => box.open(tampered, 'ctx')).toThrow(SecretDecryptionError);
    expect(() => box.open(sealed, 'other-ctx')).toThrow(SecretDecryptionError);
    expect(() => new SecretBox(old).open(sealed, 'ctx')).toThrow(/not configured/);
    expect(() => box.open('plaintext', 'ctx')).toThrow(/format/);
    try {
      box.open(tampered, 'ctx');
    } catch (error) {
      expect(String(error)).not.toContain('hunter2');
    }
  });

  test('rotation: old values open with the previous key; new values use the current key', () => {
    const before = new SecretBox(old).seal('value', 'ctx');
    const rotated = new SecretBox(current, [old]);
    expect(rotated.open(before, 'ctx')).toBe('value');
    expect(rotated.isSealedWithOldKey(before)).toBe(true);
    const after = rotated.seal('value', 'ctx');
    expect(rotated.isSealedWithOldKey(after)).toBe(false);
    expect(new SecretBox(current).open(after, 'ctx')).toBe('value');
  });
});

describe('loadOrCreateSecretKey', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawgate-key-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('uses CLAWGATE_SECRET_KEY and previous keys from the environment, without warnings', () => {
    const key = randomBytes(32);
    const previous = randomBytes(32);
    const loaded = loadOrCreateSecretKey(dir, {
      CLAWGATE_SECRET_KEY: key.toString('hex'),
      CLAWGATE_SECRET_KEY_PREVIOUS: ` ${previous.toString('base64')} ,`,
      NODE_ENV: 'production',
    });
    expect(loaded).toEqual({ current: key, previous: [previous], source: 'environment', warnings: [] });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('a missing key in production is a startup error', () => {
    expect(() => loadOrCreateSecretKey(dir, { NODE_ENV: 'production' })).toThrow(SecretKeyError);
    expect(() => loadOrCreateSecretKey(dir, { NODE_ENV: 'production', CLAWGATE_SECRET_KEY: '  ' })).toThrow(/required/);
  });

  test('outside production a key is generated once into the data directory (0600) with a warning, then reused', () => {
    const nested = path.join(dir, 'data');
    const first = loadOrCreateSecretKey(nested, {});
    expect(first.source).toBe('generated-file');
    expect(first.file).toBe(path.join(nested, GENERATED_SECRET_KEY_FILE));
    expect(first.warnings).toHaveLength(1);
    expect(first.warnings[0]).toMatch(/CLAWGATE_SECRET_KEY is not set/);
    expect(first.warnings[0]).not.toContain(first.current.toString('hex'));
    expect(fs.statSync(first.file as string).mode & 0o777).toBe(0o600);
    const second = loadOrCreateSecretKey(nested, { NODE_ENV: 'development' });
    expect(second.current).toEqual(first.current);
    expect(second.warnings).toHaveLength(1);
  });
});

describe('rotateSecrets', () => {
  test('re-seals stored tenant secrets under the new key so the old key can be dropped', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawgate-rotate-'));
    const url = `sqlite:${path.join(dir, 'rotate.sqlite')}`;
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const ws = '{00000000-0000-4000-8000-000000000001}';
    try {
      const first = await openStore(url, { secretKey: oldKey });
      await first.tenants.upsertInstall({
        workspaceId: ws,
        surface: 'repo_webhooks',
        clientKey: 'rk',
        sharedSecret: 'hmac',
        accessToken: 'token',
        actor: 'a',
      });
      await first.close();

      await expect(
        openStore(url, { secretKey: newKey }).then(async (store) => {
          try {
            return await store.tenants.findByClientKey('rk');
          } finally {
            await store.close();
          }
        }),
      ).rejects.toThrow(SecretDecryptionError);

      const rotating = await openStore(url, { secretKey: newKey, previousSecretKeys: [oldKey] });
      expect(await rotating.rotateSecrets()).toBe(2);
      expect(await rotating.rotateSecrets()).toBe(0);
      await rotating.close();

      const after = await openStore(url, { secretKey: newKey });
      const tenant = await after.tenants.findByClientKey('rk');
      expect(tenant?.sharedSecret?.reveal()).toBe('hmac');
      expect(tenant?.accessToken?.reveal()).toBe('token');
      await after.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a bad key fails openStore before the database is touched', async () => {
    await expect(openStore('sqlite::memory:', { secretKey: 'short' })).rejects.toThrow(SecretKeyError);
  });
});
