import os from 'node:os';
import {
  createJobQueue,
  defaultWorkerId,
  PgBossJobQueue,
  pullRequestJobKey,
  QueueConfigurationError,
  selectQueueBackend,
  TableJobQueue,
} from '../../src/queue';
import { openStore } from '../../src/store';
import { TEST_SECRET_KEY } from '../store/support/store-fixture';

describe('selectQueueBackend', () => {
  test('SQLite uses the table queue; Postgres defaults to pg-boss; CLAWGATE_QUEUE overrides', () => {
    expect(selectQueueBackend('sqlite', undefined)).toBe('table');
    expect(selectQueueBackend('sqlite', 'table')).toBe('table');
    expect(selectQueueBackend('postgres', undefined)).toBe('pg-boss');
    expect(selectQueueBackend('postgres', ' ')).toBe('pg-boss');
    expect(selectQueueBackend('postgres', 'table')).toBe('table');
    expect(selectQueueBackend('postgres', 'PG-BOSS')).toBe('pg-boss');
  });

  test('pg-boss on SQLite and unknown values are configuration errors, not silent fallbacks', () => {
    expect(() => selectQueueBackend('sqlite', 'pg-boss')).toThrow(QueueConfigurationError);
    expect(() => selectQueueBackend('postgres', 'redis')).toThrow(QueueConfigurationError);
  });

  test('default worker ids', () => {
    expect(defaultWorkerId('sqlite', {})).toBe(os.hostname());
    expect(defaultWorkerId('postgres', {})).toBe(`${os.hostname()}:${process.pid}`);
    expect(defaultWorkerId('postgres', { CLAWGATE_WORKER_ID: 'replica-a' })).toBe('replica-a');
  });
});

describe('createJobQueue', () => {
  test('builds the table queue for a SQLite store', async () => {
    const store = await openStore('sqlite::memory:', { secretKey: TEST_SECRET_KEY });
    try {
      const queue = createJobQueue(store, { env: {} });
      expect(queue).toBeInstanceOf(TableJobQueue);
      expect(queue.backend).toBe('table');
      expect(() => createJobQueue(store, { env: { CLAWGATE_QUEUE: 'pg-boss' } })).toThrow(QueueConfigurationError);
    } finally {
      await store.close();
    }
  });

  test('pg-boss is only built for Postgres stores', () => {
    const fakePostgresStore = {
      dialect: 'postgres',
      config: { dialect: 'postgres', url: 'postgres://u:p@127.0.0.1:1/x', dataDirectory: '/tmp' },
    } as unknown as Parameters<typeof createJobQueue>[0];
    expect(createJobQueue(fakePostgresStore, { env: {} })).toBeInstanceOf(PgBossJobQueue);
  });
});

describe('pullRequestJobKey', () => {
  test('key = workspace/repo#pr@head; supersede group = workspace/repo#pr', () => {
    expect(
      pullRequestJobKey({ workspaceId: '{w}', repoFullName: 'acme/web', prId: 7, headSha: 'a'.repeat(40) }),
    ).toEqual({
      key: `{w}/acme/web#7@${'a'.repeat(40)}`,
      supersedes: '{w}/acme/web#7',
    });
  });
});
