import pino from 'pino';
import { ApiBudgetExceededError } from '../../src/bitbucket';
import { ApiBudget } from '../../src/pipeline/api-budget';
import type { Store } from '../../src/store';
import { backendsUnderTest } from './support/postgres';
import { BackendDatabase, newWorkspaceId } from './support/store-fixture';

/**
 * The API budget's count in the store (migration 0009) and the meter over it (src/pipeline/api-budget.ts),
 * on SQLite and PostgreSQL: atomic under concurrency, per installation and workspace, reads stop at the
 * write reserve, writes use it, the per-job read cap, the pause after a 429, the previous hour's weight.
 */
const HOUR = 3_600_000;
const T0 = 1_796_616_000_000; // the start of a clock hour

describe.each(backendsUnderTest('api-call-budget.test'))('API call budget on %s', (backend) => {
  const fixture = new BackendDatabase(backend, 'api_budget', true);
  let store: Store;

  beforeAll(async () => {
    await fixture.setUp();
    store = await fixture.open();
  });
  afterAll(async () => {
    await store?.close();
    await fixture.tearDown();
  });

  test('take is atomic: 50 concurrent takes against a cap of 20 count exactly 20', async () => {
    const ws = newWorkspaceId();
    const results = await Promise.all(
      Array.from({ length: 50 }, () => store.apiCalls.take(ws, 'client-a', T0 + 10, 20)),
    );
    expect(results.filter(Boolean)).toHaveLength(20);
    expect((await store.apiCalls.window(ws, 'client-a', T0 + 10)).current).toBe(20);
  });

  test('counts are per installation and per workspace, and per clock hour', async () => {
    const ws = newWorkspaceId();
    const other = newWorkspaceId();
    await store.apiCalls.take(ws, 'client-a', T0, 100);
    await store.apiCalls.take(ws, 'client-a', T0 + HOUR + 5, 100);
    expect(await store.apiCalls.window(ws, 'client-a', T0 + HOUR + 6)).toMatchObject({ current: 1, previous: 1 });
    expect(await store.apiCalls.window(ws, 'client-b', T0 + HOUR + 6)).toMatchObject({ current: 0, previous: 0 });
    expect(await store.apiCalls.window(other, 'client-a', T0 + HOUR + 6)).toMatchObject({ current: 0, previous: 0 });
    expect(await store.apiCalls.take(ws, 'client-a', T0, 0)).toBe(false);
    expect(await store.apiCalls.purgeOlderThan(T0 + HOUR)).toBeGreaterThanOrEqual(1);
    expect(await store.apiCalls.window(ws, 'client-a', T0 + HOUR + 6)).toMatchObject({ current: 1, previous: 0 });
  });

  test('the meter: reads stop at the reserve, writes use it, then nothing; other endpoints are not counted', async () => {
    const ws = newWorkspaceId();
    const refused: string[] = [];
    const budget = new ApiBudget({
      store,
      config: { callsPerHour: 10, writeReserve: 4, perEvaluation: 100, cooldownMs: 0 },
      now: () => T0 + 1000,
      logger: pino({ level: 'silent' }),
      observer: { onCall: (_ws, outcome) => (outcome.startsWith('refused') ? refused.push(outcome) : undefined) },
    });
    const meter = budget.meterFor({ workspaceId: ws, clientKey: 'client-a' });
    const read = { method: 'GET' as const, path: '/2.0/repositories/acme/web/pullrequests/1' };
    const write = { method: 'POST' as const, path: '/2.0/repositories/acme/web/commit/abc/statuses/build' };
    for (let i = 0; i < 6; i++) await meter.beforeCall(read);
    await expect(meter.beforeCall(read)).rejects.toMatchObject({ scope: 'installation', transient: true });
    for (let i = 0; i < 4; i++) await meter.beforeCall(write);
    await expect(meter.beforeCall(write)).rejects.toBeInstanceOf(ApiBudgetExceededError);
    // The webhook-management and user endpoints have their own buckets on Bitbucket.
    await meter.beforeCall({ method: 'GET', path: '/2.0/user' });
    expect(meter.spent).toEqual({ reads: 6, writes: 4 });
    expect(refused).toEqual(['refused_installation', 'refused_installation']);
    // A priority job (the forged-status defence) reads from the reserve, but not past the hour.
    const priority = budget.meterFor({ workspaceId: ws, clientKey: 'client-a' }, { priority: true });
    await expect(priority.beforeCall(read)).rejects.toMatchObject({ scope: 'installation' });
    expect(await budget.usage({ workspaceId: ws, clientKey: 'client-a' })).toMatchObject({
      spent: 10,
      readsLeft: 0,
      writesLeft: 0,
    });
  });

  test('the per-job read cap is a verdict (not transient); writes are not capped by it', async () => {
    const ws = newWorkspaceId();
    const budget = new ApiBudget({
      store,
      config: { callsPerHour: 1000, writeReserve: 100, perEvaluation: 3, cooldownMs: 0 },
      now: () => T0,
    });
    const meter = budget.meterFor({ workspaceId: ws, clientKey: 'client-a' }, { readsCap: 3 });
    const read = { method: 'GET' as const, path: '/2.0/repositories/acme/web/diffstat/abc' };
    for (let i = 0; i < 3; i++) await meter.beforeCall(read);
    await expect(meter.beforeCall(read)).rejects.toMatchObject({
      scope: 'evaluation',
      transient: false,
      code: 'API_BUDGET_EXCEEDED',
    });
    await meter.beforeCall({ method: 'PUT', path: '/2.0/repositories/acme/web/commit/abc/reports/clawgate' });
    expect(meter.spent).toEqual({ reads: 3, writes: 1 });
  });

  test('after a 429 reads pause for the cooldown (writes go on); the 429 is counted', async () => {
    const ws = newWorkspaceId();
    let now = T0 + 5000;
    const budget = new ApiBudget({
      store,
      config: { callsPerHour: 1000, writeReserve: 100, perEvaluation: 100, cooldownMs: 2000 },
      now: () => now,
    });
    const meter = budget.meterFor({ workspaceId: ws, clientKey: 'client-a' });
    const read = { method: 'GET' as const, path: '/2.0/repositories/acme/web/pullrequests/1' };
    await meter.beforeCall(read);
    meter.afterCall({ ...read, status: 429 });
    await new Promise((resolve) => setTimeout(resolve, 200)); // the 429 is recorded without blocking the caller
    await expect(meter.beforeCall(read)).rejects.toMatchObject({ scope: 'installation', retryAfterMs: 2000 });
    await meter.beforeCall({ method: 'POST', path: '/2.0/repositories/acme/web/commit/abc/statuses/build' });
    now += 2001;
    await meter.beforeCall(read);
    expect((await store.apiCalls.window(ws, 'client-a', now)).rateLimited).toBe(1);
  });

  test('the previous hour still counts by the part of it inside the last 60 minutes', async () => {
    const ws = newWorkspaceId();
    for (let i = 0; i < 8; i++) await store.apiCalls.take(ws, 'client-a', T0 + 10, 100);
    // A quarter into the next hour, 3/4 of the previous 8 calls (6) still count: 10 − 2 reserve − 6 = 2 reads left.
    const budget = new ApiBudget({
      store,
      config: { callsPerHour: 10, writeReserve: 2, perEvaluation: 100, cooldownMs: 0 },
      now: () => T0 + HOUR + HOUR / 4,
    });
    const meter = budget.meterFor({ workspaceId: ws, clientKey: 'client-a' });
    const read = { method: 'GET' as const, path: '/2.0/repositories/acme/web/pullrequests/1' };
    await meter.beforeCall(read);
    await meter.beforeCall(read);
    await expect(meter.beforeCall(read)).rejects.toMatchObject({ scope: 'installation' });
  });
});
