import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import express from 'express';
import pino from 'pino';
import { createPipelineIntake } from '../../src/pipeline/pipeline-intake';
import type { WebhookIntake } from '../../src/pipeline/webhook-intake';
import { TableJobQueue } from '../../src/queue';
import { openStore, type Store } from '../../src/store';
import {
  createRepoWebhookRouter,
  hubSignature,
  REPO_WEBHOOK_BODY_LIMIT_BYTES,
  repoWebhooksClientKey,
} from '../../src/webhooks';
import { sharedPath } from '../shared-data';

/**
 * POST /hooks/bitbucket against a real store and the real pipeline intake (queue not started, so
 * enqueued jobs stay visible). The real Bitbucket vector drives the happy path.
 */

const fixture = (name: string) => readFileSync(sharedPath('bitbucket-fixtures', 'jenkins-bbs', name));
const PUSH_BODY = fixture('repo_push_signed_payload.json');
const PR_UPDATED_BODY = fixture('pullrequest_updated.json');
const REAL_SECRET = 'Gkvl$k$wyNpQAF42';
const REAL_SIGNATURE = 'sha256=f205c729821c6954aff2afe72b965c34015b4baf96ea8ddc2cc44999c014a035';
/** repository.workspace.uuid of both nfalco79 fixtures. */
const WORKSPACE = '{7d3a178a-a087-4756-b2da-2f9eadf50ba8}';
const CLIENT_KEY = repoWebhooksClientKey(WORKSPACE);

let store: Store;
let server: Server;
let url: string;
let intakeOverride: WebhookIntake | null = null;
let deliveryCounter = 0;

function deliveryId(): string {
  deliveryCounter += 1;
  return `{00000000-0000-4000-8000-${String(deliveryCounter).padStart(12, '0')}}`;
}

function headers(
  event: string,
  id: string,
  signature: string | undefined,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-event-key': event,
    'x-request-uuid': id,
    'x-attempt-number': '1',
    'x-hook-uuid': '{11111111-2222-4333-8444-555555555555}',
    ...(signature === undefined ? {} : { 'x-hub-signature': signature }),
    ...extra,
  };
}

async function post(
  body: Uint8Array | string,
  requestHeaders: Record<string, string>,
): Promise<{ status: number; json: { error?: { code: string; fields?: unknown } } }> {
  const response = await fetch(`${url}/hooks/bitbucket`, { method: 'POST', headers: requestHeaders, body });
  const text = await response.text();
  return { status: response.status, json: text === '' ? {} : (JSON.parse(text) as { error?: { code: string } }) };
}

/** True when the intake recorded this delivery id (recording it again reports it as seen). */
async function wasRecorded(id: string): Promise<boolean> {
  const { isNew } = await store.deliveries.recordDelivery(WORKSPACE, id, 'probe');
  return !isNew;
}

beforeAll(async () => {
  store = await openStore('sqlite::memory:', { secretKey: Buffer.alloc(32, 3) });
  const logger = pino({ level: 'silent' });
  const queue = new TableJobQueue(store.jobs, { workerId: 'test' });
  const real = createPipelineIntake({ store, queue, logger });
  const intake: WebhookIntake = { receive: (delivery) => (intakeOverride ?? real).receive(delivery) };
  await store.tenants.upsertInstall({
    workspaceId: WORKSPACE,
    workspaceSlug: 'nfalco79',
    surface: 'repo_webhooks',
    clientKey: CLIENT_KEY,
    sharedSecret: REAL_SECRET,
    accessToken: 'ATCTT3xTEST',
    baseApiUrl: 'https://api.bitbucket.org',
    actor: 'test',
  });
  const app = express();
  app.use(createRepoWebhookRouter({ store, intake, logger }));
  app.use((_req, res) => void res.status(404).end());
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await store.close();
});

afterEach(() => {
  intakeOverride = null;
});

