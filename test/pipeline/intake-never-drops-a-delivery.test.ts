import { readFileSync } from 'node:fs';
import pino from 'pino';
import { createPipelineIntake } from '../../src/pipeline/pipeline-intake';
import { EVALUATION_JOB } from '../../src/pipeline/webhook-events';
import { createJobQueue, type JobQueue } from '../../src/queue';
import type { Store } from '../../src/store';
import { repoWebhooksClientKey } from '../../src/webhooks';
import { sharedPath } from '../shared-data';
import { backendsUnderTest } from '../store/support/postgres';
import { BackendDatabase } from '../store/support/store-fixture';

/**
 * Back-pressure never drops a delivery (issue 15): when the work of a new delivery cannot be queued
 * (the database refuses the enqueue), the surface answers 5xx and Bitbucket redelivers with the same
 * X-Request-UUID; that redelivery must be queued, not dropped as "already seen". Real store and real
 * queue (table on SQLite, pg-boss on PostgreSQL); the one refused enqueue is injected at the queue's
 * interface.
 */
const PR_UPDATED = JSON.parse(
  readFileSync(sharedPath('bitbucket-fixtures', 'jenkins-bbs', 'pullrequest_updated.json'), 'utf8'),
) as unknown;
const WORKSPACE = '{7d3a178a-a087-4756-b2da-2f9eadf50ba8}';

describe.each(backendsUnderTest('pipeline/intake-never-drops-a-delivery'))('on %s', (backend) => {
  const database = new BackendDatabase(backend, 'intake_drop');
  let store: Store;
  let queue: JobQueue;
  beforeAll(async () => {
    await database.setUp();
    store = await database.open();
    queue = createJobQueue(store, { env: {} });
  });
  afterAll(async () => {
    await queue.stop();
    await store.close();
    await database.tearDown();
  });

  test('an enqueue that fails leaves the delivery unseen: the redelivery is queued once, a third copy is a duplicate', async () => {
    const { tenant } = await store.tenants.upsertInstall({
      workspaceId: WORKSPACE,
      workspaceSlug: 'nfalco79',
      surface: 'repo_webhooks',
      clientKey: repoWebhooksClientKey(WORKSPACE),
      sharedSecret: 'Gkvl$k$wyNpQAF42',
      accessToken: 'ATCTT3xTEST',
      baseApiUrl: 'https://api.bitbucket.org',
      actor: 'test',
    });
    let refuse = true;
    const refusingOnce: JobQueue = {
      backend: queue.backend,
      enqueue: async (name, payload, options) => {
        if (refuse) {
          refuse = false;
          throw new Error('connection terminated');
        }
        return queue.enqueue(name, payload, options);
      },
      start: (handlers) => queue.start(handlers),
      stop: () => queue.stop(),
      wake: (name) => queue.wake(name),
      backlog: () => queue.backlog(),
    };
    const intake = createPipelineIntake({ store, queue: refusingOnce, logger: pino({ level: 'silent' }) });
    const delivery = {
      surface: 'repo_webhooks' as const,
      tenant,
      eventKey: 'pullrequest:updated',
      deliveryId: '{0e6f6d56-3c1c-4c55-9d7e-0d3b1f2a9c01}',
      attempt: 1,
      payload: PR_UPDATED,
    };

    await expect(intake.receive(delivery)).rejects.toThrow('connection terminated');
    expect((await queue.backlog()).find((row) => row.name === EVALUATION_JOB)?.waiting ?? 0).toBe(0);

    expect(await intake.receive({ ...delivery, attempt: 2 })).toEqual({ accepted: true, duplicate: false, jobs: 1 });
    expect(await intake.receive({ ...delivery, attempt: 3 })).toEqual({ accepted: false, duplicate: true, jobs: 0 });
    expect((await queue.backlog()).find((row) => row.name === EVALUATION_JOB)).toMatchObject({
      waiting: 1,
      running: 0,
    });
  });
});
