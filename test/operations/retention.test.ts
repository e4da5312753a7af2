import pino from 'pino';
import { loadAppConfig } from '../../src/config/app-config';
import { purgeExpired, startRetention } from '../../src/operations/retention';
import {
  DEFAULT_RETENTION_POLICY,
  RetentionConfigError,
  retentionPolicyFromEnv,
  type RetentionPolicy,
} from '../../src/operations/retention-policy';
import { startClawgate } from '../../src/server/create-server';
import { openStore, type Store } from '../../src/store';

/** Retention with an injected clock against a real (in-memory SQLite) store. */

const DAY = 24 * 60 * 60 * 1000;
const WORKSPACE = '{12345678-1234-4234-8234-123456789abc}';
const T0 = Date.parse('2025-01-01T00:00:00Z');
const logger = pino({ level: 'silent' });

let clockMs = T0;
let store: Store;

beforeEach(async () => {
  clockMs = T0;
  store = await openStore('sqlite::memory:', { secretKey: Buffer.alloc(32, 8), clock: () => new Date(clockMs) });
});
afterEach(async () => {
  await store.close();
});

async function finishedJob(key: string): Promise<void> {
  await store.jobs.enqueue({ name: 'retention-test', key, supersedes: null, payload: {}, maxAttempts: 1 });
  const claimed = await store.jobs.claimNext(['retention-test'], 'worker', 60_000);
  if (claimed === null) throw new Error('no job claimed');
  await store.jobs.complete(claimed.id, claimed.lockToken);
}

/** One audit event, one delivery and one finished job, stamped with the store clock. */
async function recordEverything(tag: string): Promise<void> {
  await store.audit.append(WORKSPACE, { actor: 'test', kind: 'test.event', subject: tag });
  await store.deliveries.recordDelivery(WORKSPACE, `delivery-${tag}`, 'pullrequest:created');
  await finishedJob(`job-${tag}`);
}

async function remaining(): Promise<{
  audit: string[];
  jobs: string[];
  deliverySeen: (tag: string) => Promise<boolean>;
}> {
  return {
    audit: (await store.audit.query(WORKSPACE)).map((event) => event.subject),
    jobs: (await store.jobs.list({ name: 'retention-test' })).map((job) => job.key),
    deliverySeen: async (tag) => !(await store.deliveries.recordDelivery(WORKSPACE, `delivery-${tag}`, 'probe')).isNew,
  };
}

describe('retentionPolicyFromEnv', () => {
  test('defaults: audit 400 days, deliveries 7, finished jobs 30, every 6 hours', () => {
    expect(retentionPolicyFromEnv({})).toEqual({
      auditDays: 400,
      deliveryDays: 7,
      jobDays: 30,
      intervalMs: 6 * 60 * 60 * 1000,
    });
    expect(DEFAULT_RETENTION_POLICY.auditDays).toBe(400);
  });

  test('reads the environment; 0 keeps the audit forever', () => {
    expect(
      retentionPolicyFromEnv({
        CLAWGATE_AUDIT_RETENTION_DAYS: '0',
        CLAWGATE_DELIVERY_RETENTION_DAYS: '2',
        CLAWGATE_JOB_RETENTION_DAYS: '10',
        CLAWGATE_RETENTION_INTERVAL_MINUTES: '15',
      }),
    ).toEqual({
      auditDays: 0,
      deliveryDays: 2,
      jobDays: 10,
      intervalMs: 15 * 60_000,
    });
  });

  test.each([
    ['CLAWGATE_AUDIT_RETENTION_DAYS', 'forever'],
    ['CLAWGATE_AUDIT_RETENTION_DAYS', '-1'],
    ['CLAWGATE_AUDIT_RETENTION_DAYS', '1.5'],
    ['CLAWGATE_AUDIT_RETENTION_DAYS', '99999'],
    ['CLAWGATE_DELIVERY_RETENTION_DAYS', '0'],
    ['CLAWGATE_JOB_RETENTION_DAYS', ''],
    ['CLAWGATE_RETENTION_INTERVAL_MINUTES', '0'],
  ])('%s=%j is refused (fail at start)', (name, value) => {
    expect(() => retentionPolicyFromEnv({ [name]: value })).toThrow(RetentionConfigError);
    expect(() => retentionPolicyFromEnv({ [name]: value })).toThrow(name);
  });

  test('the server refuses to start with a bad retention setting', async () => {
    const config = loadAppConfig({
      DATABASE_URL: 'sqlite::memory:',
      CLAWGATE_SECRET_KEY: Buffer.alloc(32, 1).toString('hex'),
    });
    await expect(
      startClawgate({ config, port: 0, logger, env: { CLAWGATE_AUDIT_RETENTION_DAYS: 'soon' }, workers: false }),
    ).rejects.toThrow(RetentionConfigError);
  });
});