describe('POST /hooks/bitbucket', () => {
  test('the real signed Bitbucket delivery is accepted (204) and reaches the intake', async () => {
    const id = deliveryId();
    const response = await post(PUSH_BODY, headers('repo:push', id, REAL_SIGNATURE));
    expect(response.status).toBe(204);
    expect(await wasRecorded(id)).toBe(true);
  });

  test('a signed pull request event enqueues an evaluation job; a redelivery does not enqueue twice', async () => {
    const id = deliveryId();
    const signature = hubSignature(PR_UPDATED_BODY, REAL_SECRET);
    const before = (await store.jobs.list()).length;
    expect((await post(PR_UPDATED_BODY, headers('pullrequest:updated', id, signature))).status).toBe(204);
    expect(
      (await post(PR_UPDATED_BODY, { ...headers('pullrequest:updated', id, signature), 'x-attempt-number': '2' }))
        .status,
    ).toBe(204);
    const jobs = await store.jobs.list();
    expect(jobs.length).toBe(before + 1);
    expect(JSON.stringify(jobs[jobs.length - 1]?.payload)).toContain('nfalco79/test-repos');
  });

  test('a missing signature is 401 and nothing is recorded', async () => {
    const id = deliveryId();
    const response = await post(PUSH_BODY, headers('repo:push', id, undefined));
    expect(response.status).toBe(401);
    expect(response.json.error?.code).toBe('INVALID_SIGNATURE');
    expect(await wasRecorded(id)).toBe(false);
  });

  test('a wrong signature (other secret, tampered body, re-serialised body) is 401 and nothing is recorded', async () => {
    const jobsBefore = (await store.jobs.list()).length;
    const forged = [
      { body: PUSH_BODY, signature: hubSignature(PUSH_BODY, 'not-the-secret') },
      {
        body: Buffer.from(PUSH_BODY.toString('utf8').replace('feature/webhook', 'feature/webhooK')),
        signature: REAL_SIGNATURE,
      },
      { body: Buffer.from(JSON.stringify(JSON.parse(PUSH_BODY.toString('utf8')), null, 2)), signature: REAL_SIGNATURE },
      { body: PR_UPDATED_BODY, signature: REAL_SIGNATURE },
    ];
    for (const attempt of forged) {
      const id = deliveryId();
      const response = await post(attempt.body, headers('repo:push', id, attempt.signature));
      expect(response.status).toBe(401);
      expect(await wasRecorded(id)).toBe(false);
    }
    expect((await store.jobs.list()).length).toBe(jobsBefore);
  });

  test('an unregistered workspace gets the same 401 as a wrong signature', async () => {
    const other = PUSH_BODY.toString('utf8').split(WORKSPACE).join('{99999999-9999-4999-8999-999999999999}');
    const response = await post(
      other,
      headers('repo:push', deliveryId(), hubSignature(Buffer.from(other), REAL_SECRET)),
    );
    expect(response.status).toBe(401);
    expect(response.json.error?.code).toBe('INVALID_SIGNATURE');
  });

  test('a body that is not JSON or names no workspace is 400; an oversized body 413; a compressed body 415', async () => {
    expect(
      (await post('not json', headers('repo:push', deliveryId(), hubSignature(Buffer.from('not json'), REAL_SECRET))))
        .status,
    ).toBe(400);
    const noWorkspace = JSON.stringify({ repository: { full_name: 'a/b' } });
    const missing = await post(
      noWorkspace,
      headers('repo:push', deliveryId(), hubSignature(Buffer.from(noWorkspace), REAL_SECRET)),
    );
    expect(missing.status).toBe(400);
    expect(missing.json.error?.code).toBe('INVALID_WEBHOOK_PAYLOAD');
    const huge = Buffer.alloc(REPO_WEBHOOK_BODY_LIMIT_BYTES + 1, 0x20);
    expect((await post(huge, headers('repo:push', deliveryId(), hubSignature(huge, REAL_SECRET)))).status).toBe(413);
    const gzipped = gzipSync(PUSH_BODY);
    expect(
      (await post(gzipped, headers('repo:push', deliveryId(), REAL_SIGNATURE, { 'content-encoding': 'gzip' }))).status,
    ).toBe(415);
  });

  test('a valid signature with bad delivery headers, or an event key that does not fit the body, is 400 and not recorded', async () => {
    const noUuid = headers('repo:push', 'x', REAL_SIGNATURE);
    delete noUuid['x-request-uuid'];
    const response = await post(PUSH_BODY, noUuid);
    expect(response.status).toBe(400);
    expect(response.json.error?.code).toBe('INVALID_WEBHOOK_HEADERS');
    const id = deliveryId();
    const mismatch = await post(PUSH_BODY, headers('pullrequest:created', id, REAL_SIGNATURE));
    expect(mismatch.status).toBe(400);
    expect(await wasRecorded(id)).toBe(false);
  });

  test('an uninstalled registration authenticates nothing', async () => {
    const workspace = '{aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee}';
    const clientKey = repoWebhooksClientKey(workspace);
    await store.tenants.upsertInstall({
      workspaceId: workspace,
      surface: 'repo_webhooks',
      clientKey,
      sharedSecret: REAL_SECRET,
      actor: 'test',
    });
    const body = PUSH_BODY.toString('utf8').split(WORKSPACE).join(workspace);
    const signature = hubSignature(Buffer.from(body), REAL_SECRET);
    expect((await post(body, headers('repo:push', deliveryId(), signature))).status).toBe(204);
    await store.tenants.markUninstalled(clientKey, 'test');
    expect((await post(body, headers('repo:push', deliveryId(), signature))).status).toBe(401);
  });

  test('an intake failure is 503 so Bitbucket retries', async () => {
    intakeOverride = { receive: () => Promise.reject(new Error('database down')) };
    const response = await post(PUSH_BODY, headers('repo:push', deliveryId(), REAL_SIGNATURE));
    expect(response.status).toBe(503);
    expect(response.json.error?.code).toBe('INTAKE_UNAVAILABLE');
  });

  test('other paths and methods fall through to the next handler', async () => {
    expect((await fetch(`${url}/hooks/bitbucket`)).status).toBe(404);
    expect((await fetch(`${url}/hooks/other`, { method: 'POST', body: '{}' })).status).toBe(404);
  });
});

