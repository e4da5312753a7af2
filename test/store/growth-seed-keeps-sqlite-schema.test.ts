/**
 * Growth (issue 15): the SQLite seed of the growth bench bulk-loads (drops the growing tables'
 * indexes, loads, rebuilds them; synchronous OFF and a big cache on its own connection), so the
 * measured queries must still meet the database migrations made: the same schema in the same order
 * (without ANALYZE statistics the planner breaks ties by index order), WAL, no statistics tables, and
 * the seed connection's settings back to SQLite's defaults.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QueryTypes, Sequelize } from 'sequelize';
import { openStore } from '../../src/store';
import { seedGrowth } from '../../bench/growth-workload';
import { TEST_SECRET_KEY } from './support/store-fixture';

const SCHEMA = 'SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY tbl_name, rowid';

async function pragma(sequelize: Sequelize, name: string): Promise<unknown> {
  const [row] = await sequelize.query<Record<string, unknown>>(`PRAGMA ${name}`, { type: QueryTypes.SELECT });
  return row?.[name];
}

describe('the growth seed on SQLite leaves the database as migrations made it', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawgate-growth-seed-'));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function migrated(name: string): Promise<{ raw: Sequelize; close(): Promise<void> }> {
    const file = path.join(dir, name);
    const store = await openStore(`sqlite:${file}`, { secretKey: TEST_SECRET_KEY });
    const raw = new Sequelize({ dialect: 'sqlite', storage: file, logging: false });
    return {
      raw,
      async close() {
        await raw.close();
        await store.close();
      },
    };
  }

  it('same schema objects in the same order, WAL, no statistics, the seed connection reset', async () => {
    const fresh = await migrated('fresh.sqlite');
    const seeded = await migrated('seeded.sqlite');
    try {
      const defaults = {
        synchronous: await pragma(seeded.raw, 'synchronous'),
        cache_size: await pragma(seeded.raw, 'cache_size'),
        temp_store: await pragma(seeded.raw, 'temp_store'),
      };
      await seedGrowth(seeded.raw, 'sqlite', 2_000);

      const [count] = await seeded.raw.query<{ n: number }>('SELECT count(*) AS n FROM evaluations', {
        type: QueryTypes.SELECT,
      });
      expect(count?.n).toBe(2_000);
      const freshSchema = await fresh.raw.query(SCHEMA, { type: QueryTypes.SELECT });
      const seededSchema = await seeded.raw.query(SCHEMA, { type: QueryTypes.SELECT });
      expect(seededSchema).toEqual(freshSchema);
      expect(seededSchema.some((o) => (o as { name: string }).name === 'evaluations_workspace_repo_created')).toBe(
        true,
      );
      expect(seededSchema.filter((o) => (o as { name: string }).name.startsWith('sqlite_stat'))).toEqual([]);
      expect(await pragma(seeded.raw, 'journal_mode')).toBe('wal');
      expect({
        synchronous: await pragma(seeded.raw, 'synchronous'),
        cache_size: await pragma(seeded.raw, 'cache_size'),
        temp_store: await pragma(seeded.raw, 'temp_store'),
      }).toEqual(defaults);
      expect(defaults).toEqual({ synchronous: 2, cache_size: -2000, temp_store: 0 });
    } finally {
      await fresh.close();
      await seeded.close();
    }
  });
});
