import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { Store } from '../../src/store';
import { backendsUnderTest } from './support/postgres';
import { BackendDatabase, newWorkspaceId } from './support/store-fixture';

/**
 * The anti-replay race on Postgres with two real concurrent transactions: PR 1's transaction has
 * inserted an id but not committed when PR 2 tries to consume the same id. PR 2 must wait on the
 * unique index and then lose (if PR 1 commits) or win (if PR 1 rolls back).
 */
const postgresOnly = backendsUnderTest('consumed-ids-race.test').filter((backend) => backend === 'postgres');
const describeOnPostgres = postgresOnly.length > 0 ? describe : describe.skip;

describeOnPostgres('consumed ids race on postgres', () => {
  const database = new BackendDatabase('postgres', 'race');
  let store: Store;

  beforeAll(async () => {
    await database.setUp();
    store = await database.open();
  });
  afterAll(async () => {
    await store?.close();
    await database.tearDown();
  });

  async function holdUncommittedConsumption(workspace: string, value: string, prId: number): Promise<Client> {
    const client = new Client({ connectionString: database.url });
    await client.connect();
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO consumed_ids (id, workspace_uuid, kind, value, first_repo, first_pr_id, evaluation_id, created_at)
       VALUES ($1, $2, 'run_id', $3, 'acme/web', $4, NULL, now())`,
      [randomUUID(), workspace, value, prId],
    );
    return client;
  }

  async function isWaitingOnLock(): Promise<boolean> {
    const probe = new Client({ connectionString: database.url });
    await probe.connect();
    try {
      const { rows } = await probe.query<{ waiting: string }>(
        "SELECT count(*) AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
      );
      return Number(rows[0]?.waiting) > 0;
    } finally {
      await probe.end();
    }
  }

  async function waitUntilBlocked(): Promise<void> {
    for (let tries = 0; tries < 100; tries += 1) {
      if (await isWaitingOnLock()) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('the second transaction never blocked on the first');
  }

  test('the second PR waits for the first and loses when the first commits', async () => {
    const ws = newWorkspaceId();
    const first = await holdUncommittedConsumption(ws, 'run-race-1', 1);
    try {
      const second = store.consumedIds.consumeIds(
        ws,
        [
          { kind: 'run_id', value: 'run-race-1' },
          { kind: 'bundle_id', value: 'b-race-1' },
        ],
        { repo: 'acme/web', prId: 2 },
      );
      await waitUntilBlocked();
      await first.query('COMMIT');
      const result = await second;
      expect(result.ok).toBe(false);
      if (!result.ok)
        expect(result.conflicts).toEqual([
          expect.objectContaining({ kind: 'run_id', value: 'run-race-1', firstPrId: 1 }),
        ]);
      expect(await store.consumedIds.findConsumed(ws, [{ kind: 'bundle_id', value: 'b-race-1' }])).toEqual([]);
    } finally {
      await first.end();
    }
  });

  test('the second PR wins when the first rolls back', async () => {
    const ws = newWorkspaceId();
    const first = await holdUncommittedConsumption(ws, 'run-race-2', 1);
    try {
      const second = store.consumedIds.consumeIds(ws, [{ kind: 'run_id', value: 'run-race-2' }], {
        repo: 'acme/web',
        prId: 2,
      });
      await waitUntilBlocked();
      await first.query('ROLLBACK');
      expect(await second).toEqual({ ok: true, newlyConsumed: [{ kind: 'run_id', value: 'run-race-2' }] });
      expect((await store.consumedIds.findConsumed(ws, [{ kind: 'run_id', value: 'run-race-2' }]))[0]?.firstPrId).toBe(
        2,
      );
    } finally {
      await first.end();
    }
  });

  test('two stores (two replicas) racing through the API: exactly one PR wins', async () => {
    const replica = await database.open();
    try {
      const ws = newWorkspaceId();
      const ids = [
        { kind: 'cst_jti' as const, value: 'jti-race' },
        { kind: 'receipt_id' as const, value: 'rcpt-race' },
      ];
      const attempts = await Promise.all(
        Array.from({ length: 6 }, (_, index) =>
          (index % 2 === 0 ? store : replica).consumedIds.consumeIds(ws, ids, { repo: 'acme/web', prId: 100 + index }),
        ),
      );
      expect(attempts.filter((result) => result.ok)).toHaveLength(1);
    } finally {
      await replica.close();
    }
  });
});
