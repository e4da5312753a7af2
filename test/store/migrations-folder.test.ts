import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MIGRATIONS } from '../../migrations';
import type { MigrationModule as FolderMigration } from '../../migrations/migration-context';
import { loadMigrations, migrationsDirectory, type MigrationModule as StoreMigration } from '../../src/store/migrate';

// Type-level proof that the contract migrations/ is written against is the one the store runs:
// `tsc --noEmit` fails here if the two declarations drift apart.
const folderRunsInStore: readonly StoreMigration[] = MIGRATIONS satisfies readonly FolderMigration[];

describe('migrations live in the top-level migrations/ folder', () => {
  test('the store loads them from there, in the listed order', () => {
    expect(migrationsDirectory()).toBe(path.resolve(__dirname, '../../migrations'));
    expect(loadMigrations().map((m) => m.name)).toEqual(folderRunsInStore.map((m) => m.name));
    expect(loadMigrations()[0]?.name).toBe('0001-initial-schema');
  });

  test('no migration is left in the old src/store/migrations (it would never run)', () => {
    const old = path.resolve(__dirname, '../../src/store/migrations');
    expect(fs.existsSync(old) ? fs.readdirSync(old) : []).toEqual([]);
  });

  test('a folder whose index does not export a valid list refuses to migrate', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawgate-migrations-'));
    try {
      fs.writeFileSync(path.join(dir, 'index.js'), 'exports.MIGRATIONS = [{ name: "0001-x", up: async () => {} }];');
      expect(() => loadMigrations(dir)).toThrow(/valid MIGRATIONS list/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
