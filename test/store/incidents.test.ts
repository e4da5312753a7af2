import { randomUUID } from 'node:crypto';
import { parseDatabaseUrl } from '../../src/config/database';
import type { NewIncident, Store } from '../../src/store';
import { connectDatabase, type Database } from '../../src/store/database';
import { createMigrator } from '../../src/store/migrate';
import { backendsUnderTest } from './support/postgres';
import { BackendDatabase, newWorkspaceId, randomSha } from './support/store-fixture';

const AUDIT = {
  actor: 'bitbucket:{agent}',
  kind: 'incident',
  subject: 'acme/widgets#3',
  after: { action: 'merge_pr' },
  repo: 'acme/widgets',
  prId: 3,
};

function incident(overrides: Partial<NewIncident> = {}): NewIncident {
  return {
    incidentId: randomUUID(),
    repoFullName: 'acme/widgets',
    action: 'merge_pr',
    branch: 'main',
    commit: randomSha(),
    prId: 3,
    deliveryId: `d-${randomUUID()}`,
    statusState: 'FAILED',
    statusDescription: 'INCIDENT merge_pr: bot merged',
    statusUrl: 'https://clawgate.example/incidents/x',
    ...overrides,
  };
}

describe.each(backendsUnderTest('incidents.test'))('incidents on %s', (backend) => {
  const fixture = new BackendDatabase(backend, 'incidents', true);
  let store: Store;

  beforeAll(async () => {
    await fixture.setUp();
    store = await fixture.open();
  });
  afterAll(async () => {
    await store?.close();
    await fixture.tearDown();
  });

  test('an incident is recorded with its audit event, and found by commit and by delivery', async () => {
    const ws = newWorkspaceId();
    const first = incident();
    const { incident: stored, event } = await store.incidents.record(ws, first, AUDIT);
    expect(stored).toMatchObject({ ...first, auditEventId: event.id });
    expect(stored.createdAt.getTime()).toBe(event.at.getTime());
    expect((await store.audit.query(ws, { kinds: ['incident'] })).map((e) => e.id)).toEqual([event.id]);

    const later = incident({ commit: first.commit, statusDescription: 'INCIDENT merge_pr: again' });
    await store.incidents.record(ws, later, AUDIT);
    expect(
      (await store.incidents.latestWithStatusOnCommit(ws, 'acme/widgets', first.commit ?? ''))?.statusDescription,
    ).toBe('INCIDENT merge_pr: again');
    expect(
      await store.incidents.findRecorded(ws, 'acme/widgets', {
        deliveryId: first.deliveryId,
        action: 'merge_pr',
        commit: first.commit,
        branch: 'main',
      }),
    ).toMatchObject({ incidentId: first.incidentId });
    expect(
      await store.incidents.findRecorded(ws, 'acme/widgets', {
        deliveryId: first.deliveryId,
        action: 'comment_pr',
        commit: first.commit,
        branch: 'main',
      }),
    ).toBeNull();
  });

  test('an incident without a status never stands for its commit; other workspaces see nothing', async () => {
    const ws = newWorkspaceId();
    const deleted = incident({
      action: 'delete_branch',
      commit: null,
      statusState: null,
      statusDescription: null,
      statusUrl: null,
    });
    await store.incidents.record(ws, deleted, AUDIT);
    expect(
      await store.incidents.findRecorded(ws, 'acme/widgets', {
        deliveryId: deleted.deliveryId,
        action: 'delete_branch',
        commit: null,
        branch: 'main',
      }),
    ).not.toBeNull();
    const withStatus = incident();
    await store.incidents.record(ws, withStatus, AUDIT);
    expect(
      await store.incidents.latestWithStatusOnCommit(newWorkspaceId(), 'acme/widgets', withStatus.commit ?? ''),
    ).toBeNull();
    expect(
      await store.incidents.findRecorded(newWorkspaceId(), 'acme/widgets', {
        deliveryId: withStatus.deliveryId,
        action: 'merge_pr',
        commit: withStatus.commit,
        branch: 'main',
      }),
    ).toBeNull();
  });

  test('bad input is refused before anything is written', async () => {
    const ws = newWorkspaceId();
    await expect(store.incidents.record(ws, incident({ commit: 'not-a-sha' }), AUDIT)).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    await expect(
      store.incidents.record(ws, incident({ action: 'rewrite_history' as never }), AUDIT),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect(await store.audit.query(ws)).toEqual([]);
  });

  test('retention purges incidents older than the cutoff', async () => {
    const ws = newWorkspaceId();
    const old = incident();
    await store.incidents.record(ws, old, AUDIT);
    expect(await store.incidents.purgeOlderThan(new Date(Date.now() + 60_000), ws)).toBe(1);
    expect(await store.incidents.latestWithStatusOnCommit(ws, 'acme/widgets', old.commit ?? '')).toBeNull();
  });
});

describe.each(backendsUnderTest('incidents-migration.test'))('0002b-incidents on %s', (backend) => {
  const fixture = new BackendDatabase(backend, 'incidents-migration', true);
  let database: Database;

  beforeAll(async () => {
    await fixture.setUp();
    database = await connectDatabase(parseDatabaseUrl(fixture.url));
  });
  afterAll(async () => {
    await database?.close();
    await fixture.tearDown();
  });

  test('incident audit events are copied into the table; records the reader skipped stay out', async () => {
    const migrator = createMigrator(database);
    await migrator.up({ to: '0002-evaluation-published-status' });
    const ws = newWorkspaceId();
    const commit = randomSha();
    const at = new Date('2026-11-01T10:00:00.000Z');
    const insert = (kind: string, after: Record<string, unknown>) =>
      database.sequelize.query(
        `INSERT INTO audit_events (workspace_uuid, at, actor, kind, subject, after, repo_full_name, pr_id) VALUES (:ws, :at, 'bitbucket:{a}', :kind, 's', :after, 'acme/widgets', 3)`,
        {
          replacements: { ws, at, kind, after: JSON.stringify(after) },
        },
      );
    const good = {
      incident_id: 'inc-1',
      action: 'merge_pr',
      commit,
      branch: 'main',
      status_state: 'FAILED',
      status_description: 'INCIDENT merge_pr: x',
      status_url: 'https://c.example/i/inc-1',
      delivery_id: 'd-1',
      detail: 'x',
    };
    await insert('incident', good);
    await insert('incident', { ...good, incident_id: 'inc-2', action: 'rewrite_history' });
    await insert('incident', { ...good, incident_id: 'inc-3', status_state: 'STOPPED' });
    await insert('incident', { ...good, incident_id: 'inc-4', delivery_id: undefined });
    await insert('policy.created', { action: 'merge_pr', delivery_id: 'd-9' });
    await insert('incident', {
      ...good,
      incident_id: 'inc-5',
      action: 'delete_branch',
      commit: null,
      status_state: null,
      status_description: null,
      status_url: null,
    });
    await migrator.up();
    const [rows] = await database.sequelize.query(
      'SELECT incident_id, action, commit_sha, branch, pr_id, delivery_id, status_state, status_description, status_url, created_at, audit_event_id FROM incidents ORDER BY id',
    );
    const list = rows as Record<string, unknown>[];
    expect(list.map((r) => r.incident_id)).toEqual(['inc-1', 'inc-5']);
    expect(list[0]).toMatchObject({
      action: 'merge_pr',
      commit_sha: commit,
      branch: 'main',
      pr_id: 3,
      delivery_id: 'd-1',
      status_state: 'FAILED',
      status_description: 'INCIDENT merge_pr: x',
      status_url: 'https://c.example/i/inc-1',
    });
    expect(
      new Date(
        String(list[0]?.created_at instanceof Date ? list[0].created_at.toISOString() : list[0]?.created_at),
      ).getTime(),
    ).toBe(at.getTime());
    expect(list[0]?.audit_event_id).not.toBeNull();
    expect(list[1]).toMatchObject({ action: 'delete_branch', commit_sha: null, status_state: null });
    await migrator.down({ to: '0002b-incidents' });
    const [tables] = await database.sequelize.query(
      backend === 'postgres'
        ? "SELECT table_name AS name FROM information_schema.tables WHERE table_name = 'incidents'"
        : "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'incidents'",
    );
    expect(tables).toEqual([]);
  });
});
