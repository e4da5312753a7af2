import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseUrlError, describeDatabase, parseDatabaseUrl } from '../../src/config/database';
import { openStore } from '../../src/store';
import { TEST_SECRET_KEY } from './support/store-fixture';

describe('parseDatabaseUrl', () => {
  const cwd = '/srv/clawgate';

  test('defaults to ./data/clawgate.sqlite under the working directory', () => {
    const expected = {
      dialect: 'sqlite',
      storage: '/srv/clawgate/data/clawgate.sqlite',
      dataDirectory: '/srv/clawgate/data',
    };
    expect(parseDatabaseUrl(undefined, cwd)).toEqual(expected);
    expect(parseDatabaseUrl('  ', cwd)).toEqual(expected);
  });

  test('sqlite paths, relative and absolute, and :memory:', () => {
    expect(parseDatabaseUrl('sqlite:./db/x.sqlite', cwd)).toMatchObject({
      storage: '/srv/clawgate/db/x.sqlite',
      dataDirectory: '/srv/clawgate/db',
    });
    expect(parseDatabaseUrl('sqlite:/var/lib/cg.sqlite', cwd)).toMatchObject({ storage: '/var/lib/cg.sqlite' });
    expect(parseDatabaseUrl('sqlite:///var/lib/cg.sqlite', cwd)).toMatchObject({ storage: '/var/lib/cg.sqlite' });
    expect(parseDatabaseUrl('sqlite::memory:', cwd)).toEqual({
      dialect: 'sqlite',
      storage: ':memory:',
      dataDirectory: '/srv/clawgate/data',
    });
  });

  test('postgres URLs pass through; the described form hides the password', () => {
    const config = parseDatabaseUrl('postgres://app:s3cret@db.internal:5432/clawgate?sslmode=require', cwd);
    expect(config).toMatchObject({
      dialect: 'postgres',
      url: 'postgres://app:s3cret@db.internal:5432/clawgate?sslmode=require',
    });
    expect(describeDatabase(config)).not.toContain('s3cret');
    expect(parseDatabaseUrl('postgresql://h/db', cwd).dialect).toBe('postgres');
  });

  test('anything else fails closed, without echoing the URL', () => {
    expect(() => parseDatabaseUrl('mysql://u:pw@h/db', cwd)).toThrow(DatabaseUrlError);
    expect(() => parseDatabaseUrl('sqlite:', cwd)).toThrow(DatabaseUrlError);
    expect(() => parseDatabaseUrl('postgres://u:pw@h', cwd)).toThrow(/no database name/);
    try {
      parseDatabaseUrl('postgres://u:topsecret@h', cwd);
    } catch (error) {
      expect(String(error)).not.toContain('topsecret');
    }
  });

  test('openStore creates the directory of a sqlite file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawgate-dir-'));
    try {
      const store = await openStore('sqlite:./nested/deeper/cg.sqlite', { secretKey: TEST_SECRET_KEY, cwd: dir });
      await store.close();
      expect(fs.existsSync(path.join(dir, 'nested/deeper/cg.sqlite'))).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
