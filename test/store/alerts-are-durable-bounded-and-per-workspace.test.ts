import type { Store } from '../../src/store';
import { MAX_PENDING_ALERTS } from '../../src/store';
import { backendsUnderTest } from './support/postgres';
import { BackendDatabase, newWorkspaceId, randomSha } from './support/store-fixture';

/** Issue 9 alerts in the store (migration 0010), on SQLite and PostgreSQL. */

describe.each(backendsUnderTest('alerts.test'))('alerts on %s', (backend) => {
  const fixture = new BackendDatabase(backend, 'alerts', true);
  let store: Store;

  beforeAll(async () => {
    await fixture.setUp();
    store = await fixture.open();
  });
  afterAll(async () => {
    await store?.close();
    await fixture.tearDown();
  });

  test('the webhook secret is sealed, returned once, kept on a URL change, replaced on rotation; other workspaces see nothing', async () => {
    const ws = newWorkspaceId();
    const created = await store.alerts.setWebhook(ws, 'https://hooks.example.com/a');
    expect(created.created).toBe(true);
    const secret = created.secret?.reveal() ?? '';
    expect(secret).toMatch(/^whsec_/);
    expect(JSON.stringify(created)).not.toContain(secret);
    const changed = await store.alerts.setWebhook(ws, 'https://hooks.example.com/b');
    expect(changed).toEqual({ created: false, secret: null });
    expect((await store.alerts.getWebhook(ws))?.secret.reveal()).toBe(secret);
    const rotated = (await store.alerts.rotateSecret(ws))?.reveal();
    expect(rotated).not.toBe(secret);
    expect((await store.alerts.getWebhook(ws))?.secret.reveal()).toBe(rotated);
    expect(await store.alerts.getWebhook(newWorkspaceId())).toBeNull();
    expect(await store.alerts.rotateSecret(newWorkspaceId())).toBeNull();
  });

  test('an alert is claimed by one sender only, retried when due, and listed for its workspace only', async () => {
    const ws = newWorkspaceId();
    const alert = await store.alerts.record(ws, { kind: 'incident', subject: 's', body: { a: 1 } });
    const due = await store.alerts.due(ws, new Date(Date.now() + 1000), 10);
    expect(due.map((a) => a.alertId)).toEqual([alert.alertId]);
    const [first, second] = await Promise.all([
      store.alerts.claim(ws, alert, new Date(Date.now() + 60_000)),
      store.alerts.claim(ws, alert, new Date(Date.now() + 60_000)),
    ]);
    expect([first, second].filter(Boolean)).toHaveLength(1);
    expect(await store.alerts.due(ws, new Date(Date.now() + 1000), 10)).toEqual([]);
    await store.alerts.markAttempt(ws, alert.id, {
      state: 'pending',
      attempts: 1,
      nextAttemptAt: new Date(Date.now() - 1),
      error: 'HTTP 500',
    });
    expect((await store.alerts.due(ws, new Date(), 10))[0]).toMatchObject({
      attempts: 1,
      lastError: 'HTTP 500',
      body: { a: 1 },
    });
    expect(await store.alerts.due(newWorkspaceId(), new Date(Date.now() + 1000), 10)).toEqual([]);
    expect(await store.alerts.listSince(newWorkspaceId(), new Date(0), 10)).toEqual([]);
  });

  test(`pending alerts per workspace are bounded (${MAX_PENDING_ALERTS} by default): past the bound the oldest are dropped`, async () => {
    const ws = newWorkspaceId();
    const bound = { maxPending: 5 };
    const first = await store.alerts.record(ws, { kind: 'test', subject: 'first', body: {} }, bound);
    for (let i = 1; i < 5; i += 1) await store.alerts.record(ws, { kind: 'test', subject: `n${i}`, body: {} }, bound);
    expect(await store.alerts.due(ws, new Date(Date.now() + 1000), 10)).toHaveLength(5);
    await store.alerts.record(ws, { kind: 'test', subject: 'one too many', body: {} }, bound);
    const due = await store.alerts.due(ws, new Date(Date.now() + 1000), 10);
    expect(due).toHaveLength(5);
    expect(due.map((a) => a.alertId)).not.toContain(first.alertId);
    expect((await store.alerts.listSince(ws, new Date(0), 10)).find((a) => a.alertId === first.alertId)).toMatchObject({
      state: 'dropped',
      lastError: 'too many pending alerts',
    });
    expect(
      await store.alerts
        .record(ws, { kind: 'test', subject: 'big', body: { x: 'y'.repeat(20_000) } })
        .catch((e: Error) => e.message),
    ).toMatch(/alert body over/);
  });

  test('restore failures are counted per workspace in a window', async () => {
    const ws = newWorkspaceId();
    const start = new Date(Date.now() - 1000);
    expect(
      await store.alerts.recordRestoreFailure(ws, { repoFullName: 'acme/x', commit: randomSha(), error: 'e' }, start),
    ).toBe(1);
    expect(
      await store.alerts.recordRestoreFailure(ws, { repoFullName: 'acme/x', commit: randomSha(), error: 'e' }, start),
    ).toBe(2);
    expect(
      await store.alerts.recordRestoreFailure(
        newWorkspaceId(),
        { repoFullName: 'acme/x', commit: randomSha(), error: 'e' },
        start,
      ),
    ).toBe(1);
    expect(
      await store.alerts.recordRestoreFailure(
        ws,
        { repoFullName: 'acme/x', commit: randomSha(), error: 'e' },
        new Date(Date.now() + 60_000),
      ),
    ).toBe(0);
  });
});
