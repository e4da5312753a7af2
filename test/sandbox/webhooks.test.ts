import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { decodeSymmetric, SymmetricAlgorithm } from 'atlassian-jwt';
import { TokenClient } from './support/api-client';
import { startAppReceiver, type AppReceiver } from './support/app-receiver';
import { readFixture } from './support/openapi-validator';
import { startWorld, type World } from './support/world';

/** Descriptor webhooks (JWT, `{event, data}`) and repository hooks (bare, HMAC), with retries. */

type Obj = Record<string, unknown>;
let world: World;

beforeEach(async () => {
  world = await startWorld({ receiver: { pathPrefix: '/app', scopes: null } });
});
afterEach(() => world.close());

const events = (app: AppReceiver, path = '/webhook'): string[] =>
  app.at(path).map((r) => String(r.headers['x-event-key']));

describe('Connect descriptor webhooks', () => {
  it('sends {event, data} with the real headers and a JWT (iss = aud = clientKey, qsh of POST&<path>&)', async () => {
    const { sandbox, app, ann, repo } = world;
    sandbox.commit(repo, { branch: 'feature/x', author: ann, message: 'work', files: { 'x.ts': 'x\n' } });
    await sandbox.waitForDeliveries();
    const [req] = app.at('/webhook');
    expect(req).toBeDefined();
    const h = req?.headers ?? {};
    expect(h['x-event-key']).toBe('repo:push');
    expect(h['x-request-uuid']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(h['x-hook-uuid']).toBe(sandbox.getInstallation({ clientKey: world.clientKey })?.webhooks[0]?.hookUuid);
    expect(h['x-attempt-number']).toBe('1');
    expect(h['user-agent']).toBe('Bitbucket-Webhooks/2.0');
    expect(h['content-type']).toBe('application/json');
    expect(new Date(String(h['x-event-time'])).toUTCString()).toBe(h['x-event-time']);
    const secret = sandbox.getInstallation({ clientKey: world.clientKey })?.sharedSecret ?? '';
    const claims = decodeSymmetric(
      String(h.authorization).replace(/^JWT /, ''),
      secret,
      SymmetricAlgorithm.HS256,
    ) as Obj;
    expect(claims.iss).toBe(world.clientKey);
    expect(claims.aud).toEqual([world.clientKey]);
    expect(claims).not.toHaveProperty('sub');
    expect(claims.qsh).toBe(createHash('sha256').update('POST&/webhook&').digest('hex'));
    const body = req?.json as { event: string; data: Obj };
    expect(body.event).toBe('repo:push');
    expect(Object.keys(body.data).sort()).toEqual(['actor', 'push', 'repository']);
  });

  it('carries 12-char hashes in pull requests and full hashes in pushes, shaped like the captures', async () => {
    const { sandbox, app, ann, repo } = world;
    const c = sandbox.commit(repo, { branch: 'feature/x', author: ann, message: 'work', files: { 'x.ts': 'x\n' } });
    sandbox.openPullRequest(repo, { source: 'feature/x', author: ann, title: 'X' });
    await sandbox.waitForDeliveries();
    const [push, created] = app.at('/webhook').map((r) => (r.json as { data: Obj }).data);
    const change = (push?.push as { changes: Obj[] }).changes[0] as Obj;
    expect(((change.new as Obj).target as Obj).hash).toBe(c.hash);
    // A new branch lists its head and its ancestors (up to 5), as the captured branch-creating push
    // lists the new commit and its parent that was already on master.
    expect((change.commits as Obj[]).map((x) => x.hash)).toEqual([c.hash, ...c.parents]);
    expect(change).toEqual(
      expect.objectContaining({ created: true, closed: false, forced: false, truncated: false, old: null }),
    );
    const capturedChange = (readFixture('jenkins-bbs/repo_push_signed_payload.json') as { push: { changes: Obj[] } })
      .push.changes[0] as Obj;
    expect(Object.keys(change).sort()).toEqual(Object.keys(capturedChange).sort());
    const pr = created?.pullrequest as Obj;
    expect(((pr.source as Obj).commit as Obj).hash).toBe(c.hash.slice(0, 12));
    const capturedPr = (readFixture('jenkins-bbs/pullrequest_created.json') as { pullrequest: Obj }).pullrequest;
    expect(Object.keys(pr)).toEqual(expect.arrayContaining(Object.keys(capturedPr)));
    const capturedRepo = (readFixture('jenkins-bbs/pullrequest_created.json') as { repository: Obj }).repository;
    expect(Object.keys(created?.repository as Obj).sort()).toEqual(Object.keys(capturedRepo).sort());
  });

  it('announces the whole PR story in order', async () => {
    const { sandbox, app, ann, bob, repo, client } = world;
    sandbox.commit(repo, { branch: 'feature/x', author: ann, message: 'one', files: { 'x.ts': 'x\n' } });
    const pr = sandbox.openPullRequest(repo, { source: 'feature/x', author: ann, title: 'X', closeSourceBranch: true });
    const second = sandbox.commit(repo, { branch: 'feature/x', author: ann, message: 'two', files: { 'y.ts': 'y\n' } });
    sandbox.approve(repo, pr.id, bob);
    sandbox.unapprove(repo, pr.id, bob);
    sandbox.approve(repo, pr.id, bob);
    sandbox.comment(repo, pr.id, { author: bob, content: 'looks fine' });
    const status = { key: 'clawgate', state: 'INPROGRESS' };
    expect(
      (await client.request('POST', `/2.0/repositories/${repo}/commit/${second.hash}/statuses/build`, status)).status,
    ).toBe(201);
    expect(
      (
        await client.request('POST', `/2.0/repositories/${repo}/commit/${second.hash}/statuses/build`, {
          ...status,
          state: 'SUCCESSFUL',
        })
      ).status,
    ).toBe(201);
    const merged = sandbox.merge(repo, pr.id, { actor: bob });
    sandbox.commit(repo, { branch: 'feature/y', author: ann, message: 'y', files: { 'z.ts': 'z\n' } });
    const other = sandbox.openPullRequest(repo, { source: 'feature/y', author: ann, title: 'Y' });
    sandbox.decline(repo, other.id, { actor: bob });
    await sandbox.waitForDeliveries();
    expect(events(app)).toEqual([
      'repo:push',
      'pullrequest:created',
      'repo:push',
      'pullrequest:updated',
      'pullrequest:approved',
      'pullrequest:unapproved',
      'pullrequest:approved',
      'pullrequest:comment_created',
      'repo:commit_status_created',
      'repo:commit_status_updated',
      'pullrequest:fulfilled',
      'repo:push',
      'repo:push',
      'repo:push',
      'pullrequest:created',
      'pullrequest:rejected',
    ]);
    const bodies = app.at('/webhook').map((r) => (r.json as { data: Obj }).data);
    const fulfilled = bodies[10]?.pullrequest as Obj;
    expect(fulfilled.state).toBe('MERGED');
    expect((fulfilled.merge_commit as Obj).hash).toBe(merged.hash.slice(0, 12));
    const mergePush = (bodies[11]?.push as { changes: Obj[] }).changes[0] as Obj;
    expect(((mergePush.new as Obj).target as Obj).hash).toBe(merged.hash);
    expect(mergePush.commits).toEqual([]);
    const sourceClosed = (bodies[12]?.push as { changes: Obj[] }).changes[0] as Obj;
    expect(sourceClosed).toEqual(expect.objectContaining({ new: null, closed: true }));
    expect((bodies[4]?.approval as Obj).user).toEqual(expect.objectContaining({ nickname: 'bob' }));
    expect(bodies[8]?.commit_status).toEqual(
      expect.objectContaining({ key: 'clawgate', state: 'INPROGRESS', type: 'build' }),
    );
    expect(bodies[8]?.actor).toEqual(expect.objectContaining({ type: 'app_user', kind: 'connect' }));
    expect((bodies[15]?.pullrequest as Obj).state).toBe('DECLINED');
  });

  it('only delivers subscribed events', async () => {
    await world.sandbox.uninstallApp({ clientKey: world.clientKey });
    const narrow = await startAppReceiver({ key: 'narrow', webhooks: [{ event: 'pullrequest:created', url: '/pr' }] });
    try {
      await world.sandbox.installApp({ descriptorUrl: narrow.descriptorUrl, workspace: 'acme' });
      world.sandbox.commit(world.repo, { branch: 'f', author: world.ann, message: 'm', files: { f: 'f' } });
      world.sandbox.openPullRequest(world.repo, { source: 'f', author: world.ann, title: 't' });
      await world.sandbox.waitForDeliveries();
      expect(events(narrow, '/pr')).toEqual(['pullrequest:created']);
    } finally {
      await narrow.close();
    }
  });

  it('retries 5xx up to 2 more times with the same X-Request-UUID and increasing X-Attempt-Number', async () => {
    const { sandbox, app, ann, repo } = world;
    app.respondWith('/webhook', 500, 503);
    sandbox.commit(repo, { branch: 'f', author: ann, message: 'm', files: { f: 'f' } });
    await sandbox.waitForDeliveries();
    const tries = app.at('/webhook');
    expect(tries.map((r) => r.headers['x-attempt-number'])).toEqual(['1', '2', '3']);
    expect(new Set(tries.map((r) => r.headers['x-request-uuid'])).size).toBe(1);
    expect(tries[0]?.raw.equals(tries[2]?.raw ?? Buffer.alloc(0))).toBe(true);
    const record = sandbox.deliveries.at(-1);
    expect(record).toEqual(expect.objectContaining({ outcome: 'delivered', finalStatus: 204 }));
    expect(record?.attempts.map((a) => a.status)).toEqual([500, 503, 204]);
  });

  it('gives up after 3 attempts, and never retries a 4xx', async () => {
    const { sandbox, app, ann, repo } = world;
    app.respondWith('/webhook', 502, 500, 500, 400);
    sandbox.commit(repo, { branch: 'f', author: ann, message: 'm', files: { f: 'f' } });
    sandbox.commit(repo, { branch: 'f', author: ann, message: 'm2', files: { g: 'g' } });
    await sandbox.waitForDeliveries();
    const [first, second] = sandbox.deliveries;
    expect(first?.attempts.map((a) => a.status)).toEqual([502, 500, 500]);
    expect(first?.outcome).toBe('failed');
    expect(second?.attempts.map((a) => a.status)).toEqual([400]);
    expect(second?.outcome).toBe('failed');
    expect(app.at('/webhook')).toHaveLength(4);
  });

  it('does not send payloads over 256 KB', async () => {
    const { sandbox, app, ann, repo } = world;
    sandbox.commit(repo, { branch: 'f', author: ann, message: 'm', files: { f: 'f' } });
    sandbox.openPullRequest(repo, { source: 'f', author: ann, title: 'big', description: 'x'.repeat(300_000) });
    await sandbox.waitForDeliveries();
    expect(events(app)).toEqual(['repo:push']);
    expect(sandbox.deliveries.at(-1)).toEqual(
      expect.objectContaining({ event: 'pullrequest:created', outcome: 'skipped' }),
    );
  });
});

describe('repository hooks', () => {
  it('sends the bare payload with X-Hub-Signature = sha256 HMAC of the exact bytes, and no JWT', async () => {
    const { sandbox, app, ann, repo } = world;
    const { token } = sandbox.createAccessToken({ repository: repo }, ['repository', 'pullrequest', 'webhook']);
    const secret = 'Gkvl$k$wyNpQAF42';
    const created = await new TokenClient(sandbox, token).request('POST', `/2.0/repositories/${repo}/hooks`, {
      url: `${app.baseUrl}/hooks/bitbucket`,
      description: 'clawgate',
      events: ['pullrequest:created', 'repo:push'],
      active: true,
      secret,
    });
    expect(created.status).toBe(201);
    expect(created.json).toEqual(expect.objectContaining({ secret_set: true, subject_type: 'repository' }));
    expect(created.json).not.toHaveProperty('secret');
    sandbox.commit(repo, { branch: 'f', author: ann, message: 'm', files: { f: 'f' } });
    sandbox.openPullRequest(repo, { source: 'f', author: ann, title: 't' });
    await sandbox.waitForDeliveries();
    const hooked = app.at('/hooks/bitbucket');
    expect(hooked.map((r) => r.headers['x-event-key'])).toEqual(['repo:push', 'pullrequest:created']);
    for (const r of hooked) {
      expect(r.headers.authorization).toBeUndefined();
      expect(r.headers['x-hook-uuid']).toBe(String((created.json as Obj).uuid).slice(1, -1));
      const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(r.raw).digest('hex')}`);
      const got = Buffer.from(String(r.headers['x-hub-signature']));
      expect(got.length === expected.length && timingSafeEqual(got, expected)).toBe(true);
    }
    const prBody = hooked[1]?.json as Obj;
    expect(Object.keys(prBody).sort()).toEqual(['actor', 'pullrequest', 'repository']);
  });

  it('the HMAC recipe matches the captured Bitbucket test vector', () => {
    const raw = readFixture('jenkins-bbs/repo_push_signed_payload.json');
    expect(raw).toBeDefined();
    // Recompute over the file bytes, as the sandbox signs its own bytes.
    const { readFileSync } = jest.requireActual<typeof import('node:fs')>('node:fs');
    const { FIXTURES } =
      jest.requireActual<typeof import('./support/openapi-validator')>('./support/openapi-validator');
    const bytes = readFileSync(`${FIXTURES}/jenkins-bbs/repo_push_signed_payload.json`);
    expect(createHmac('sha256', 'Gkvl$k$wyNpQAF42').update(bytes).digest('hex')).toBe(
      'f205c729821c6954aff2afe72b965c34015b4baf96ea8ddc2cc44999c014a035',
    );
  });

  it('omits the signature without a secret, and logs network errors without retrying', async () => {
    const { sandbox, app, ann, repo } = world;
    sandbox.addRepositoryHook(repo, { url: `${app.baseUrl}/plain`, events: ['repo:push'] });
    sandbox.addRepositoryHook(repo, { url: 'http://127.0.0.1:1/unreachable', events: ['repo:push'], secret: 's' });
    sandbox.commit(repo, { branch: 'f', author: ann, message: 'm', files: { f: 'f' } });
    await sandbox.waitForDeliveries();
    expect(app.at('/plain')[0]?.headers['x-hub-signature']).toBeUndefined();
    const failed = sandbox.deliveries.find((d) => d.url.includes('unreachable'));
    expect(failed?.outcome).toBe('failed');
    expect(failed?.attempts).toEqual([expect.objectContaining({ attempt: 1, status: null, error: 'NETWORK ERROR' })]);
  });
});
