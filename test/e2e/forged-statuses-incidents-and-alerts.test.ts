import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { verifyAlertSignature } from '../../src/pipeline/alert-webhook';
import {
  callApi,
  finalStatus,
  openAgentPullRequest,
  prepareWorkspace,
  startTestClawgate,
  waitFor,
  type Workspace,
} from './harness';
import {
  ADMIN_TOKEN,
  appStatusWrites,
  auditOfKind,
  clawgateStatusOn,
  settle,
  startWorld,
  workspaceIdOf,
  type World,
} from './operations-world';

/**
 * Issue 9 — forged statuses that cannot starve the defence, incidents only from facts, and the
 * per-workspace alert webhook, through the sandbox and the real server (SQLite, table queue), with a
 * loopback receiver standing in for the admin's alert endpoint.
 */

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A loopback alert receiver that answers 500 to the first `failFirst` requests. */
async function startReceiver(
  failFirst: number,
): Promise<{ url: string; received: Received[]; answered: number[]; server: Server }> {
  const received: Received[] = [];
  const answered: number[] = [];
  let failuresLeft = failFirst;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = failuresLeft > 0 ? 500 : 204;
      failuresLeft -= 1;
      answered.push(status);
      response.statusCode = status;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/clawgate-alerts`,
    received,
    answered,
    server,
  };
}

const ENV = {
  CLAWGATE_ALERT_ALLOW_LOOPBACK: '1',
  CLAWGATE_ALERT_RETRY_BASE_MS: '50',
  CLAWGATE_RESTORE_RETRY_BASE_MS: '200',
  CLAWGATE_RESTORE_ALERT_FAILURES: '2',
  CLAWGATE_RESTORE_ALERT_WINDOW_MS: '600000',
  CLAWGATE_RESTORE_COALESCE_MS: '400',
};

describe('e2e: forged statuses, incidents from facts, alerts', () => {
  let world: World;
  let ws: Workspace;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let secret: string;

  beforeAll(async () => {
    world = await startWorld({ env: ENV });
    ws = await prepareWorkspace(world.sandbox, world.app.url);
    world.sandbox.createUser({ nickname: 'mallory', displayName: 'Mallory' });
    receiver = await startReceiver(2);
    const set = await callApi(world.app.url, 'PUT', '/api/v1/workspaces/acme/alert-webhook', ws.bearer, {
      url: receiver.url,
    });
    expect(set.status).toBe(201);
    secret = String(set.json.secret);
  }, 30_000);

  afterAll(async () => {
    await world.close();
    await new Promise((resolve) => receiver.server.close(resolve));
  });

  test('a storm of 25 forgeries of one PR head ends restored, with far fewer writes and reads than forgeries', async () => {
    const pr = openAgentPullRequest(world.sandbox, ws, 'agent/storm', { '.github/workflows/ci.yml': 'on: push\n' });
    expect((await finalStatus(world.sandbox, pr.head)).state).toBe('FAILED');
    await settle(world);
    const writesBefore = appStatusWrites(world, pr.head).length;
    const readsBefore = world.sandbox.received.requests.filter(
      (r) =>
        r.method === 'GET' &&
        r.path.includes(`/commit/${pr.head}/statuses`) &&
        !String(r.principal).startsWith('user:'),
    ).length;
    for (let i = 0; i < 25; i += 1)
      world.sandbox.postStatus(
        'acme/proj-web',
        pr.head,
        { key: 'clawgate', state: 'SUCCESSFUL', description: `forged ${i}` },
        'mallory',
      );
    await settle(world);
    expect(clawgateStatusOn(world, pr.head)?.state).toBe('FAILED');
    const writes = appStatusWrites(world, pr.head).length - writesBefore;
    const reads =
      world.sandbox.received.requests.filter(
        (r) =>
          r.method === 'GET' &&
          r.path.includes(`/commit/${pr.head}/statuses`) &&
          !String(r.principal).startsWith('user:'),
      ).length - readsBefore;
    expect(writes).toBeGreaterThanOrEqual(1);
    // Before: one read and one write per forgery (50 calls). Coalesced: a handful.
    expect(writes + reads).toBeLessThanOrEqual(10); // measured: 1 write, 2 reads
  }, 60_000);

  test('a forged status on a commit that is the head of no open PR is not defended and costs no API call', async () => {
    const main = world.sandbox.branchHead('acme/proj-web', 'main') ?? '';
    const requestsBefore = world.sandbox.received.requests.filter(
      (r) => !String(r.principal).startsWith('user:'),
    ).length;
    world.sandbox.postStatus(
      'acme/proj-web',
      main,
      { key: 'clawgate', state: 'SUCCESSFUL', description: 'trust me' },
      'mallory',
    );
    await settle(world);
    expect(clawgateStatusOn(world, main)?.state).toBe('SUCCESSFUL');
    expect(appStatusWrites(world, main)).toHaveLength(0);
    expect(world.sandbox.received.requests.filter((r) => !String(r.principal).startsWith('user:')).length).toBe(
      requestsBefore,
    );
  }, 30_000);

  test('a restore under 5xx and 429 is queued again with backoff and ends restored; repeated failures raise restore_failing', async () => {
    const pr = openAgentPullRequest(world.sandbox, ws, 'agent/flaky', { '.github/workflows/flaky.yml': 'on: push\n' });
    expect((await finalStatus(world.sandbox, pr.head)).state).toBe('FAILED');
    await settle(world);
    // The client retries inside one attempt (4 tries); 12 faults outlast two restore attempts.
    world.sandbox.faults.inject({ path: `/commit/${pr.head}/statuses/build`, method: 'POST', status: 503, count: 6 });
    world.sandbox.faults.inject({ path: `/commit/${pr.head}/statuses/build`, method: 'POST', status: 429, count: 6 });
    world.sandbox.postStatus(
      'acme/proj-web',
      pr.head,
      { key: 'clawgate', state: 'SUCCESSFUL', description: 'forged under load' },
      'mallory',
    );
    await waitFor(
      () => (clawgateStatusOn(world, pr.head)?.state === 'FAILED' ? true : undefined),
      60_000,
      'the restore to succeed after the faults',
    );
    const wsId = await workspaceIdOf(world);
    const failing = await waitFor(
      async () => (await world.app.store.alerts.latestOfKind(wsId, 'restore_failing')) ?? undefined,
      10_000,
      'the restore_failing alert',
    );
    expect(failing.body).toMatchObject({ repo: 'acme/proj-web', commit: pr.head });
    const restored = (await auditOfKind(world, 'forged_status')).find((e) => e.subject === `acme/proj-web@${pr.head}`);
    expect((restored?.after as { failed_attempts?: number }).failed_attempts).toBeGreaterThanOrEqual(2);
  }, 90_000);

  test('an agent forging its own PR status is a STATUS_FORGED incident, FAILED on the head, and a signed alert reaches the receiver after its failures', async () => {
    const pr = openAgentPullRequest(world.sandbox, ws, 'agent/self-approve', {
      'src/self.ts': 'export const s = 1;\n',
    });
    expect((await finalStatus(world.sandbox, pr.head)).state).toBe('SUCCESSFUL');
    await settle(world);
    world.sandbox.postStatus(
      'acme/proj-web',
      pr.head,
      { key: 'clawgate', state: 'SUCCESSFUL', description: 'verified by me' },
      'claw-bot',
    );
    world.sandbox.postStatus(
      'acme/proj-web',
      pr.head,
      { key: 'clawgate', state: 'SUCCESSFUL', description: 'verified by me again' },
      'claw-bot',
    );
    await waitFor(
      () => (clawgateStatusOn(world, pr.head)?.state === 'FAILED' ? true : undefined),
      15_000,
      'the incident status',
    );
    expect(String(clawgateStatusOn(world, pr.head)?.description)).toMatch(
      /^INCIDENT forge_status: Claw Bot wrote a clawgate status/,
    );
    await settle(world);
    const incidents = (await auditOfKind(world, 'incident')).map(
      (e) => e.after as { action: string; commit: string; reason_code: string },
    );
    expect(incidents.filter((i) => i.action === 'forge_status' && i.commit === pr.head)).toEqual([
      expect.objectContaining({ reason_code: 'STATUS_FORGED' }),
    ]);

    // The receiver failed twice (500) and then took it; every attempt carried the same id and a valid signature.
    const delivered = await waitFor(
      () =>
        receiver.received.filter(
          (r) => (JSON.parse(r.body) as { data: { action?: string; commit?: string } }).data.commit === pr.head,
        ),
      20_000,
      'the incident alert',
      // waitFor treats an empty array as found; ask for a 2xx answer having happened.
    ).then(async (list) => {
      await waitFor(
        async () =>
          (await world.app.store.alerts.listSince(await workspaceIdOf(world), new Date(0), 50)).some(
            (a) =>
              a.kind === 'incident' && a.state === 'delivered' && (a.body as { commit?: string }).commit === pr.head,
          )
            ? true
            : undefined,
        20_000,
        'delivery',
      );
      return (
        receiver.received.filter(
          (r) => (JSON.parse(r.body) as { data: { commit?: string } }).data.commit === pr.head,
        ) ?? list
      );
    });
    const ids = new Set(delivered.map((r) => r.headers['x-clawgate-alert-id']));
    expect(ids.size).toBe(1);
    for (const request of delivered) {
      expect(
        verifyAlertSignature(
          secret,
          {
            signature: request.headers['x-clawgate-signature'] as string,
            timestamp: request.headers['x-clawgate-timestamp'] as string,
          },
          request.body,
          Math.floor(Date.now() / 1000),
        ),
      ).toBe(true);
      expect(
        verifyAlertSignature(
          'whsec_wrong',
          {
            signature: request.headers['x-clawgate-signature'] as string,
            timestamp: request.headers['x-clawgate-timestamp'] as string,
          },
          request.body,
          Math.floor(Date.now() / 1000),
        ),
      ).toBe(false);
    }
    const body = JSON.parse(delivered[0]?.body ?? '{}') as { id: string; type: string; data: Record<string, unknown> };
    expect(body).toMatchObject({
      type: 'incident',
      data: { action: 'forge_status', reason_code: 'STATUS_FORGED', repo: 'acme/proj-web', commit: pr.head },
    });
    expect(body.id).toBe(ids.values().next().value);
    expect(receiver.answered.slice(0, 2)).toEqual([500, 500]);
  }, 60_000);

  test('a replayed created body sent as fulfilled, and a fulfilled event for a PR the API says is OPEN, record nothing', async () => {
    const pr = openAgentPullRequest(world.sandbox, ws, 'agent/not-merged', { 'src/nm.ts': 'export const nm = 1;\n' });
    await finalStatus(world.sandbox, pr.head);
    await settle(world);
    const created = world.sandbox.deliveries.find(
      (d) => d.kind === 'connect' && d.event === 'pullrequest:created' && d.body.includes(`"id":${pr.prId},`),
    );
    if (created === undefined) throw new Error('no pullrequest:created delivery for the PR');
    const incidentsBefore = (await auditOfKind(world, 'incident')).length;
    const send = async (
      id: string,
      mutate: (body: { event?: string; data: { pullrequest: { state: string } } }) => void,
    ): Promise<number> => {
      const body = JSON.parse(created.body) as { event?: string; data: { pullrequest: { state: string } } };
      mutate(body);
      const headers = Object.fromEntries(
        Object.entries(created.headers).map(([name, value]) => [name.toLowerCase(), value]),
      );
      const answer = await fetch(created.url, {
        method: 'POST',
        headers: { ...headers, 'x-event-key': 'pullrequest:fulfilled', 'x-request-uuid': id, 'x-attempt-number': '1' },
        body: JSON.stringify(body),
      });
      if (answer.status >= 300) throw new Error(`${answer.status} ${await answer.text()}`);
      return answer.status;
    };
    // 1. The genuine created body (state OPEN) under pullrequest:fulfilled.
    expect(
      await send('{7e0e0e0e-0000-4000-8000-000000000001}', (b) => void (b.event = 'pullrequest:fulfilled')),
    ).toBeLessThan(300);
    // 2. The same body claiming MERGED: the API says the PR is OPEN.
    expect(
      await send('{7e0e0e0e-0000-4000-8000-000000000002}', (b) => {
        b.event = 'pullrequest:fulfilled';
        b.data.pullrequest.state = 'MERGED';
      }),
    ).toBeLessThan(300);
    await settle(world);
    // The MERGED claim became a job (the body's shape is a merge's); the API's OPEN stopped it.
    const fulfilledJobs = (await world.app.store.jobs.list()).filter(
      (j) =>
        (j.payload as { kind?: string; prId?: number }).kind === 'pr_fulfilled' &&
        (j.payload as { prId?: number }).prId === pr.prId,
    );
    expect(fulfilledJobs).toHaveLength(1);
    expect(fulfilledJobs[0]?.state).toBe('done');
    expect((await auditOfKind(world, 'incident')).length).toBe(incidentsBefore);
    expect(world.sandbox.getPullRequest('acme/proj-web', pr.prId)?.state).toBe('OPEN');
  }, 30_000);

  test('the alert webhook admin API: a private or non-allowed URL is refused, the secret rotates, every change is audited', async () => {
    for (const url of [
      'https://10.0.0.5/hook',
      'http://example.com/hook',
      'https://user:pw@example.com/hook',
      'https://hooks.example.com/x',
    ]) {
      const refused = await callApi(world.app.url, 'PUT', '/api/v1/workspaces/acme/alert-webhook', ws.bearer, { url });
      expect(refused.status).toBe(422);
    }
    const read = await callApi(world.app.url, 'GET', '/api/v1/workspaces/acme/alert-webhook', ws.bearer);
    expect(read.json).toMatchObject({ url: receiver.url });
    expect(JSON.stringify(read.json)).not.toContain(secret);
    const rotated = await callApi(
      world.app.url,
      'POST',
      '/api/v1/workspaces/acme/alert-webhook/rotate-secret',
      ws.bearer,
    );
    expect(rotated.status).toBe(200);
    expect(String(rotated.json.secret)).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(rotated.json.secret).not.toBe(secret);
    const kinds = (
      await world.app.store.audit.query(await workspaceIdOf(world), {
        kinds: ['alert_webhook.set', 'alert_webhook.secret_rotated'],
      })
    ).map((e) => e.kind);
    expect(kinds.sort()).toEqual(['alert_webhook.secret_rotated', 'alert_webhook.set']);
    const audits = JSON.stringify(
      await world.app.store.audit.query(await workspaceIdOf(world), {
        kinds: ['alert_webhook.set', 'alert_webhook.secret_rotated'],
      }),
    );
    expect(audits).not.toContain(String(rotated.json.secret));
    const banner = await callApi(world.app.url, 'GET', '/api/v1/workspaces/acme/alerts', ws.bearer);
    expect(banner.status).toBe(200);
    expect((banner.json.incidents as { action: string }[]).some((i) => i.action === 'forge_status')).toBe(true);
    expect((banner.json.alerts as { kind: string }[]).some((a) => a.kind === 'restore_failing')).toBe(true);
  }, 30_000);
});

describe('e2e: a restore waiting for its retry survives a restart', () => {
  test('the delayed restore job is in the database; a new process on it restores the status', async () => {
    const world = await startWorld({ env: { ...ENV, CLAWGATE_RESTORE_RETRY_BASE_MS: '1500' } });
    let second: Awaited<ReturnType<typeof startTestClawgate>> | undefined;
    try {
      const ws = await prepareWorkspace(world.sandbox, world.app.url);
      world.sandbox.createUser({ nickname: 'mallory', displayName: 'Mallory' });
      const pr = openAgentPullRequest(world.sandbox, ws, 'agent/restart', { '.github/workflows/r.yml': 'on: push\n' });
      expect((await finalStatus(world.sandbox, pr.head)).state).toBe('FAILED');
      await settle(world);
      world.sandbox.faults.inject({ path: `/commit/${pr.head}/statuses/build`, method: 'POST', status: 503, count: 4 });
      world.sandbox.postStatus(
        'acme/proj-web',
        pr.head,
        { key: 'clawgate', state: 'SUCCESSFUL', description: 'forged before a restart' },
        'mallory',
      );
      const wsId = await workspaceIdOf(world);
      // The first restore failed and was queued again, delayed: a pending job in the database.
      await waitFor(
        async () =>
          (await world.app.store.jobs.list()).some(
            (j) => j.state === 'pending' && ((j.payload as { restoreFailures?: number }).restoreFailures ?? 0) >= 1,
          )
            ? true
            : undefined,
        20_000,
        'the delayed restore job',
      );
      await world.app.close();
      expect(clawgateStatusOn(world, pr.head)?.state).toBe('SUCCESSFUL');
      second = await startTestClawgate(world.sandbox, {
        databaseUrl: `sqlite:${path.join(world.dir, 'db.sqlite')}`,
        env: { CLAWGATE_ADMIN_TOKEN: ADMIN_TOKEN, ...ENV },
        pollIntervalMs: 25,
      });
      await waitFor(
        () => (clawgateStatusOn(world, pr.head)?.state === 'FAILED' ? true : undefined),
        20_000,
        'the restore after the restart',
      );
      // It was the re-queued restore (not a re-evaluation) that wrote it.
      const restarted = second;
      const audit = await waitFor(
        async () =>
          (await restarted.store.audit.query(wsId, { kinds: ['forged_status'] })).find(
            (e) => e.subject === `acme/proj-web@${pr.head}`,
          ),
        10_000,
        'the restore audit',
      );
      expect((audit.after as { failed_attempts?: number }).failed_attempts).toBeGreaterThanOrEqual(1);
    } finally {
      await second?.close();
      await world.close();
    }
  }, 60_000);
});