describe('purgeExpired', () => {
  const policy: RetentionPolicy = { auditDays: 400, deliveryDays: 7, jobDays: 30, intervalMs: 60_000 };

  test('deletes exactly what is older than each cutoff', async () => {
    await recordEverything('old');
    clockMs = T0 + 10 * DAY;
    await recordEverything('ten-days');
    clockMs = T0 + 390 * DAY;
    await recordEverything('recent');

    // Day 395: deliveries older than 7 days and jobs older than 30 go; the audit (400 days) stays whole.
    clockMs = T0 + 395 * DAY;
    const first = await purgeExpired(store, policy, new Date(clockMs));
    expect(first).toEqual(expect.objectContaining({ auditEvents: 0, deliveries: 2, jobs: 2 }));
    expect(first.cutoffs.audit?.toISOString()).toBe(new Date(T0 - 5 * DAY).toISOString());
    let left = await remaining();
    expect(left.audit).toEqual(['old', 'ten-days', 'recent']);
    expect(left.jobs).toEqual(['job-recent']);
    expect(await left.deliverySeen('recent')).toBe(true);
    expect(await left.deliverySeen('old')).toBe(false);

    // Day 405: the first audit event is 405 days old, the second 395.
    clockMs = T0 + 405 * DAY;
    const second = await purgeExpired(store, policy, new Date(clockMs));
    expect(second.auditEvents).toBe(1);
    left = await remaining();
    expect(left.audit).toEqual(['ten-days', 'recent']);
  });

  test("the API budget's call counts are kept for a day", async () => {
    const ws = '{00000000-0000-4000-8000-0000000000aa}';
    await store.apiCalls.take(ws, 'client', T0, 10);
    await store.apiCalls.take(ws, 'client', T0 + DAY, 10);
    // The hour that began at T0 ended a day before T0 + DAY + 1 h: it goes; the newer one stays.
    const result = await purgeExpired(store, policy, new Date(T0 + DAY + 3_600_000 + 60_000));
    expect(result.apiCallHours).toBe(1);
    expect(await store.apiCalls.window(ws, 'client', T0 + DAY + 60_000)).toMatchObject({ current: 1, previous: 0 });
  });

  test('an event exactly at the cutoff is kept (strictly older goes)', async () => {
    await store.audit.append(WORKSPACE, { actor: 'test', kind: 'test.event', subject: 'edge' });
    const edge = (await store.audit.query(WORKSPACE))[0]?.at.getTime() ?? 0;
    expect((await purgeExpired(store, policy, new Date(edge + 400 * DAY))).auditEvents).toBe(0);
    expect((await purgeExpired(store, policy, new Date(edge + 400 * DAY + 1))).auditEvents).toBe(1);
  });

  test('audit retention 0 keeps every audit event; unfinished jobs are never purged', async () => {
    await store.audit.append(WORKSPACE, { actor: 'test', kind: 'test.event', subject: 'ancient' });
    await store.jobs.enqueue({ name: 'retention-test', key: 'pending', supersedes: null, payload: {}, maxAttempts: 1 });
    clockMs = T0 + 10_000 * DAY;
    const result = await purgeExpired(store, { ...policy, auditDays: 0 }, new Date(clockMs));
    expect(result.auditEvents).toBe(0);
    expect(result.cutoffs.audit).toBeNull();
    const left = await remaining();
    expect(left.audit).toEqual(['ancient']);
    expect(left.jobs).toEqual(['pending']);
  });
});

describe('startRetention', () => {
  test('runs after the first delay and then every interval, with the injected clock; stop() ends it', async () => {
    await recordEverything('old');
    const calls: Date[] = [];
    const counting = {
      audit: store.audit,
      incidents: store.incidents,
      deliveries: store.deliveries,
      commitPushes: store.commitPushes,
      jobs: {
        purgeFinishedBefore: (cutoff: Date) => {
          calls.push(cutoff);
          return store.jobs.purgeFinishedBefore(cutoff);
        },
      },
    } as unknown as Pick<Store, 'audit' | 'incidents' | 'deliveries' | 'jobs' | 'commitPushes'>;
    const now = new Date(T0 + 500 * DAY);
    const job = startRetention({
      store: counting,
      policy: { auditDays: 400, deliveryDays: 7, jobDays: 30, intervalMs: 20 },
      logger,
      now: () => now,
      firstRunDelayMs: 5,
    });
    try {
      const deadline = Date.now() + 5000;
      while (calls.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(calls.length).toBeGreaterThanOrEqual(3);
      expect(calls[0]?.toISOString()).toBe(new Date(now.getTime() - 30 * DAY).toISOString());
      expect((await remaining()).audit).toEqual([]);
    } finally {
      await job.stop();
    }
    const stoppedAt = calls.length;
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(calls.length).toBe(stoppedAt);
    await job.stop();
  });

  test('a failing purge is logged and the schedule continues; runOnce reports the counts', async () => {
    let failures = 0;
    const flaky = {
      audit: store.audit,
      incidents: store.incidents,
      deliveries: store.deliveries,
      commitPushes: store.commitPushes,
      jobs: {
        purgeFinishedBefore: (cutoff: Date) => {
          failures += 1;
          if (failures === 1) return Promise.reject(new Error('database busy'));
          return store.jobs.purgeFinishedBefore(cutoff);
        },
      },
    } as unknown as Pick<Store, 'audit' | 'incidents' | 'deliveries' | 'jobs' | 'commitPushes'>;
    const job = startRetention({
      store: flaky,
      policy: { auditDays: 1, deliveryDays: 1, jobDays: 1, intervalMs: 10 },
      logger,
      now: () => new Date(T0 + 2 * DAY),
      firstRunDelayMs: 1,
    });
    try {
      const deadline = Date.now() + 5000;
      while (failures < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(failures).toBeGreaterThanOrEqual(2);
      // With the timer stopped, a manual run sees exactly what was recorded since.
      await job.stop();
      await recordEverything('x');
      const result = await job.runOnce();
      expect(result).toEqual(expect.objectContaining({ auditEvents: 1, deliveries: 1, jobs: 1 }));
    } finally {
      await job.stop();
    }
  });

  test('the first run waits for its delay (nothing is purged at start)', async () => {
    await recordEverything('old');
    const job = startRetention({
      store,
      policy: DEFAULT_RETENTION_POLICY,
      logger,
      now: () => new Date(T0 + 1000 * DAY),
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect((await remaining()).audit).toEqual(['old']);
    await job.stop();
  });
});