describe('POST /hooks/bitbucket/w/{workspace} (per-workspace URL: the HMAC before any parsing)', () => {
  const workspacePath = `/hooks/bitbucket/w/${WORKSPACE.slice(1, -1)}`;

  async function postTo(
    path: string,
    body: Uint8Array | string,
    requestHeaders: Record<string, string>,
  ): Promise<{ status: number; json: { error?: { code: string } } }> {
    const response = await fetch(`${url}${path}`, { method: 'POST', headers: requestHeaders, body });
    const text = await response.text();
    return { status: response.status, json: text === '' ? {} : (JSON.parse(text) as { error?: { code: string } }) };
  }

  test('the real signed Bitbucket delivery is accepted (204) and reaches the intake', async () => {
    const id = deliveryId();
    expect((await postTo(workspacePath, PUSH_BODY, headers('repo:push', id, REAL_SIGNATURE))).status).toBe(204);
    expect(await wasRecorded(id)).toBe(true);
  });

  test('an unsigned body is refused 401 without being parsed (the legacy URL parses first and answers 400)', async () => {
    const garbage = '{"repository": ' + 'x'.repeat(100);
    const forged = hubSignature(Buffer.from(garbage), 'not-the-secret');
    const perWorkspace = await postTo(workspacePath, garbage, headers('repo:push', deliveryId(), forged));
    expect(perWorkspace.status).toBe(401);
    expect(perWorkspace.json.error?.code).toBe('INVALID_SIGNATURE');
    // What the legacy URL does with the same bytes: it must read the tenant from the body first.
    expect((await postTo('/hooks/bitbucket', garbage, headers('repo:push', deliveryId(), forged))).status).toBe(400);
  });

  test('an unknown workspace in the URL is the same 401 as a wrong signature', async () => {
    const response = await postTo(
      '/hooks/bitbucket/w/00000000-0000-4000-8000-000000000000',
      PUSH_BODY,
      headers('repo:push', deliveryId(), REAL_SIGNATURE),
    );
    expect(response.status).toBe(401);
    expect(
      (await postTo('/hooks/bitbucket/w/not-a-uuid', PUSH_BODY, headers('repo:push', deliveryId(), REAL_SIGNATURE)))
        .status,
    ).toBe(401);
  });

  test('a signed body that names another workspace than the URL is refused and not recorded', async () => {
    const payload = JSON.parse(PUSH_BODY.toString('utf8')) as { repository: { workspace: { uuid: string } } };
    payload.repository.workspace.uuid = '{00000000-0000-4000-8000-0000000000aa}';
    const body = JSON.stringify(payload);
    const id = deliveryId();
    const response = await postTo(
      workspacePath,
      body,
      headers('repo:push', id, hubSignature(Buffer.from(body), REAL_SECRET)),
    );
    expect(response.status).toBe(400);
    expect(await wasRecorded(id)).toBe(false);
  });
});
