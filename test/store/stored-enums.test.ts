import { randomBytes, randomUUID } from 'node:crypto';
import { openStore, StoreError, type Store } from '../../src/store';
import { storedEnum } from '../../src/store/stored-enum';

/** An enum column holding a value this version does not know is a corrupt row: reads fail closed. */
async function rawQuery(store: Store, sql: string): Promise<void> {
  // Reaches past the API on purpose: the test edits what is at rest.
  const sequelize = (store as unknown as { database: { sequelize: { query(sql: string): Promise<unknown> } } }).database
    .sequelize;
  await sequelize.query(sql);
}

describe('stored enum columns', () => {
  test('storedEnum returns a listed value and refuses any other as CORRUPT_ROW', () => {
    expect(storedEnum(['a', 'b'] as const, 'b', 'thing')).toBe('b');
    expect(() => storedEnum(['a', 'b'] as const, 'B', 'thing')).toThrow(StoreError);
    expect(() => storedEnum(['a', 'b'] as const, 'c', 'thing')).toThrow(
      expect.objectContaining({ code: 'CORRUPT_ROW' }),
    );
  });

  test('a tenant whose surface was edited at rest is refused on read', async () => {
    const store = await openStore('sqlite::memory:', { secretKey: randomBytes(32) });
    try {
      const clientKey = `connect:${randomUUID()}`;
      const workspaceId = `{${randomUUID()}}`;
      await store.tenants.upsertInstall({
        workspaceId,
        surface: 'connect',
        clientKey,
        sharedSecret: 's'.repeat(32),
        baseApiUrl: 'https://api.bitbucket.org',
        actor: 'test',
      });
      await rawQuery(store, `UPDATE tenants SET surface = 'carrier-pigeon' WHERE client_key = '${clientKey}'`);
      await expect(store.tenants.findByClientKey(clientKey)).rejects.toMatchObject({ code: 'CORRUPT_ROW' });
    } finally {
      await store.close();
    }
  });
});
