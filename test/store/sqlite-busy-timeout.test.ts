import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sqlite3 from 'sqlite3';
import { openStore } from '../../src/store';
import { newWorkspaceId, TEST_SECRET_KEY } from './support/store-fixture';

/**
 * Another process holding SQLite's write lock for longer than node-sqlite3's default 1 s busy
 * timeout must make the store wait, not fail (SQLITE_BUSY).
 */
test('a write waits for another connection that holds the write lock for 1.5 s', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawgate-busy-'));
  const file = path.join(dir, 'busy.sqlite');
  const store = await openStore(`sqlite:${file}`, { secretKey: TEST_SECRET_KEY });
  const other = new sqlite3.Database(file);
  const run = (sql: string) =>
    new Promise<void>((resolve, reject) => other.run(sql, (error) => (error ? reject(error) : resolve())));
  try {
    await run('BEGIN IMMEDIATE');
    const startedAt = Date.now();
    setTimeout(() => void run('COMMIT'), 1500);
    const event = await store.audit.append(newWorkspaceId(), { actor: 'test', kind: 'note', subject: 'waited' });
    expect(event.subject).toBe('waited');
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1400);
  } finally {
    await new Promise((resolve) => other.close(resolve));
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
