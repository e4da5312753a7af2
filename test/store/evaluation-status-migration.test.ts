import { randomUUID } from 'node:crypto';
import { parseDatabaseUrl } from '../../src/config/database';
import { connectDatabase, type Database } from '../../src/store/database';
import { createMigrator } from '../../src/store/migrate';
import { backendsUnderTest } from './support/postgres';
import { BackendDatabase, newWorkspaceId, randomSha } from './support/store-fixture';

/**
 * 0002 moves the published status (description, source branch) out of the verdict JSON into
 * columns: rows written before it keep what their status said, and the verdict keeps only the verdict.
 */
describe.each(backendsUnderTest('evaluation-status-migration.test'))(
  '0002-evaluation-published-status on %s',
  (backend) => {
    const fixture = new BackendDatabase(backend, 'evaluation-status-migration', true);
    let database: Database;

    beforeAll(async () => {
      await fixture.setUp();
      database = await connectDatabase(parseDatabaseUrl(fixture.url));
    });
    afterAll(async () => {
      await database?.close();
      await fixture.tearDown();
    });

    async function verdictsAndColumns(): Promise<
      {
        id: string;
        verdict: Record<string, unknown>;
        status_description: string | null;
        source_branch: string | null;
      }[]
    > {
      const [rows] = await database.sequelize.query(
        'SELECT id, verdict, status_description, source_branch FROM evaluations ORDER BY id',
      );
      return (
        rows as { id: string; verdict: unknown; status_description: string | null; source_branch: string | null }[]
      ).map((row) => ({
        ...row,
        verdict: (typeof row.verdict === 'string' ? JSON.parse(row.verdict) : row.verdict) as Record<string, unknown>,
      }));
    }

    test('up moves the two keys into columns, down puts them back', async () => {
      const migrator = createMigrator(database);
      await migrator.up({ to: '0001-initial-schema' });
      const ws = newWorkspaceId();
      const withStatus = `00000000-0000-4000-8000-${randomUUID().slice(-12)}`;
      const without = `ffffffff-0000-4000-8000-${randomUUID().slice(-12)}`;
      const insert = async (id: string, verdict: Record<string, unknown>) =>
        database.sequelize.query(
          `INSERT INTO evaluations (id, workspace_uuid, repo_full_name, pr_id, head_sha, state, mode, status_state, verdict, commits, created_at)
         VALUES (:id, :ws, 'acme/widgets', 1, :sha, 'FAIL', 'enforce', 'FAILED', :verdict, '[]', :at)`,
          { replacements: { id, ws, sha: randomSha(), verdict: JSON.stringify(verdict), at: new Date() } },
        );
      await insert(withStatus, {
        state: 'FAIL',
        reason_code: 'REPLAY',
        trigger: 'pullrequest:created',
        status_description: 'REPLAY: an id was used before',
        source_branch: 'agent/fix',
      });
      await insert(without, { state: 'FAIL', reason_code: 'BUNDLE_NOT_FOUND' });

      await migrator.up();
      const [moved, untouched] = await verdictsAndColumns();
      expect(moved).toMatchObject({
        id: withStatus,
        status_description: 'REPLAY: an id was used before',
        source_branch: 'agent/fix',
      });
      expect(moved?.verdict).toEqual({ state: 'FAIL', reason_code: 'REPLAY', trigger: 'pullrequest:created' });
      expect(untouched).toMatchObject({
        id: without,
        status_description: null,
        source_branch: null,
        verdict: { state: 'FAIL', reason_code: 'BUNDLE_NOT_FOUND' },
      });

      await migrator.down({ to: '0002-evaluation-published-status' });
      const [rows] = await database.sequelize.query('SELECT verdict FROM evaluations ORDER BY id');
      const restored = (rows as { verdict: unknown }[]).map((row) =>
        typeof row.verdict === 'string' ? JSON.parse(row.verdict) : row.verdict,
      );
      expect(restored[0]).toEqual({
        state: 'FAIL',
        reason_code: 'REPLAY',
        trigger: 'pullrequest:created',
        status_description: 'REPLAY: an id was used before',
        source_branch: 'agent/fix',
      });
      expect(restored[1]).toEqual({ state: 'FAIL', reason_code: 'BUNDLE_NOT_FOUND' });
    });
  },
);
