import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sqlite3 from 'sqlite3';
import { MIGRATIONS_TABLE, openStore } from '../../src/store';

/**
 * Migration 0006 on a database that already has tokens and a clear CST: tokens made before scopes
 * existed keep working as `admin`; the CST is sealed when the store opens.
 */

const KEY = Buffer.alloc(32, 7);
const WORKSPACE = '{5a5a5a5a-0000-4000-8000-000000000001}';

let dir: string;
let file: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawgate-0006-'));
  file = path.join(dir, 'db.sqlite');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function exec(statements: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READWRITE, (openError) => {
      if (openError) return reject(openError);
      db.serialize(() => {
        for (const statement of statements) db.run(statement);
        db.close((error) => (error ? reject(error) : resolve()));
      });
    });
  });
}

test('a token from before scopes is admin after the migration; new ones default to bundles:write', async () => {
  const store = await openStore(`sqlite:${file}`, { secretKey: KEY });
  await store.tenants.upsertInstall({
    workspaceId: WORKSPACE,
    workspaceSlug: 'acme',
    surface: 'repo_webhooks',
    clientKey: `repo_webhooks:${WORKSPACE}`,
    sharedSecret: 's'.repeat(43),
    accessToken: 'at',
    baseApiUrl: 'https://api.bitbucket.org',
    actor: 'test',
  });
  const { token } = await store.apiTokens.create(WORKSPACE, { actor: 'test', label: 'legacy' });
  await store.bundles.put(WORKSPACE, {
    bundleId: 'b1',
    envelopeText: '{}',
    scopedToken: 'header.payload.signature',
    source: 'api',
  });
  await store.close();

  // Back to the schema before 0006: the columns gone, the migration not applied, the CST in clear.
  await exec([
    'ALTER TABLE api_tokens DROP COLUMN scopes',
    'ALTER TABLE bundles DROP COLUMN uploaded_by',
    `DELETE FROM ${MIGRATIONS_TABLE} WHERE name = '0006-token-scopes'`,
    "UPDATE bundles SET scoped_token = 'header.payload.signature'",
  ]);

  const migrated = await openStore(`sqlite:${file}`, { secretKey: KEY });
  try {
    expect(await migrated.appliedMigrations()).toContain('0006-token-scopes');
    expect(await migrated.verifyApiToken(token)).toMatchObject({ workspaceId: WORKSPACE, scopes: ['admin'] });
    const second = await migrated.apiTokens.create(WORKSPACE, { actor: 'test' });
    expect(second.info.scopes).toEqual(['bundles:write']);
    const chosen = await migrated.apiTokens.create(WORKSPACE, { actor: 'test', scopes: ['read', 'bundles:write'] });
    expect(chosen.info.scopes).toEqual(['bundles:write', 'read']);
    expect((await migrated.bundles.get(WORKSPACE, 'b1'))?.scopedToken).toBe('header.payload.signature');
  } finally {
    await migrated.close();
  }
  const stored = await new Promise<unknown[]>((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (openError) => {
      if (openError) return reject(openError);
      db.all('SELECT scoped_token FROM bundles', (error: Error | null, rows: { scoped_token: unknown }[]) => {
        db.close();
        if (error) reject(error);
        else resolve(rows.map((row) => row.scoped_token));
      });
    });
  });
  expect(stored).toEqual([expect.stringMatching(/^v1:/)]);
});
