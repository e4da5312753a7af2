import { createHmac, randomBytes } from 'node:crypto';
import { createQueryStringHash, encodeSymmetric, fromMethodAndUrl } from 'atlassian-jwt';
import type { DeliveryRecord } from '../../src/sandbox';
import { readSharedJson } from '../shared-data';
import { send, startConnectHarness, storeSnapshot, type ConnectHarness } from './support/connect-harness';

/** POST /connect/webhook: deliveries from the sandbox reach the intake; forged ones never do. */

const nowS = (): number => Math.floor(Date.now() / 1000);
const WEBHOOK_QSH = createQueryStringHash(fromMethodAndUrl('POST', '/connect/webhook'), false);

function webhookToken(clientKey: string, secret: string, overrides: Record<string, unknown> = {}): string {
  return encodeSymmetric(
    { iss: clientKey, aud: clientKey, iat: nowS(), exp: nowS() + 3600, qsh: WEBHOOK_QSH, ...overrides },
    secret,
  );
}

function handMade(header: Record<string, unknown>, claims: Record<string, unknown>, secret: string | null): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${secret === null ? '' : createHmac('sha256', secret).update(input).digest('base64url')}`;
}

let h: ConnectHarness;
let clientKey: string;
let secret: string;
/** A genuine delivery (pullrequest:created) to replay with altered parts. */
let genuine: DeliveryRecord;
const GLOBEX_UNINSTALLED = 'ari:cloud:bitbucket::app/{33333333-3333-4333-8333-333333333333}/clawgate-test';
const GLOBEX_SECRET = randomBytes(24).toString('base64url');

function deliveryHeaders(record: DeliveryRecord, attempt = 1): Record<string, string> {
  const { Authorization: _auth, ...rest } = record.headers;
  return { ...rest, 'X-Attempt-Number': String(attempt) };
}

async function postWebhook(
  body: string,
  headers: Record<string, string>,
  authorization?: string,
  path = '/connect/webhook',
) {
  return send(`${h.baseUrl}${path}`, {
    method: 'POST',
    headers: authorization === undefined ? headers : { ...headers, Authorization: authorization },
    body,
  });
}

beforeAll(async () => {
  h = await startConnectHarness();
  const inst = await h.sandbox.installApp({ descriptorUrl: h.descriptorUrl, workspace: 'acme', actor: h.ann });
  clientKey = inst.clientKey;
  secret = inst.sharedSecret;
  await h.store.tenants.upsertInstall({
    workspaceId: '{33333333-3333-4333-8333-333333333333}',
    surface: 'connect',
    clientKey: GLOBEX_UNINSTALLED,
    sharedSecret: GLOBEX_SECRET,
    verified: true,
    actor: 'test',
  });
  await h.store.tenants.markUninstalled(GLOBEX_UNINSTALLED, 'test');
});
afterAll(() => h.close());

describe('deliveries from the sandbox', () => {
  it('a new pull request reaches the intake with tenant, event key, delivery id, attempt and the event data', async () => {
    h.sandbox.commit('acme/widgets', {
      branch: 'feature/agent',
      author: h.ann,
      message: 'agent work',
      files: { 'src/b.ts': 'export const b = 2;\n' },
    });
    const pr = h.sandbox.openPullRequest('acme/widgets', { source: 'feature/agent', author: h.ann, title: 'Agent PR' });
    await h.sandbox.waitForDeliveries();
    const records = h.sandbox.deliveries.filter((d) => d.kind === 'connect');
    expect(records.map((d) => [d.event, d.outcome, d.finalStatus])).toEqual([
      ['repo:push', 'delivered', 204],
      ['pullrequest:created', 'delivered', 204],
    ]);
    genuine = records[1] as DeliveryRecord;
    expect(h.intake.calls).toHaveLength(2);
    const call = h.intake.calls[1];
    expect(call).toMatchObject({
      surface: 'connect',
      eventKey: 'pullrequest:created',
      deliveryId: genuine.requestUuid,
      attempt: 1,
      tenant: { clientKey, workspaceId: h.acme.uuid },
    });
    expect(call?.payload).toEqual((JSON.parse(genuine.body) as { data: unknown }).data);
    expect(call?.payload).toMatchObject({
      pullrequest: { id: pr.id, title: 'Agent PR' },
      repository: { full_name: 'acme/widgets' },
    });
  });

  it('approvals, comments, merges and statuses arrive as their events', async () => {
    const before = h.intake.calls.length;
    h.sandbox.approve('acme/widgets', 1, h.bob);
    h.sandbox.unapprove('acme/widgets', 1, h.bob);
    h.sandbox.comment('acme/widgets', 1, { author: h.bob, content: 'why?' });
    const head = h.sandbox.branchHead('acme/widgets', 'feature/agent') ?? '';
    h.sandbox.postStatus('acme/widgets', head, { key: 'ci', state: 'SUCCESSFUL' }, h.bob);
    h.sandbox.merge('acme/widgets', 1, { actor: h.bob });
    await h.sandbox.waitForDeliveries();
    const events = h.intake.calls.slice(before).map((c) => c.eventKey);
    expect(events).toEqual(
      expect.arrayContaining([
        'pullrequest:approved',
        'pullrequest:unapproved',
        'pullrequest:comment_created',
        'repo:commit_status_created',
        'pullrequest:fulfilled',
        'repo:push',
      ]),
    );
    expect(h.sandbox.deliveries.filter((d) => d.kind === 'connect').every((d) => d.outcome === 'delivered')).toBe(true);
  });

  it('an intake failure answers 503, so the sandbox retries (same delivery id, attempts 1..3)', async () => {
    h.intake.failWith = new Error('queue down');
    const before = h.intake.calls.length;
    try {
      h.sandbox.commit('acme/widgets', {
        branch: 'feature/retry',
        author: h.ann,
        message: 'more',
        files: { 'c.txt': 'c\n' },
      });
      await h.sandbox.waitForDeliveries();
    } finally {
      h.intake.failWith = null;
    }
    const record = h.sandbox.deliveries.at(-1) as DeliveryRecord;
    expect(record.attempts.map((a) => a.status)).toEqual([503, 503, 503]);
    const calls = h.intake.calls.slice(before);
    expect(calls.map((c) => [c.deliveryId, c.attempt])).toEqual([1, 2, 3].map((n) => [record.requestUuid, n]));
  });
});

describe('forged or unauthenticated deliveries are answered 401; the intake and the store are untouched', () => {
  const cases: [string, () => string | undefined][] = [
    ['no Authorization', () => undefined],
    ['Bearer instead of JWT', () => `Bearer ${webhookToken(clientKey, secret)}`],
    ['wrong secret', () => `JWT ${webhookToken(clientKey, 'not-the-secret')}`],
    [
      'alg none',
      () =>
        `JWT ${handMade({ alg: 'none', typ: 'JWT' }, { iss: clientKey, iat: nowS(), exp: nowS() + 60, qsh: WEBHOOK_QSH }, null)}`,
    ],
    ['missing exp', () => `JWT ${webhookToken(clientKey, secret, { exp: undefined })}`],
    ['expired exp', () => `JWT ${webhookToken(clientKey, secret, { iat: nowS() - 7200, exp: nowS() - 3600 })}`],
    [
      'qsh of another request',
      () =>
        `JWT ${webhookToken(clientKey, secret, { qsh: createQueryStringHash(fromMethodAndUrl('POST', '/connect/installed'), false) })}`,
    ],
    ['context-qsh (a page token)', () => `JWT ${webhookToken(clientKey, secret, { qsh: 'context-qsh' })}`],
    [
      'unknown tenant (iss)',
      () =>
        `JWT ${webhookToken('ari:cloud:bitbucket::app/{44444444-4444-4444-8444-444444444444}/clawgate-test', secret)}`,
    ],
    ['uninstalled tenant', () => `JWT ${webhookToken(GLOBEX_UNINSTALLED, GLOBEX_SECRET)}`],
  ];

  it.each(cases)('%s', async (_name, authorization) => {
    const calls = h.intake.calls.length;
    const before = await storeSnapshot(h.store, [h.acme.uuid, '{33333333-3333-4333-8333-333333333333}']);
    const res = await postWebhook(genuine.body, deliveryHeaders(genuine), authorization());
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.any(String) } });
    expect(res.headers.get('www-authenticate')).toMatch(/^JWT /);
    expect(h.intake.calls).toHaveLength(calls);
    expect(await storeSnapshot(h.store, [h.acme.uuid, '{33333333-3333-4333-8333-333333333333}'])).toBe(before);
  });

  it('the genuine token replayed on another path or with a query string is refused', async () => {
    const calls = h.intake.calls.length;
    const token = webhookToken(clientKey, secret);
    expect(
      (await postWebhook(genuine.body, deliveryHeaders(genuine), `JWT ${token}`, '/connect/webhook?x=1')).status,
    ).toBe(401);
    expect(h.intake.calls).toHaveLength(calls);
  });

  it('authentication comes before the body: an unauthenticated 1 MB body gets 401, not 413', async () => {
    const res = await postWebhook(JSON.stringify({ event: 'repo:push', data: { pad: 'x'.repeat(1024 * 1024) } }), {
      'Content-Type': 'application/json',
    });
    expect(res.status).toBe(401);
  });

  it('a page token in ?jwt= does not authenticate a webhook either', async () => {
    const calls = h.intake.calls.length;
    const res = await postWebhook(
      genuine.body,
      deliveryHeaders(genuine),
      undefined,
      `/connect/webhook?jwt=${webhookToken(clientKey, secret, { qsh: 'context-qsh' })}`,
    );
    expect(res.status).toBe(401);
    expect(h.intake.calls).toHaveLength(calls);
  });
});

describe('authenticated deliveries with bad parts are refused before the intake', () => {
  const auth = (): string => `JWT ${webhookToken(clientKey, secret)}`;

  it.each([
    ['X-Request-UUID', 400],
    ['X-Event-Key', 400],
    ['X-Attempt-Number', 400],
    ['X-Hook-UUID', 400],
  ])('missing %s → %d', async (header, status) => {
    const calls = h.intake.calls.length;
    const headers = deliveryHeaders(genuine);
    delete headers[header];
    const res = await postWebhook(genuine.body, headers, auth());
    expect(res.status).toBe(status);
    expect((res.json as { error: { code: string; fields: { path: string; message: string }[] } }).error).toMatchObject({
      code: 'INVALID_WEBHOOK_HEADERS',
      fields: [{ path: `headers.${header.toLowerCase()}`, message: expect.any(String) }],
    });
    expect(h.intake.calls).toHaveLength(calls);
  });

  it('a body event other than X-Event-Key → 400', async () => {
    const body = JSON.stringify({ ...(JSON.parse(genuine.body) as object), event: 'pullrequest:fulfilled' });
    const res = await postWebhook(body, deliveryHeaders(genuine), auth());
    expect(res.status).toBe(400);
  });

  it('a bare (non-Connect) payload → 400', async () => {
    const res = await postWebhook(
      JSON.stringify((JSON.parse(genuine.body) as { data: unknown }).data),
      deliveryHeaders(genuine),
      auth(),
    );
    expect(res.status).toBe(400);
    expect((res.json as { error: { code: string } }).error.code).toBe('INVALID_WEBHOOK_PAYLOAD');
  });

  it('malformed JSON → 400', async () => {
    const res = await postWebhook('{"event":', deliveryHeaders(genuine), auth());
    expect(res.status).toBe(400);
  });

  it('a repository of another workspace → 403', async () => {
    const envelope = JSON.parse(genuine.body) as {
      event: string;
      data: { repository: { workspace: { uuid: string }; owner: { uuid: string } } };
    };
    envelope.data.repository.workspace.uuid = '{55555555-5555-4555-8555-555555555555}';
    envelope.data.repository.owner.uuid = '{55555555-5555-4555-8555-555555555555}';
    const calls = h.intake.calls.length;
    const res = await postWebhook(JSON.stringify(envelope), deliveryHeaders(genuine), auth());
    expect(res.status).toBe(403);
    expect(h.intake.calls).toHaveLength(calls);
  });

  it('a body over 320 KB → 413; one of 250 KB (under Bitbucket’s 256 KB cap) is accepted', async () => {
    const envelope = JSON.parse(genuine.body) as { event: string; data: Record<string, unknown> };
    const big = JSON.stringify({ ...envelope, data: { ...envelope.data, padding: 'x'.repeat(330 * 1024) } });
    const calls = h.intake.calls.length;
    const res = await postWebhook(big, deliveryHeaders(genuine), auth());
    expect(res.status).toBe(413);
    expect((res.json as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(h.intake.calls).toHaveLength(calls);
    const fits = JSON.stringify({ ...envelope, data: { ...envelope.data, padding: 'x'.repeat(250 * 1024) } });
    expect((await postWebhook(fits, deliveryHeaders(genuine), auth())).status).toBe(204);
    expect(h.intake.calls).toHaveLength(calls + 1);
  });

  it('an event the descriptor does not subscribe to is acknowledged but not passed on', async () => {
    const envelope = { ...(JSON.parse(genuine.body) as object), event: 'repo:fork' };
    const calls = h.intake.calls.length;
    const res = await postWebhook(
      JSON.stringify(envelope),
      { ...deliveryHeaders(genuine), 'X-Event-Key': 'repo:fork' },
      auth(),
    );
    expect(res.status).toBe(204);
    expect(h.intake.calls).toHaveLength(calls);
  });
});

describe('captured Connect webhooks (toolchain-oss) replayed with a token for this route', () => {
  const capturedWs = '{acf54878-51be-473e-bf0b-0fbb12e011ad}';
  const capturedKey = 'ari:cloud:bitbucket::app/{acf54878-51be-473e-bf0b-0fbb12e011ad}/toolchain-dev';
  const capturedSecret = randomBytes(24).toString('base64url');

  beforeAll(async () => {
    await h.store.tenants.upsertInstall({
      workspaceId: capturedWs,
      surface: 'connect',
      clientKey: capturedKey,
      sharedSecret: capturedSecret,
      verified: true,
      actor: 'test',
    });
  });

  it.each(['pullrequest_created', 'pullrequest_updated', 'repo_push_pr_merge', 'repo_commit_status_created'])(
    '%s reaches the intake unchanged',
    async (name) => {
      const capture = readSharedJson('bitbucket-fixtures', 'toolchain-oss', `${name}.json`) as {
        headers: Record<string, string>;
        payload: { event: string; data: unknown };
      };
      const pick = (key: string): string => capture.headers[key] ?? '';
      const headers = {
        'Content-Type': 'application/json',
        'X-Event-Key': pick('X-Event-Key'),
        'X-Request-UUID': pick('X-Request-Uuid'),
        'X-Attempt-Number': pick('X-Attempt-Number'),
        'X-Hook-UUID': pick('X-Hook-Uuid'),
      };
      const calls = h.intake.calls.length;
      const res = await postWebhook(
        JSON.stringify(capture.payload),
        headers,
        `JWT ${webhookToken(capturedKey, capturedSecret)}`,
      );
      expect(res.status).toBe(204);
      expect(h.intake.calls.slice(calls)).toEqual([
        expect.objectContaining({
          surface: 'connect',
          eventKey: capture.payload.event,
          deliveryId: pick('X-Request-Uuid'),
          attempt: 1,
          payload: capture.payload.data,
          tenant: expect.objectContaining({ clientKey: capturedKey }),
        }),
      ]);
    },
  );
});
